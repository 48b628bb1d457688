// `segloop train` inside the worker child process (never on a UI thread): parses the config,
// loads the data, builds the model with seeded weights, restores a checkpoint, and assembles the
// trainer from parts — the step (trainer-step.ts), the validation pass (trainer-validation.ts,
// the evaluation module's Dice), the loop (trainer-loop.ts) and callbacks (trainer-callbacks.ts:
// LR warm-up + cosine, progress, DAD tracking, checkpoints of the last and the best, early
// stopping). A trainer variant swaps or adds parts; it does not edit the loop. Everything it
// tells the parent goes through ctx.emit (zod-checked protocol).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { AugmentationSchema, ModelOptionsSchema, NormalisationSchema } from '../../../shared/training-config';
import { writeFileAtomic, sha256Bytes } from '../project/files';
import type { EpochMetrics, TaskEvent } from './task-protocol';
import { initBackend, type BackendPreference } from './backend';
import { DEFAULT_AUGMENTATION, type AugmentationConfig } from './data/augment';
import type { Normalisation } from './data/intensity';
import type { PreprocessSpec } from './data/preprocess';
import { loadTrainingCases } from './data/case-cache-loader';
import { createPatchSampler } from './data/sampler';
import type { Vec3 } from './data/resample';
import { serializeWeights, loadWeightsInto, type ModelMeta, WEIGHTS_FORMAT } from './inference/model-weights';
import { createLoss } from './losses';
import { createDadRecorder, readDadFile, DAD_FILE } from './dad';
import { createModel, getModelDefinition, type UNetConfig } from './models';
import { checkpointDir, readCheckpointFile, readLatest, restoreOptimizer, saveCheckpoint, snapshotOptimizer, type CheckpointState } from './trainer-checkpoint';
import { splitByPatient, assertNoPatientLeakage } from '../project/splits';
import { checkpointCallback, cpuUseCallback, dadCallback, earlyStoppingCallback, learningRateAt, lrScheduleCallback, progressCallback, stepBudgetFor } from './trainer-callbacks';
import { runLoop, type LoopState, type StopReason, type TrainerCallback } from './trainer-loop';
import { createTrainStep } from './trainer-step';
import { createValidationPass, validationDice } from './trainer-validation';

// Strict (shared/training-config.ts sections): a misspelt key is an error in the worker too, never ignored.
export const TrainerConfig = z.strictObject({
  architecture: z.string().default('unet2d'),
  /** U-Net options (depth, baseWidth, norm...); dims follow the architecture unless it allows both. */
  model: ModelOptionsSchema.default({}),
  numClasses: z.number().int().min(2),
  /** Volume order: [PX, PY] for 2D, [PX, PY, PZ] for 3D. */
  patchSize: z.array(z.number().int().positive()),
  batchSize: z.number().int().positive().default(2),
  epochs: z.number().int().positive().nullable().default(null),
  minutes: z.number().positive().nullable().default(null),
  stepsPerEpoch: z.number().int().positive().default(50),
  lr: z.number().positive().default(1e-3),
  /** Final LR as a fraction of lr at the end of the cosine. */
  minLrFraction: z.number().min(0).max(1).default(0.01),
  /** Fraction of the run spent in linear warm-up. */
  warmupFraction: z.number().min(0).max(0.5).default(0.03),
  valFraction: z.number().min(0).max(0.9).default(0.15),
  /** At most this many validation images are scored per epoch (speed). */
  maxValCases: z.number().int().positive().default(20),
  /** Stop after this many epochs without a better validation Dice (null = never). */
  earlyStoppingPatience: z.number().int().positive().nullable().default(null),
  seed: z.number().int().default(1234),
  targetSpacing: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  normalisation: NormalisationSchema.default({ kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }),
  augmentation: AugmentationSchema.partial().default({}),
  foregroundFraction: z.number().min(0).max(1).default(0.33),
  checkpointEveryMinutes: z.number().positive().default(5),
  loss: z.strictObject({ ceWeight: z.number().default(1), diceWeight: z.number().default(1), batchDice: z.boolean().default(false) }).default({ ceWeight: 1, diceWeight: 1, batchDice: false }),
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  // Optional without defaults so that configs (and checkpoint keys) written before they existed stay the same.
  /** Partially labelled images (TrainCase.labelledClasses): 'merge' (default) / 'exclude' adaptive loss; 'none' = treat every label as complete. */
  partialLoss: z.enum(['merge', 'exclude', 'none']).optional(),
  /** Label dropout probability (literature 003), applied with the adaptive loss; default 0. */
  labelDropout: z.number().min(0).max(1).optional(),
  /** Record per-image Dice of the trained patches every epoch into runDir/dad.json (dad.ts); default true. */
  recordDad: z.boolean().optional(),
});
export type TrainerConfig = z.infer<typeof TrainerConfig>;
export type TrainerConfigInput = z.input<typeof TrainerConfig>;

export const TrainCaseSchema = z.object({
  id: z.string(),
  patientId: z.string(),
  imagePath: z.string(),
  labelPath: z.string(),
  /** Classes annotated in this label (null = all). */
  labelledClasses: z.array(z.number().int()).nullable().default(null),
  fixedSplit: z.enum(['train', 'val']).nullable().default(null),
});
export type TrainCase = z.infer<typeof TrainCaseSchema>;

export const TrainParams = z.object({
  runDir: z.string(),
  cases: z.array(TrainCaseSchema),
  config: TrainerConfig,
  /** Run folder whose checkpoint to continue from (itself or an earlier, interrupted run). */
  resumeFrom: z.string().nullable().default(null),
  /** Preprocessing cache root (the project's .segloop/cache); null: cases preprocessed in memory only. */
  cacheDir: z.string().nullable().default(null),
  /**
   * Warm start: the initial weights of a model of the same architecture (an earlier round's), with a
   * fresh optimiser, epoch counter and LR schedule — unlike resumeFrom, which continues a run.
   */
  initWeights: z.object({ path: z.string(), sha256: z.string(), weightSpecs: z.array(z.unknown()) }).nullable().default(null),
});
export type TrainParams = z.infer<typeof TrainParams>;

export interface TrainResult {
  stopReason: StopReason;
  backend: string;
  epochs: number;
  steps: number;
  trainSeconds: number;
  wallSeconds: number;
  bestEpoch: number | null;
  /** Validation Dice per foreground class of the returned weights (null: no validation set). */
  valDice: (number | null)[] | null;
  valMeanDice: number | null;
  meta: ModelMeta;
  /** The weights to keep (best on validation, else last), in runDir. */
  weightsFile: string;
  weightsSha256: string;
  history: EpochMetrics[];
  valIds: string[];
  resumedFromEpoch: number | null;
}

interface Ctx {
  signal: AbortSignal;
  emit(e: TaskEvent): void;
}

export interface TrainerExtensions {
  /** Extra callbacks, run after the standard ones (a trainer variant's own hooks). */
  callbacks?: TrainerCallback[];
}

export { learningRateAt };

/** Seed of epoch e's sampler: resuming at epoch e replays exactly the batches a run would have seen. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(epoch + 1, 0x165667b1)) >>> 0;
}

/** Seed of the weight initialisation, derived from the run's seed (distinct from the samplers'). */
export function initSeed(seed: number): number {
  return (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) >>> 0) % 2147483647;
}

function configKey(c: TrainerConfig): string {
  const { epochs: _e, minutes: _m, earlyStoppingPatience: _p, checkpointEveryMinutes: _k, backend: _b, maxValCases: _v, ...rest } = c;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

function labelledFlags(classes: number[] | null, K: number): number[] | undefined {
  if (!classes) return undefined;
  return Array.from({ length: K }, (_, k) => (k === 0 || classes.includes(k) ? 1 : 0));
}

/** Everything of the config that changes the preprocessed arrays (and so the cache's plan hash). */
function preprocessSpecOf(cfg: TrainerConfig): PreprocessSpec {
  return { targetSpacing: cfg.targetSpacing as Vec3, normalisation: cfg.normalisation as unknown as Normalisation, numClasses: cfg.numClasses };
}

/**
 * Dice per foreground class between two label arrays, by the evaluation module; null where both
 * are empty (callers that skip such classes in their means).
 * @deprecated Kept for active-learning (score-task.ts, rounds.ts) until it imports
 * validationDice / segmentationMetrics itself; the value is the evaluation module's Dice.
 */
export function dicePerClass(pred: ArrayLike<number>, ref: ArrayLike<number>, K: number): (number | null)[] {
  const d = validationDice(pred, ref, K);
  const present = new Uint8Array(K);
  for (let v = 0; v < ref.length; v++) {
    present[pred[v]] = 1;
    present[ref[v]] = 1;
  }
  return d.map((x, k) => (present[k + 1] ? x : null));
}

export async function runTraining(rawParams: unknown, ctx: Ctx, ext: TrainerExtensions = {}): Promise<TrainResult> {
  const parsed = TrainParams.safeParse(rawParams);
  if (!parsed.success) throw new SegloopError('INVALID_ARGUMENT', `Invalid training parameters: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const { runDir, cases, config: cfg, resumeFrom, initWeights, cacheDir } = parsed.data;
  if (resumeFrom && initWeights) throw new SegloopError('INVALID_ARGUMENT', 'A training either resumes a run or starts warm from another model, not both.');
  const wallStart = performance.now();
  if (cfg.epochs === null && cfg.minutes === null) throw new SegloopError('INVALID_ARGUMENT', 'Give a number of epochs or a time budget in minutes.');
  if (cases.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'There are no labelled images to train on: import or draw labels first.');
  const log = (message: string, level: 'info' | 'warn' = 'info'): void => ctx.emit({ type: 'log', level, message });

  const backend = await initBackend({ prefer: cfg.backend as BackendPreference });
  const backendDetail = [`${backend.threads} thread${backend.threads === 1 ? '' : 's'}`, backend.replacedKernels.length ? `our kernels: ${backend.replacedKernels.join(', ')}` : ''].filter(Boolean).join('; ');
  ctx.emit({ type: 'backend', name: backend.name, detail: backendDetail });
  log(`backend: ${backend.name} (${backendDetail})`);

  // Resolve the model config through the registry (fixes dims for unet2d/unet3d).
  const def = getModelDefinition(cfg.architecture);
  const unet: UNetConfig = def.resolve({ ...(cfg.model as Partial<UNetConfig>), numClasses: cfg.numClasses, inChannels: 1 });
  if (cfg.patchSize.length !== unet.dims) {
    throw new SegloopError('INVALID_ARGUMENT', `Patch size [${cfg.patchSize.join(', ')}] has ${cfg.patchSize.length} axes but ${cfg.architecture} is ${unet.dims}D.`);
  }
  const div = 2 ** (unet.depth - 1);
  if (cfg.patchSize.some((p) => p % div !== 0)) {
    throw new SegloopError('INVALID_ARGUMENT', `Patch size [${cfg.patchSize.join(', ')}] must be divisible by ${div} for a depth-${unet.depth} U-Net.`);
  }
  // Same seed -> same initial weights -> same first loss (the samplers are seeded per epoch too).
  const { model } = createModel(cfg.architecture, unet, { seed: initSeed(cfg.seed) });
  const meta: ModelMeta = {
    format: WEIGHTS_FORMAT,
    architecture: cfg.architecture,
    unet: unet as unknown as Record<string, unknown>,
    dims: unet.dims,
    patchSize: cfg.patchSize,
    numClasses: cfg.numClasses,
    preprocess: { targetSpacing: cfg.targetSpacing, normalisation: cfg.normalisation, numClasses: cfg.numClasses },
    weightSpecs: serializeWeights(model).specs,
  };

  // Split by patient (a resumed run keeps its split).
  let ckpt: CheckpointState | null = null;
  if (resumeFrom) {
    ckpt = await readLatest(resumeFrom);
    if (!ckpt) throw new SegloopError('INVALID_ARGUMENT', `There is no checkpoint in ${checkpointDir(resumeFrom)} to resume from.`);
    if (ckpt.configKey !== configKey(cfg)) {
      throw new SegloopError('INVALID_ARGUMENT', 'The checkpoint was written with another model or data configuration; start a new training instead of resuming.', {
        checkpoint: ckpt.configKey,
        now: configKey(cfg),
      });
    }
  }
  const items = cases.map((c) => ({ ...c, fixed: c.fixedSplit }));
  let trainItems: TrainCase[];
  let valItems: TrainCase[];
  if (ckpt) {
    const valSet = new Set(ckpt.valIds);
    valItems = items.filter((c) => valSet.has(c.id));
    trainItems = items.filter((c) => !valSet.has(c.id));
    assertNoPatientLeakage(trainItems.map((c) => ({ ...c, fixed: null })), valItems.map((c) => ({ ...c, fixed: null })));
  } else {
    const split = splitByPatient(items, cfg.valFraction, cfg.seed);
    trainItems = split.train;
    valItems = split.val;
  }
  const valScored = valItems.slice(0, cfg.maxValCases);
  log(`data: ${trainItems.length} training images (${new Set(trainItems.map((c) => c.patientId)).size} patients), ${valItems.length} validation images (${valScored.length} scored per epoch)`);

  // Preprocessed by a thread pool into the cache (per-image progress), then read lazily under a memory budget.
  const loadItems = [...trainItems, ...valScored];
  const { trainCases, trainSource, valCases } = await loadTrainingCases(trainItems, valScored, {
    spec: preprocessSpecOf(cfg), cacheDir, emit: ctx.emit, signal: ctx.signal, labelled: (i) => labelledFlags(loadItems[i].labelledClasses, cfg.numClasses),
  });

  const optimizer = tf.train.adam(cfg.lr);
  const partialLoss = cfg.partialLoss ?? 'merge';
  if (partialLoss === 'none' && cfg.labelDropout) throw new SegloopError('INVALID_ARGUMENT', 'Label dropout needs the adaptive loss: use partialLoss merge or exclude, not none.');
  const lossFn = createLoss({ numClasses: cfg.numClasses, ceWeight: cfg.loss.ceWeight, diceWeight: cfg.loss.diceWeight, batchDice: cfg.loss.batchDice, partial: partialLoss === 'none' ? undefined : partialLoss });
  const augmentation: AugmentationConfig = { ...DEFAULT_AUGMENTATION, ...(unet.dims === 2 ? { inPlaneOnly: true } : {}), ...(cfg.augmentation as Partial<AugmentationConfig>) };

  const state: LoopState = {
    epoch: 0, stepInEpoch: 0, globalStep: 0, trainSeconds: 0, bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, history: [], lr: cfg.lr,
  };
  let resumedFromEpoch: number | null = null;
  let resumedBest: Uint8Array | null = null;
  if (ckpt && resumeFrom) {
    loadWeightsInto(model, await readCheckpointFile(resumeFrom, ckpt.weights), ckpt.meta.weightSpecs, 'checkpoint weights');
    // Adam's moments exist only after a first step: create them, then overwrite with the saved ones.
    await restoreOptimizer(optimizer, {
      bytes: await readCheckpointFile(resumeFrom, { file: ckpt.optimizer.file, sha256: ckpt.optimizer.sha256 }),
      names: ckpt.optimizer.names,
      shapes: ckpt.optimizer.shapes,
    });
    Object.assign(state, {
      epoch: ckpt.epoch, stepInEpoch: ckpt.stepInEpoch, globalStep: ckpt.globalStep, trainSeconds: ckpt.trainSeconds,
      bestMetric: ckpt.bestMetric, bestEpoch: ckpt.bestEpoch, epochsWithoutImprovement: ckpt.epochsWithoutImprovement, history: [...ckpt.history],
    });
    if (ckpt.best) resumedBest = await readCheckpointFile(resumeFrom, ckpt.best);
    resumedFromEpoch = state.epoch;
    log(`resumed from ${resumeFrom} at epoch ${state.epoch + 1}, step ${state.stepInEpoch} (${state.globalStep} steps, ${state.trainSeconds.toFixed(0)} s trained)`);
  } else if (initWeights) {
    const bytes = new Uint8Array(await fs.readFile(initWeights.path));
    if (sha256Bytes(bytes) !== initWeights.sha256) {
      throw new SegloopError('CHECKSUM_MISMATCH', `The warm-start weights ${initWeights.path} do not match their recorded sha256: they changed since that model was trained.`);
    }
    if (JSON.stringify(initWeights.weightSpecs) !== JSON.stringify(meta.weightSpecs)) {
      throw new SegloopError('INVALID_ARGUMENT', `Warm start needs a model of the same architecture and size (${cfg.architecture}); ${initWeights.path} is another one.`);
    }
    loadWeightsInto(model, bytes, meta.weightSpecs, 'warm-start weights');
    log(`warm start from ${initWeights.path} (fresh optimiser and schedule)`);
  }

  const checkpoints = checkpointCallback(
    {
      snapshotWeights: () => serializeWeights(model).bytes,
      async write(best) {
        const file = await saveCheckpoint(
          runDir,
          {
            epoch: state.epoch, stepInEpoch: state.stepInEpoch, globalStep: state.globalStep, trainSeconds: state.trainSeconds, seed: cfg.seed,
            bestMetric: state.bestMetric, bestEpoch: state.bestEpoch, epochsWithoutImprovement: state.epochsWithoutImprovement,
            history: state.history, meta, configKey: configKey(cfg), valIds: valItems.map((c) => c.id),
          },
          serializeWeights(model).bytes,
          await snapshotOptimizer(optimizer),
          best,
        );
        ctx.emit({ type: 'checkpoint', path: file, epoch: state.epoch });
      },
    },
    cfg.checkpointEveryMinutes,
    resumedBest,
  );
  const callbacks: TrainerCallback[] = [lrScheduleCallback(optimizer, (p) => learningRateAt(p, cfg)), progressCallback(ctx.emit, 1000, stepBudgetFor({ ...unet, patchSize: cfg.patchSize, batchSize: cfg.batchSize, threads: backend.threads, targetSpacing: cfg.targetSpacing, gpu: backend.name === 'tensorflow-gpu' }), log)];
  if (cfg.recordDad ?? true) {
    // A resumed run keeps the DAD records of its finished epochs.
    const previous = ckpt && resumeFrom ? (await readDadFile(path.join(resumeFrom, DAD_FILE)).catch(() => null))?.epochs.filter((e) => e.epoch <= state.epoch) : undefined;
    const dad = createDadRecorder({ numClasses: cfg.numClasses, caseIds: trainCases.map((c) => c.id), labelled: new Map(trainCases.map((c) => [c.id, c.labelledClasses])), previous });
    callbacks.push(dadCallback(dad, runDir));
  }
  callbacks.push(checkpoints);
  if (cfg.earlyStoppingPatience !== null) callbacks.push(earlyStoppingCallback(cfg.earlyStoppingPatience, log));
  callbacks.push(cpuUseCallback(backend.threads, log));
  callbacks.push(...(ext.callbacks ?? []));

  const stopReason = await runLoop({
    state,
    stepsPerEpoch: cfg.stepsPerEpoch,
    epochs: cfg.epochs,
    budgetSeconds: cfg.minutes === null ? null : cfg.minutes * 60,
    signal: ctx.signal,
    batchesFor: (epoch) =>
      createPatchSampler(trainSource, {
        dims: unet.dims, patchSize: cfg.patchSize, batchSize: cfg.batchSize, numClasses: cfg.numClasses,
        foregroundFraction: cfg.foregroundFraction, augmentation, seed: epochSeed(cfg.seed, epoch), labelDropout: cfg.labelDropout,
      }),
    step: createTrainStep({ model, optimizer, loss: lossFn, useLabelledFlags: partialLoss !== 'none' }),
    validate: createValidationPass({ model, cases: valCases, dims: unet.dims, patchSize: cfg.patchSize, numClasses: cfg.numClasses }),
    callbacks,
  });

  const finalBytes = checkpoints.bestWeights() ?? serializeWeights(model).bytes;
  const weightsFile = path.join(runDir, 'final.weights.bin');
  await fs.mkdir(runDir, { recursive: true });
  await writeFileAtomic(weightsFile, finalBytes);
  const best = state.bestEpoch !== null ? state.history.find((h) => h.epoch === state.bestEpoch) : undefined;
  model.dispose();
  optimizer.dispose();
  return {
    stopReason,
    backend: backend.name,
    epochs: state.epoch,
    steps: state.globalStep,
    trainSeconds: state.trainSeconds,
    wallSeconds: (performance.now() - wallStart) / 1000,
    bestEpoch: state.bestEpoch,
    valDice: best ? best.valDice : null,
    valMeanDice: best ? best.valMeanDice : null,
    meta,
    weightsFile,
    weightsSha256: sha256Bytes(finalBytes),
    history: state.history,
    valIds: valItems.map((c) => c.id),
    resumedFromEpoch,
  };
}
