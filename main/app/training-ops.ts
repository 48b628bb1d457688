// Handlers of 'training:*': the plan proposed from the dataset fingerprint (with its reasons),
// start / cancel / resume as exclusive jobs, and the run history with per-epoch metrics. Every
// epoch is pushed as a 'training:epoch' event and appended to runs/<id>/epochs.jsonl, so the
// charts of a run survive the session. A finished run's candidate is evaluated on the test split
// and put through the promotion gate inside the same job (candidate-evaluation.ts).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { SegloopError } from '../../shared/errors';
import type { EpochPoint, JobStarted, TrainingOptions, TrainingPlanView, TrainingRunView } from '../../shared/training-schema';
import { parseTrainingConfigOverrides, type TrainingConfigOverrides } from '../../shared/training-config';
import { submitTraining } from '../core/jobs/ml-jobs';
import { defaultTrainingConfig, findResumableRun, planFromCases, PSEUDO_LABEL_SOURCES, runDirOf, type TrainInProjectOptions } from '../core/jobs/train-job';
import { getModelDefinition, listModels } from '../core/ml/models';
import type { ProjectStore } from '../core/project';
import type { TrainingRunRow } from '../core/project/types';
import type { TrainCase } from '../core/ml/trainer';
import type { EpochMetrics } from '../core/worker/protocol';
import { evaluateCandidate } from './candidate-evaluation';
import type { Handlers } from './dispatch';
import { toWireJob } from './jobs-wire';
import { queuedBehind, reportResult, type LoopDeps } from './loop-context';

export type TrainingOps = Pick<Handlers, 'training:plan' | 'training:start' | 'training:cancel' | 'training:resume' | 'training:runs'>;

const EPOCHS_FILE = 'epochs.jsonl';
/** Sources that count as pseudo-labels: trained on only when the user switches them on. */
export const PSEUDO_SOURCES = PSEUDO_LABEL_SOURCES;

export function foregroundClasses(store: ProjectStore): string[] {
  return store.labelSchema
    .list()
    .filter((c) => c.idx > 0)
    .sort((a, b) => a.idx - b.idx)
    .map((c) => c.name);
}

function toPoint(m: EpochMetrics): EpochPoint {
  return {
    epoch: m.epoch,
    epochs: m.epochs,
    trainLoss: m.trainLoss,
    valDice: m.valDice,
    valMeanDice: m.valMeanDice,
    lr: m.lr,
    seconds: m.seconds,
    steps: m.steps,
    stepSeconds: m.steps > 0 ? m.seconds / m.steps : null,
  };
}

async function readEpochs(store: ProjectStore, runId: number): Promise<EpochPoint[]> {
  const file = path.join(runDirOf(store, runId), EPOCHS_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const out: EpochPoint[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as EpochPoint);
    } catch {
      // a line cut by a crash: the others still count
    }
  }
  return out;
}

/** The TrainInProject options for what the screen edited (unknown keys never get this far). */
export function trainOptionsFor(o: TrainingOptions): Pick<TrainInProjectOptions, 'architecture' | 'epochs' | 'minutes' | 'config' | 'includePseudo'> {
  // Checked against the shared trainer schema too, so the screen cannot send what the trainer does not know.
  const overrides: TrainingConfigOverrides = {
    architecture: o.architecture,
    model: { depth: o.depth, baseWidth: o.baseWidth },
    sampling: { patchSize: o.patchSize, batchSize: o.batchSize },
    schedule: { lr: o.lr, stepsPerEpoch: o.stepsPerEpoch },
    budget: o.budget.kind === 'epochs' ? { epochs: o.budget.epochs, minutes: null } : { epochs: null, minutes: o.budget.minutes },
    loss: { ceWeight: o.loss.ceWeight, diceWeight: o.loss.diceWeight, batchDice: o.loss.batchDice },
    augmentation: { ...o.augmentation },
  };
  parseTrainingConfigOverrides(overrides);
  const dims = getModelDefinition(o.architecture).resolve({}).dims;
  if (o.patchSize.length !== dims) {
    throw new SegloopError('INVALID_ARGUMENT', `${o.architecture} is a ${dims}D model: its patch has ${dims} sizes, got ${o.patchSize.length} (${o.patchSize.join('×')}).`);
  }
  return {
    architecture: o.architecture,
    epochs: o.budget.kind === 'epochs' ? o.budget.epochs : null,
    minutes: o.budget.kind === 'minutes' ? o.budget.minutes : null,
    includePseudo: o.includePseudo,
    config: {
      patchSize: o.patchSize,
      batchSize: o.batchSize,
      stepsPerEpoch: o.stepsPerEpoch,
      lr: o.lr,
      model: { depth: o.depth, baseWidth: o.baseWidth },
      loss: o.loss,
      augmentation: { ...o.augmentation },
    },
  };
}

async function trainableCases(store: ProjectStore, includePseudo: boolean): Promise<{ cases: TrainCase[]; pseudo: number; bySource: Record<string, number> }> {
  const cases: TrainCase[] = [];
  const bySource: Record<string, number> = {};
  let pseudo = 0;
  for (const lv of store.labelVersions.latestPerImage()) {
    const img = store.images.require(lv.imageId);
    if (img.split === 'test') continue;
    bySource[lv.source] = (bySource[lv.source] ?? 0) + 1;
    if (PSEUDO_SOURCES.has(lv.source)) {
      pseudo++;
      if (!includePseudo) continue;
    }
    cases.push({
      id: `image-${img.id}`,
      patientId: store.patients.require(img.patientId).externalId,
      imagePath: await store.resolve(img.path),
      labelPath: await store.resolve(lv.path),
      labelledClasses: lv.labelledClasses,
      fixedSplit: img.split === 'train' || img.split === 'val' ? img.split : null,
    });
  }
  return { cases, pseudo, bySource };
}

export function trainingOps(deps: LoopDeps): TrainingOps {
  const { store, jobs, author, emit } = deps;
  /** Which job runs which run, in this session. */
  const runOfJob = new Map<string, number>();

  const start = (opts: Omit<TrainInProjectOptions, 'signal' | 'onEvent'>): z.infer<typeof JobStarted> => {
    const classes = foregroundClasses(store);
    let runId: number | null = null;
    let backend: string | null = null;
    let jobId = '';
    let writes = Promise.resolve();
    const handle = submitTraining(
      jobs,
      store,
      {
        ...opts,
        actor: author,
        onRun: (run) => {
          runId = run.id;
          runOfJob.set(jobId, run.id);
        },
      },
      {
        onEvent: (_id, e) => {
          if (e.type === 'backend') backend = e.name;
        },
        onEpoch: (id, m) => {
          const point = toPoint(m);
          if (runId !== null) {
            const file = path.join(runDirOf(store, runId), EPOCHS_FILE);
            writes = writes.then(() => fs.appendFile(file, `${JSON.stringify(point)}\n`)).catch(() => undefined);
          }
          emit({ event: 'training:epoch', payload: { jobId: id, runId: runId === null ? null : String(runId), backend, point, classes } });
        },
      },
      (outcome, ctx) => evaluateCandidate(store, outcome.model!, ctx, author),
    );
    jobId = handle.id;
    reportResult(deps, 'train', handle, (v) => ({
      runId: String(v.outcome.run.id),
      runStatus: v.outcome.run.status,
      modelId: v.outcome.model ? String(v.outcome.model.id) : null,
      modelVersion: v.outcome.model?.version ?? null,
      testMeanDice: v.after?.test?.meanDice ?? null,
      gateAllowed: v.after ? v.after.gate.allowed : null,
      gate: v.after ? v.after.gate.reasons.join(' ') : null,
      promoted: v.after?.promoted ?? false,
    }));
    return { jobId: handle.id, queuedBehind: queuedBehind(jobs, handle.id) };
  };

  const runView = async (r: TrainingRunRow, resumable: number | null, models: Map<number, { id: number; version: number }>): Promise<TrainingRunView> => {
    const cfg = r.config as { trainer?: { architecture?: string }; resumedFromRun?: number | null; includePseudo?: boolean };
    const jobId = [...runOfJob.entries()].find(([, id]) => id === r.id)?.[0] ?? null;
    const model = models.get(r.id) ?? null;
    return {
      id: String(r.id),
      status: r.status,
      backend: r.backend,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      error: r.error,
      architecture: cfg.trainer?.architecture ?? null,
      labelVersions: r.dataSnapshot.labelVersionIds.length,
      resumedFromRunId: cfg.resumedFromRun == null ? null : String(cfg.resumedFromRun),
      includePseudo: r.dataSnapshot.labelVersionIds.some((id) => PSEUDO_SOURCES.has(store.labelVersions.get(id)?.source ?? '')),
      epochs: await readEpochs(store, r.id),
      modelId: model ? String(model.id) : null,
      modelVersion: model?.version ?? null,
      jobId: jobId && ['queued', 'running'].includes(jobs.get(jobId).status) ? jobId : null,
      resumable: resumable === r.id,
    };
  };

  return {
    async 'training:plan'() {
      const numClasses = Math.max(2, ...store.labelSchema.list().map((c) => c.idx + 1));
      const all = await trainableCases(store, true);
      const { cases, pseudo, bySource } = await trainableCases(store, false);
      const reasons: TrainingPlanView['reasons'] = [];
      const architecture = 'unet2d';
      const basis = cases.length ? cases : all.cases;
      let fingerprint: TrainingPlanView['fingerprint'] = null;
      let options: TrainingOptions;
      if (basis.length) {
        // The fingerprint reads every case; 50 are plenty for medians and percentiles.
        const sample = basis.slice(0, 50);
        const modality = store.images.require(Number(sample[0].id.slice('image-'.length))).modality;
        const { fingerprint: fp, plan } = await planFromCases(sample, numClasses, modality);
        const cfg = defaultTrainingConfig(plan, fp, numClasses, architecture);
        const model = (cfg.model ?? {}) as { depth?: number; baseWidth?: number };
        const loss = { ceWeight: 1, diceWeight: 1, batchDice: false, ...(cfg.loss ?? {}) };
        const aug = { enabled: true, flipProbability: 0.5, rotationProbability: 0.2, scaleProbability: 0.2, elasticProbability: 0.1, ...(cfg.augmentation as object) } as Record<string, unknown>;
        options = {
          architecture,
          patchSize: cfg.patchSize,
          batchSize: cfg.batchSize ?? 2,
          budget: { kind: 'minutes', minutes: 30 },
          stepsPerEpoch: cfg.stepsPerEpoch ?? 50,
          depth: model.depth ?? 4,
          baseWidth: model.baseWidth ?? 16,
          lr: cfg.lr ?? 2e-3,
          loss: { ceWeight: loss.ceWeight, diceWeight: loss.diceWeight, batchDice: loss.batchDice },
          augmentation: {
            enabled: Boolean(aug.enabled),
            flipProbability: Number(aug.flipProbability),
            rotationProbability: Number(aug.rotationProbability),
            scaleProbability: Number(aug.scaleProbability),
            elasticProbability: Number(aug.elasticProbability),
          },
          includePseudo: false,
        };
        fingerprint = { cases: fp.cases, medianShape: [...fp.medianShape], medianSpacing: [...fp.medianSpacing], modality: fp.modality };
        reasons.push({ field: 'data', text: `Fingerprint of ${fp.cases} labelled case(s): median shape ${fp.medianShape.map((v) => Math.round(v)).join('×')}, median spacing ${fp.medianSpacing.map((v) => v.toFixed(2)).join('×')} mm (${fp.modality}).` });
        // The fingerprint's notes: spacing applies to every model; patch/batch/voxel budget describe the 3D plan.
        for (const n of plan.notes) {
          // A 2D plan (2D images, thick slices) is the one trained: all its notes apply (issue 17).
          if (plan.dims === '2d') reasons.push({ field: 'plan', text: `Plan: ${n}.` });
          else if (/spacing/.test(n)) reasons.push({ field: 'plan', text: `Resampling: ${n}.` });
          else reasons.push({ field: 'plan3d', text: `If you choose a 3D model: ${n}.` });
        }
        reasons.push({ field: 'architecture', text: `2D U-Net: on this machine's ${os.cpus().length} CPU core(s) without a GPU a 2D step is about 20× cheaper than a 3D step (docs/ml-results.md); choose unet3d when a GPU backend loads.` });
        const cov = plan.context2d && (plan.context2d.source === '2d-images' || plan.context2d.coarsened) ? plan.context2d.coverage : null;
        reasons.push({
          field: 'patchSize',
          text: cov
            ? `Patch ${options.patchSize.join('×')} covers ${cov.map((c) => `${Math.round(100 * c)}%`).join(' × ')} of the median image at the plan's spacing, within the step budget.`
            : `Patch ${options.patchSize.join('×')} covers the largest slice at the target spacing, rounded up to a multiple of 2^(depth-1).`,
        });
        reasons.push({ field: 'batchSize', text: `Batch ${options.batchSize} slices${options.loss.batchDice ? ', Dice over the whole batch (most slices hold little foreground; nnU-Net 2D)' : ''}.` });
        reasons.push({ field: 'augmentation', text: `Flips ${options.augmentation.flipProbability}, rotation ${options.augmentation.rotationProbability}, scaling ${options.augmentation.scaleProbability}, elastic ${options.augmentation.elasticProbability} (elastic off for 2D as in nnU-Net v2: also the costliest).` });
        reasons.push({ field: 'budget', text: 'A 30-minute budget: the reference CPU PyTorch run reaches its Dice in that time here; use epochs for a fixed amount of work.' });
      } else {
        options = {
          architecture,
          patchSize: [64, 64],
          batchSize: 16,
          budget: { kind: 'minutes', minutes: 30 },
          stepsPerEpoch: 50,
          depth: 4,
          baseWidth: 16,
          lr: 2e-3,
          loss: { ceWeight: 1, diceWeight: 1, batchDice: true },
          augmentation: { enabled: true, flipProbability: 0.5, rotationProbability: 0.2, scaleProbability: 0.2, elasticProbability: 0 },
          includePseudo: false,
        };
        reasons.push({ field: 'data', text: 'No labelled image outside the test split yet: label a case first; the plan then follows the data.' });
      }
      if (pseudo) reasons.push({ field: 'includePseudo', text: `${pseudo} image(s) have an AI-accepted or pseudo label as their newest version: left out unless you switch them on.` });
      const resumableRun = await findResumableRun(store);
      return {
        options,
        reasons,
        architectures: listModels().map((m) => ({ name: m.name, dims: m.resolve({}).dims as 2 | 3 })),
        data: { trainable: cases.length, pseudo, testImages: store.images.list({ split: 'test' }).length, bySource },
        fingerprint,
        resumable: resumableRun ? { runId: String(resumableRun.id), status: resumableRun.status, epochsDone: (await readEpochs(store, resumableRun.id)).length } : null,
      };
    },

    async 'training:start'(input) {
      const o = trainOptionsFor(input.options);
      const { cases } = await trainableCases(store, o.includePseudo ?? false);
      if (!cases.length) throw new SegloopError('NO_TRAINING_DATA', 'No labelled images outside the test split: label a case before training.');
      return start(o);
    },

    async 'training:cancel'(input) {
      const job = jobs.get(input.jobId);
      if (job.kind !== 'train') throw new SegloopError('INVALID_ARGUMENT', `Job ${input.jobId} is a ${job.kind} job, not training.`);
      return toWireJob(jobs.cancel(input.jobId));
    },

    async 'training:resume'(input) {
      const run = await findResumableRun(store);
      if (!run) throw new SegloopError('INVALID_ARGUMENT', 'There is no cancelled or interrupted training with a checkpoint to resume: start a new training.');
      const budget = input.budget;
      return start({ resume: true, epochs: budget?.kind === 'epochs' ? budget.epochs : undefined, minutes: budget?.kind === 'minutes' ? budget.minutes : undefined });
    },

    async 'training:runs'() {
      const resumable = (await findResumableRun(store))?.id ?? null;
      const models = new Map(store.models.list().filter((m) => m.trainingRunId !== null).map((m) => [m.trainingRunId!, { id: m.id, version: m.version }]));
      const runs = await Promise.all(store.trainingRuns.list().reverse().map((r) => runView(r, resumable, models)));
      return { runs, classes: foregroundClasses(store) };
    },
  };
}
