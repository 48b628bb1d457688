// Training as seen from the project: picks the data (newest label version of every image not
// in the test split), derives a default configuration from the images, records the run in
// training_runs, runs the trainer in a worker child process, streams its events, and at the end
// files the weights into the project and creates the model version — weights file first,
// then model row + weights + run status in ONE transaction, so a crash at any point leaves
// either no model row or a complete one. Interrupted runs (worker killed, parent killed) end as
// 'failed' with a message that says how to continue (`--resume`).
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import type { ProjectStore } from '../project';
import { sha256Bytes, writeFileAtomic, toProjectRelative } from '../project/files';
import type { JsonObject, ModelRow, TrainingRunRow } from '../project/types';
import { readNifti } from '../imaging/nifti';
import { getModelDefinition } from '../ml/models';
import { computeFingerprint, machineId, proposePlan, type DatasetFingerprint, type Modality, type PlanContext, type StepMeasurement, type TrainingPlan } from '../ml/plan';
import { StepTiming, STEP_TIMING_FILE } from '../ml/trainer-callbacks';
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
 * The architecture is the plan's unless given: 3D for isotropic volumes when the measured (or
 * estimated) 3D step leaves enough steps in the budget, else 2D (plan.ts, MIN_STEPS_3D). A 2D
 * plan's patch covers the largest slice (rounded up for the U-Net's depth, at most 256), batch 16
 * slices, width 16 (width 32 is 4-5x slower per step here).
 */
export function defaultTrainingConfig(plan: TrainingPlan, fp: DatasetFingerprint, numClasses: number, architecture: string = plan.architecture): TrainerConfigInput {
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
export async function planFromCases(
  cases: readonly TrainCase[], numClasses: number, modality: string | null, context: PlanContext = {},
): Promise<{ fingerprint: DatasetFingerprint; plan: TrainingPlan }> {
  const fpCases = [];
  for (const c of cases) fpCases.push({ id: c.id, image: await readNifti(c.imagePath), label: await readNifti(c.labelPath) });
  const mod: Modality = modality === 'CT' ? 'CT' : modality === 'MR' ? 'MR' : 'other';
  const fingerprint = computeFingerprint(fpCases, { modality: mod, numClasses });
  const plan = proposePlan(fingerprint, { cores: os.cpus().length, memoryMB: Math.floor(os.totalmem() / 2 ** 20), gpu: false }, context);
  return { fingerprint, plan };
}

/** Whether the native convolution addon loads here (the worker loads the same file; never throws). */
export async function nativeConvAvailable(): Promise<boolean> {
  try {
    const { loadNativeConv } = await import('../ml/kernels/native-conv3d');
    return loadNativeConv().loaded;
  } catch {
    return false;
  }
}

/** The project's step timings measured on this machine, as the plan reads them. */
export function measuredSteps(store: ProjectStore): StepMeasurement[] {
  const here = machineId();
  return store.trainingRuns
    .stepTimings()
    .filter((t) => t.machine === here)
    .map((t) => ({
      runId: t.trainingRunId, dims: t.dims, patchSize: t.patchSize, batchSize: t.batchSize, baseWidth: t.baseWidth, depth: t.depth, threads: t.threads,
      backend: t.backend, nativeConv: t.nativeConv, medianStepSeconds: t.medianStepSeconds, meanStepSeconds: t.meanStepSeconds, steps: t.steps,
      loadAverage: t.loadAverage, cores: t.cores,
    }));
}

/** What the plan should know about this machine and project: measured steps, the addon, the budget. */
export async function planContextFor(store: ProjectStore, budget: { minutes?: number | null; epochs?: number | null; stepsPerEpoch?: number } = {}): Promise<PlanContext> {
  return {
    measurements: measuredSteps(store),
    nativeConv: await nativeConvAvailable(),
    threads: os.cpus().length,
    budget: budget.minutes ? { minutes: budget.minutes } : budget.epochs ? { epochs: budget.epochs, stepsPerEpoch: budget.stepsPerEpoch ?? 50 } : { minutes: 30 },
  };
}

/**
 * The architecture when the user named none: the plan's, unless the given patch has the other
 * number of axes (a 2-number patch means a 2D model, as every earlier 2D-default config meant).
 */
export function defaultArchitecture(plan: TrainingPlan, patchSize: readonly number[] | undefined): string {
  if (patchSize?.length === 2) return 'unet2d';
  if (patchSize?.length === 3) return 'unet3d';
  return plan.architecture;
}

/**
 * Files the trainer's step timing of a run (runs/<id>/step-timing.json) into the project, once.
 * Returns the row, or null when there is none yet (or it was recorded already, or is unreadable:
 * a measurement is worth having, not worth failing a training for).
 */
export function recordStepTiming(store: ProjectStore, runId: number, runDir: string): ReturnType<ProjectStore['trainingRuns']['recordStepTiming']> | null {
  let text: string;
  try {
    text = readFileSync(path.join(runDir, STEP_TIMING_FILE), 'utf8');
  } catch {
    return null;
  }
  let parsed: ReturnType<typeof StepTiming.safeParse>;
  try {
    parsed = StepTiming.safeParse(JSON.parse(text));
  } catch {
    return null;
  }
  if (!parsed.success) return null;
  if (store.trainingRuns.stepTimings(runId).some((t) => t.epoch === parsed.data.epoch)) return null;
  return store.trainingRuns.recordStepTiming(runId, parsed.data);
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
  /** The plan's reasons, kept with the run (its detail shows why it was planned so). */
  let planned: JsonObject | null = null;
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
    const context = await planContextFor(store, { minutes: opts.minutes ?? opts.config?.minutes, epochs: opts.epochs ?? opts.config?.epochs, stepsPerEpoch: opts.config?.stepsPerEpoch });
    const { fingerprint, plan } = await planFromCases(snapshot.cases, numClasses, modality, context);
    const architecture = opts.architecture ?? opts.config?.architecture ?? defaultArchitecture(plan, opts.config?.patchSize);
    const defaults = defaultTrainingConfig(plan, fingerprint, numClasses, architecture);
    // Why this plan (architecture, what a step costs here, measured or estimated), then the plan's
    // notes (e.g. why a 2D collection trains at a coarser spacing), before the first epoch.
    for (const w of plan.why) opts.onEvent?.({ type: 'log', level: 'info', message: `why this plan: ${w}` });
    if (architecture !== plan.architecture) opts.onEvent?.({ type: 'log', level: 'info', message: `why this plan: ${architecture} as asked (the plan proposes ${plan.architecture})` });
    for (const n of plan.notes) opts.onEvent?.({ type: 'log', level: 'info', message: `plan: ${n}` });
    planned = { architecture: plan.architecture, why: plan.why, notes: plan.notes };
    config = { ...defaults, ...opts.config, model: { ...defaults.model, ...(opts.config?.model ?? {}) } };
    if (opts.architecture) config.architecture = opts.architecture;
    config.epochs = opts.epochs ?? config.epochs ?? null;
    config.minutes = opts.minutes ?? config.minutes ?? null;
    if (config.epochs == null && config.minutes == null) config.epochs = 20;
  }
  // The model's parent: the version in use when the run started (what this candidate competes with).
  const parentModelId = store.models.promoted()?.id ?? null;
  const runConfig: JsonObject = JSON.parse(JSON.stringify({ trainer: config, resumedFromRun: resumedRun?.id ?? null, ...(planned ? { plan: planned } : {}) }));
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

  let timed = false;
  // The trainer's measurement goes into the project at its first epoch end (and at the end, for a cancelled first epoch).
  const recordTiming = (): void => {
    if (timed) return;
    try {
      if (recordStepTiming(store, run.id, runDir)) timed = true;
    } catch (err) {
      timed = true;
      logLine(`[warn] the step timing could not be recorded: ${(err as Error).message}`);
    }
  };
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
          recordTiming();
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
    recordTiming();
    logLine(`[error] ${message}`);
    run = store.trainingRuns.finish(run.id, cancelled ? 'cancelled' : 'failed', message, { actor: opts.actor });
    throw err;
  }

  if (!marked) markRunning(result.backend);
  recordTiming();
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
