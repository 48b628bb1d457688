// Training as seen from the project: picks the data (newest label version of every image not
// in the test split), derives a default configuration from the images, records the run in
// training_runs, runs the trainer in a worker child process, streams its events, and at the end
// files the weights into the project and creates the model version — weights file first,
// then model row + weights + run status in ONE transaction, so a crash at any point leaves
// either no model row or a complete one. Interrupted runs (worker killed, parent killed) end as
// 'failed' with a message that says how to continue (`--resume`).
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import type { ProjectStore } from '../project';
import { sha256Bytes, writeFileAtomic, toProjectRelative } from '../project/files';
import type { JsonObject, ModelRow, TrainingRunRow } from '../project/types';
import { readNifti } from '../imaging/nifti';
import { getModelDefinition } from '../ml/models';
import { computeFingerprint, proposePlan, type DatasetFingerprint, type Modality, type TrainingPlan } from '../ml/plan';
import type { TrainCase, TrainerConfigInput, TrainResult } from '../ml/trainer';
import type { TrainingConfigOverrides } from '../../../shared/training-config';
import { readLatest } from '../ml/trainer-checkpoint';
import { excludedImageIds } from '../ml/dad-exclusions';
import type { TaskEvent } from '../worker/protocol';
import { runWorkerTask, type WorkerLauncher } from '../worker/worker-host';
import { SEGLOOP_DIR } from '../project/project-lock';
import { completeClasses } from '../project/segment-status-repository';

export const RUNS_DIR = 'runs';

/**
 * The shared, sectioned user settings (shared/training-config.ts, already checked strictly) in the
 * trainer's own field names. Only given keys are set, so the plan's defaults stay where the user said nothing.
 */
export function trainerInputFromOverrides(o: TrainingConfigOverrides): Partial<TrainerConfigInput> {
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) out[k] = v;
  };
  set('architecture', o.architecture);
  set('model', o.model);
  set('numClasses', o.numClasses);
  set('targetSpacing', o.targetSpacing);
  set('normalisation', o.normalisation);
  set('augmentation', o.augmentation);
  set('patchSize', o.sampling?.patchSize);
  set('batchSize', o.sampling?.batchSize);
  set('foregroundFraction', o.sampling?.foregroundFraction);
  if (o.loss && (o.loss.ceWeight !== undefined || o.loss.diceWeight !== undefined || o.loss.batchDice !== undefined)) {
    out.loss = Object.fromEntries(Object.entries({ ceWeight: o.loss.ceWeight, diceWeight: o.loss.diceWeight, batchDice: o.loss.batchDice }).filter(([, v]) => v !== undefined));
  }
  set('partialLoss', o.loss?.partial);
  set('labelDropout', o.loss?.labelDropout);
  set('lr', o.schedule?.lr);
  set('minLrFraction', o.schedule?.minLrFraction);
  set('warmupFraction', o.schedule?.warmupFraction);
  set('stepsPerEpoch', o.schedule?.stepsPerEpoch);
  set('earlyStoppingPatience', o.schedule?.earlyStoppingPatience);
  set('epochs', o.budget?.epochs);
  set('minutes', o.budget?.minutes);
  set('valFraction', o.validation?.fraction);
  set('maxValCases', o.validation?.maxCases);
  set('checkpointEveryMinutes', o.checkpoint?.everyMinutes);
  set('recordDad', o.checkpoint?.recordDad);
  set('seed', o.seed);
  set('backend', o.backend);
  return out as Partial<TrainerConfigInput>;
}

export interface TrainInProjectOptions {
  architecture?: string;
  epochs?: number | null;
  minutes?: number | null;
  /** Continue the most recent interrupted/cancelled run from its last checkpoint. */
  resume?: boolean;
  /** Any trainer setting (patch size, batch size, lr, model options...). */
  config?: Partial<TrainerConfigInput>;
  /** Train on pseudo-labels too (default: only manual, imported and reviewed AI labels). */
  includePseudo?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: TaskEvent) => void;
  onRun?: (run: TrainingRunRow) => void;
  onWorkerReady?: (pid: number) => void;
  launcher?: WorkerLauncher;
  entry?: string;
  actor?: string;
}

export interface TrainOutcome {
  run: TrainingRunRow;
  model: ModelRow | null;
  result: TrainResult;
}

export function runDirOf(store: ProjectStore, runId: number): string {
  return path.join(store.dir, RUNS_DIR, String(runId));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Marks runs left 'running'/'queued' by a process that no longer exists as failed. */
export async function reapInterruptedRuns(store: ProjectStore): Promise<number[]> {
  const reaped: number[] = [];
  for (const run of store.trainingRuns.list()) {
    if (run.status !== 'running' && run.status !== 'queued') continue;
    let owner: { pid?: number } = {};
    try {
      owner = JSON.parse(await fs.readFile(path.join(runDirOf(store, run.id), 'owner.json'), 'utf8')) as { pid?: number };
    } catch {
      // no owner file: the run never started a process
    }
    if (typeof owner.pid === 'number' && owner.pid !== process.pid && pidAlive(owner.pid)) continue;
    if (owner.pid === process.pid) continue;
    store.trainingRuns.finish(run.id, 'failed', 'Interrupted: the process running this training stopped without finishing (killed or crashed). Continue it with `segloop train --resume`.');
    reaped.push(run.id);
  }
  return reaped;
}

const multipleOf = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Default configuration from the dataset fingerprint and nnU-Net-style plan (ml/plan.ts):
 * target spacing, normalisation, and for 3D the plan's patch, batch, depth and width.
 * 2D is the default architecture on CPU backends: with the wasm backend a 3D U-Net step on the
 * plan's 40x56x40 x 2 patch takes 17-35 s here, a 2D step on 16 slices ~1 s
 * (docs/ml-results.md). A 2D plan's patch covers the largest slice (rounded up for the U-Net's
 * depth, at most 256), batch 16 slices, width 16 (width 32 is 4-5x slower per step here).
 */
export function defaultTrainingConfig(plan: TrainingPlan, fp: DatasetFingerprint, numClasses: number, architecture = 'unet2d'): TrainerConfigInput {
  const is2d = getModelDefinition(architecture).resolve({}).dims === 2;
  const common = { architecture, numClasses, targetSpacing: plan.targetSpacing, normalisation: plan.normalisation, stepsPerEpoch: 50, lr: 2e-3 };
  if (!is2d) {
    if (plan.dims === '3d') {
      return { ...common, model: { depth: plan.depth, baseWidth: plan.baseWidth, norm: 'instance' }, patchSize: plan.patchSize, batchSize: plan.batchSize };
    }
    const depth = 4;
    const med = [0, 1, 2].map((a) => Math.min(128, multipleOf(fp.medianShape[a], 2 ** (depth - 1))));
    return { ...common, model: { depth, baseWidth: 16, norm: 'instance' }, patchSize: med, batchSize: 2 };
  }
  // 2D images, or thick slices whose in-plane spacing the plan coarsened: the plan's patch, batch and
  // depth keep context within the step budget (plan.ts, issue 17); the rest are the 2D choices below.
  if (plan.context2d && (plan.context2d.source === '2d-images' || plan.context2d.coarsened)) {
    return {
      ...common,
      model: { depth: plan.depth, baseWidth: plan.baseWidth, norm: 'instance' },
      patchSize: plan.patchSize,
      batchSize: plan.batchSize,
      loss: { ceWeight: 1, diceWeight: 1, batchDice: true },
      augmentation: { elasticProbability: 0 },
    };
  }
  const depth = 4;
  const ext = [0, 1].map((a) => Math.max(...fp.shapes.map((sh, n) => (sh[a] * fp.spacings[n][a]) / plan.targetSpacing[a])));
  const patchSize = ext.map((e) => Math.min(256, multipleOf(Math.ceil(e - 1e-6), 2 ** (depth - 1))));
  // nnU-Net's 2D choices: Dice over the whole batch of slices (most slices hold little or no
  // foreground), no elastic deformation (nnU-Net v2's default; also the cheapest augmentation).
  return {
    ...common,
    model: { depth, baseWidth: 16, norm: 'instance' },
    patchSize,
    batchSize: 16,
    loss: { ceWeight: 1, diceWeight: 1, batchDice: true },
    augmentation: { elasticProbability: 0 },
  };
}

/** Reads the cases and proposes a plan (fingerprint -> plan) for this machine. */
export async function planFromCases(cases: readonly TrainCase[], numClasses: number, modality: string | null): Promise<{ fingerprint: DatasetFingerprint; plan: TrainingPlan }> {
  const fpCases = [];
  for (const c of cases) fpCases.push({ id: c.id, image: await readNifti(c.imagePath), label: await readNifti(c.labelPath) });
  const mod: Modality = modality === 'CT' ? 'CT' : modality === 'MR' ? 'MR' : 'other';
  const fingerprint = computeFingerprint(fpCases, { modality: mod, numClasses });
  const plan = proposePlan(fingerprint, { cores: os.cpus().length, memoryMB: Math.floor(os.totalmem() / 2 ** 20), gpu: false });
  return { fingerprint, plan };
}

/**
 * Label sources the model made (a prediction accepted unchanged in Review, or a pseudo-label):
 * trained on only when the user switches "include accepted pseudo-labels" on. An `ai_edited`
 * label was corrected by a person and counts as theirs.
 */
export const PSEUDO_LABEL_SOURCES: ReadonlySet<string> = new Set(['pseudo', 'ai_accepted']);

export interface Snapshot {
  cases: TrainCase[];
  labelVersionIds: number[];
  /** Images left out because they are in the training exclusion set (`segloop prune`). */
  excludedImageIds: number[];
  /** Images trained as partially labelled because some class is not marked done (segment status). */
  incompleteByStatus?: { imageId: number; complete: number[] }[];
}

/**
 * The data snapshot of a run: the given label versions (a resumed run keeps its data), or the
 * newest label of every image outside the test split, model-made labels only when asked for.
 * An image whose newest label is model-made is left out entirely (not trained on an older label):
 * the user's latest decision about that image was to take the model's answer.
 */
export async function collectCases(store: ProjectStore, labelVersionIds: number[] | null, includePseudo: boolean): Promise<Snapshot> {
  const versions = labelVersionIds
    ? labelVersionIds.map((id) => store.labelVersions.require(id))
    : store.labelVersions.latestPerImage().filter((lv) => includePseudo || !PSEUDO_LABEL_SOURCES.has(lv.source));
  const cases: TrainCase[] = [];
  const ids: number[] = [];
  const excludedSet = labelVersionIds ? new Set<number>() : excludedImageIds(store); // a resumed run keeps its data
  const excluded: number[] = [];
  // Segment status: in a version that records statuses only the classes marked done are labelled
  // (the rest go to the partial-label loss as missing); other versions keep labelled_classes.
  // Statuses never change for a version, so a resumed run sees the same classes.
  const statuses = store.labelVersions.statuses.currentForVersions(versions.map((lv) => lv.id));
  const incomplete: { imageId: number; complete: number[] }[] = [];
  for (const lv of versions) {
    const img = store.images.require(lv.imageId);
    if (!labelVersionIds && img.split === 'test') continue; // the test split is never trained on
    if (excludedSet.has(img.id)) {
      excluded.push(img.id);
      continue;
    }
    const patient = store.patients.require(img.patientId);
    cases.push({
      id: `image-${img.id}`,
      patientId: patient.externalId,
      imagePath: await store.resolve(img.path),
      labelPath: await store.resolve(lv.path),
      labelledClasses: completeClasses(statuses.get(lv.id), lv.labelledClasses),
      fixedSplit: img.split === 'train' || img.split === 'val' ? img.split : null,
    });
    const complete = cases[cases.length - 1].labelledClasses;
    if (statuses.has(lv.id) && complete !== null && [...statuses.get(lv.id)!.values()].some((r) => r.status !== 'done')) incomplete.push({ imageId: img.id, complete });
    ids.push(lv.id);
  }
  return { cases, labelVersionIds: ids, excludedImageIds: excluded, incompleteByStatus: incomplete };
}

function classCount(store: ProjectStore): number {
  const classes = store.labelSchema.list();
  const n = classes.length ? Math.max(...classes.map((c) => c.idx)) + 1 : 0;
  if (n < 2) throw new SegloopError('NO_TRAINING_DATA', 'The project has no label classes: define the label schema (background + at least one structure) first.');
  return n;
}

/** The newest run that stopped early and left a checkpoint, if any. */
export async function findResumableRun(store: ProjectStore): Promise<TrainingRunRow | null> {
  const runs = store.trainingRuns.list().reverse();
  for (const r of runs) {
    if (r.status === 'completed') return null; // a finished run supersedes older interrupted ones
    if ((r.status === 'failed' || r.status === 'cancelled') && (await readLatest(runDirOf(store, r.id)).catch(() => null))) return r;
  }
  return null;
}

export async function trainInProject(store: ProjectStore, opts: TrainInProjectOptions = {}): Promise<TrainOutcome> {
  await reapInterruptedRuns(store);
  const numClasses = classCount(store);
  let config: TrainerConfigInput;
  let snapshot: Snapshot;
  let resumeFrom: string | null = null;
  let resumedRun: TrainingRunRow | null = null;
  if (opts.resume) {
    resumedRun = await findResumableRun(store);
    if (!resumedRun) {
      throw new SegloopError('INVALID_ARGUMENT', 'There is no interrupted or cancelled training with a checkpoint to resume: start a new training without --resume.');
    }
    const prev = resumedRun.config as unknown as { trainer: TrainerConfigInput };
    config = { ...prev.trainer };
    if (opts.epochs !== undefined && opts.epochs !== null) config = { ...config, epochs: opts.epochs };
    if (opts.minutes !== undefined && opts.minutes !== null) config = { ...config, minutes: opts.minutes };
    snapshot = await collectCases(store, resumedRun.dataSnapshot.labelVersionIds, true);
    resumeFrom = runDirOf(store, resumedRun.id);
  } else {
    snapshot = await collectCases(store, null, opts.includePseudo ?? false);
    if (snapshot.cases.length === 0) {
      throw new SegloopError('NO_TRAINING_DATA', 'No labelled images outside the test split: import or draw labels before training.');
    }
    const modality = store.images.require(Number(snapshot.cases[0].id.slice('image-'.length))).modality;
    const { fingerprint, plan } = await planFromCases(snapshot.cases, numClasses, modality);
    const defaults = defaultTrainingConfig(plan, fingerprint, numClasses, opts.architecture ?? opts.config?.architecture ?? 'unet2d');
    // The plan's reasons (e.g. why a 2D collection trains at a coarser spacing), before the first epoch.
    for (const n of plan.notes) opts.onEvent?.({ type: 'log', level: 'info', message: `plan: ${n}` });
    config = { ...defaults, ...opts.config, model: { ...defaults.model, ...(opts.config?.model ?? {}) } };
    if (opts.architecture) config.architecture = opts.architecture;
    config.epochs = opts.epochs ?? config.epochs ?? null;
    config.minutes = opts.minutes ?? config.minutes ?? null;
    if (config.epochs == null && config.minutes == null) config.epochs = 20;
  }
  // The model's parent: the version in use when the run started (what this candidate competes with).
  const parentModelId = store.models.promoted()?.id ?? null;
  const runConfig: JsonObject = JSON.parse(JSON.stringify({ trainer: config, resumedFromRun: resumedRun?.id ?? null }));
  let run = store.trainingRuns.create({ config: runConfig, dataSnapshot: { labelVersionIds: snapshot.labelVersionIds, excludedImageIds: snapshot.excludedImageIds } }, { actor: opts.actor });
  opts.onRun?.(run);
  const runDir = runDirOf(store, run.id);
  await fs.mkdir(runDir, { recursive: true });
  await writeFileAtomic(path.join(runDir, 'owner.json'), new TextEncoder().encode(JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })));

  let marked = false;
  const markRunning = (backend: string): void => {
    if (marked) return;
    marked = true;
    run = store.trainingRuns.markRunning(run.id, backend, { actor: opts.actor });
  };
  const logLine = (text: string): void => store.trainingRuns.appendLog(run.id, `${new Date().toISOString()} ${text}\n`);
  if (resumedRun) logLine(`resuming run ${resumedRun.id} from ${resumeFrom}`);
  if (snapshot.incompleteByStatus?.length) {
    logLine(`[info] segment status: ${snapshot.incompleteByStatus.length} image(s) have classes not marked done, trained as unlabelled for those classes: ${snapshot.incompleteByStatus.map((x) => `image ${x.imageId} (done: ${x.complete.join(',') || 'none'})`).join('; ')}`);
  }
  if (snapshot.excludedImageIds.length) {
    logLine(`[info] ${snapshot.excludedImageIds.length} image(s) left out by the training exclusion set (\`segloop prune --restore\` brings them back): ${snapshot.excludedImageIds.join(', ')}`);
  }

  let result: TrainResult;
  try {
    // Preprocessed arrays are derived data: kept in the project's .segloop/cache, never in runs/.
    result = (await runWorkerTask('train', { runDir, cases: snapshot.cases, config, resumeFrom, cacheDir: path.join(store.dir, SEGLOOP_DIR, 'cache') }, {
      launcher: opts.launcher,
      entry: opts.entry,
      signal: opts.signal,
      onReady: opts.onWorkerReady,
      cancelGraceMs: 120_000,
      onEvent: (e) => {
        if (e.type === 'backend') markRunning(e.name + (e.detail ? ` (${e.detail})` : ''));
        else if (e.type === 'log') logLine(`[${e.level}] ${e.message}`);
        else if (e.type === 'epoch') {
          const m = e.metrics;
          logLine(`epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)} val dice [${m.valDice.map((d) => (d === null ? '-' : d.toFixed(4))).join(', ')}] lr ${m.lr.toExponential(2)} ${m.seconds.toFixed(1)} s`);
        }
        opts.onEvent?.(e);
      },
    })) as TrainResult;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const cancelled = e.code === 'JOB_CANCELLED';
    const message = cancelled
      ? 'Cancelled. Continue it with `segloop train --resume`.'
      : `${e.code ?? 'INTERNAL_ERROR'}: ${e.message ?? String(err)}${existsSync(path.join(runDir, 'checkpoint', 'latest.json')) ? ' Continue it from its last checkpoint with `segloop train --resume`.' : ''}`;
    if (!marked) markRunning('unknown');
    logLine(`[error] ${message}`);
    run = store.trainingRuns.finish(run.id, cancelled ? 'cancelled' : 'failed', message, { actor: opts.actor });
    throw err;
  }

  if (!marked) markRunning(result.backend);
  if (existsSync(path.join(runDir, 'dad.json'))) logLine(`[info] per-image DAD scores: ${toProjectRelative(store.dir, path.join(runDir, 'dad.json'))} (\`segloop prune --run ${run.id}\`)`);
  if (result.stopReason === 'cancelled') {
    logLine('[info] cancelled; the last checkpoint is kept for --resume');
    run = store.trainingRuns.finish(run.id, 'cancelled', 'Cancelled. Continue it with `segloop train --resume`.', { actor: opts.actor });
    return { run, model: null, result };
  }

  // File the weights (outside any transaction: files first), then rows in one transaction.
  const bytes = new Uint8Array(await fs.readFile(result.weightsFile));
  const sha = sha256Bytes(bytes);
  if (sha !== result.weightsSha256) throw new SegloopError('CHECKSUM_MISMATCH', `The trained weights ${result.weightsFile} changed on disk before they were saved.`);
  const rel = `models/run-${run.id}/${sha.slice(0, 12)}-weights.bin`;
  await writeFileAtomic(await store.resolve(rel), bytes);
  const classes = store.labelSchema.list();
  const nameOf = (k: number): string => classes.find((c) => c.idx === k)?.name ?? `class ${k}`;
  const metrics: JsonObject = JSON.parse(
    JSON.stringify({
      valDice: Object.fromEntries((result.valDice ?? []).map((d, i) => [nameOf(i + 1), d])),
      valMeanDice: result.valMeanDice,
      bestEpoch: result.bestEpoch,
      epochs: result.epochs,
      steps: result.steps,
      trainSeconds: Math.round(result.trainSeconds),
      backend: result.backend,
      stopReason: result.stopReason,
      validationImages: result.valIds.length,
    }),
  );
  const modelConfig: JsonObject = JSON.parse(JSON.stringify({ ...result.meta, training: config }));
  let model: ModelRow | null = null;
  store.database
    .transaction(() => {
      const created = store.models.create({ architecture: result.meta.architecture, config: modelConfig, parentId: parentModelId !== null && store.models.get(parentModelId) ? parentModelId : null, trainingRunId: run.id, metrics }, { actor: opts.actor });
      model = store.models.setWeights(created.id, rel, sha, { actor: opts.actor });
      store.trainingRuns.appendLog(run.id, `${new Date().toISOString()} [info] model v${model.version} (id ${model.id}) saved: ${rel}; stop: ${result.stopReason}\n`);
      run = store.trainingRuns.finish(run.id, 'completed', null, { actor: opts.actor });
    })
    .immediate();
  await fs.rm(result.weightsFile, { force: true });
  return { run, model, result };
}

export function relativeRunDir(store: ProjectStore, runId: number): string {
  return toProjectRelative(store.dir, runDirOf(store, runId));
}
