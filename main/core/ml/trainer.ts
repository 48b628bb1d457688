// The training loop (runs inside the worker child process, never on a UI thread):
// Adam, linear warm-up then cosine decay of the learning rate over the run (epochs or a time
// budget), patient-grouped validation split (asserted, SPLIT_LEAKAGE), per-epoch validation Dice
// per class by sliding-window inference, best-model tracking and early stopping, checkpoints
// (weights + optimizer + epoch/step + RNG position) every epoch and every K minutes, resume,
// cancel. Everything it tells the parent goes through ctx.emit (zod-checked protocol).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { AugmentationSchema, ModelOptionsSchema, NormalisationSchema } from '../../../shared/training-config';
import { readNifti } from '../imaging/nifti';
import { writeFileAtomic, sha256Bytes } from '../project/files';
import type { EpochMetrics, TaskEvent } from './task-protocol';
import { initBackend, type BackendPreference } from './backend';
import { DEFAULT_AUGMENTATION, type AugmentationConfig } from './data/augment';
import type { Normalisation } from './data/intensity';
import { preprocessCase } from './data/preprocess';
import { createPatchSampler, type TrainingCase } from './data/sampler';
import type { Vec3 } from './data/resample';
import { argmaxLabels, slidingWindowProbabilities } from './inference/sliding-window';
import { buildModel, serializeWeights, loadWeightsInto, type ModelMeta, WEIGHTS_FORMAT } from './inference/model-weights';
import { createLoss } from './losses';
import { createDadRecorder, readDadFile, writeDadFile, DAD_FILE, type DadRecorder } from './dad';
import { getModelDefinition, type UNetConfig } from './models';
import { checkpointDir, readCheckpointFile, readLatest, restoreOptimizer, saveCheckpoint, snapshotOptimizer, type CheckpointState } from './trainer-checkpoint';
import { splitByPatient, assertNoPatientLeakage } from './trainer-split';

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
});
export type TrainParams = z.infer<typeof TrainParams>;

export interface TrainResult {
  stopReason: 'epochs' | 'time-budget' | 'early-stopping' | 'cancelled';
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

/** Learning rate at `progress` in [0, 1] of the run: linear warm-up, then cosine to minLr. */
export function learningRateAt(progress: number, cfg: Pick<TrainerConfig, 'lr' | 'warmupFraction' | 'minLrFraction'>): number {
  const p = Math.min(1, Math.max(0, progress));
  if (cfg.warmupFraction > 0 && p < cfg.warmupFraction) return cfg.lr * Math.max(0.01, p / cfg.warmupFraction);
  const q = cfg.warmupFraction >= 1 ? 1 : (p - cfg.warmupFraction) / (1 - cfg.warmupFraction);
  const min = cfg.lr * cfg.minLrFraction;
  return min + 0.5 * (cfg.lr - min) * (1 + Math.cos(Math.PI * q));
}

/** Seed of epoch e's sampler: resuming at epoch e replays exactly the batches a run would have seen. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(epoch + 1, 0x165667b1)) >>> 0;
}

function configKey(c: TrainerConfig): string {
  const { epochs: _e, minutes: _m, earlyStoppingPatience: _p, checkpointEveryMinutes: _k, backend: _b, maxValCases: _v, ...rest } = c;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

function labelledFlags(classes: number[] | null, K: number): number[] | undefined {
  if (!classes) return undefined;
  return Array.from({ length: K }, (_, k) => (k === 0 || classes.includes(k) ? 1 : 0));
}

async function loadCase(c: TrainCase, cfg: TrainerConfig): Promise<TrainingCase> {
  const [img, lab] = await Promise.all([readNifti(c.imagePath), readNifti(c.labelPath)]);
  const pre = preprocessCase([img], lab, { targetSpacing: cfg.targetSpacing as Vec3, normalisation: cfg.normalisation as unknown as Normalisation, numClasses: cfg.numClasses }, c.id);
  if (!pre.label) throw new SegloopError('INTERNAL_ERROR', `${c.id}: label missing after preprocessing.`);
  return { id: c.id, images: pre.images, label: pre.label, labelledClasses: labelledFlags(c.labelledClasses, cfg.numClasses) };
}

/** Dice per foreground class between two label arrays; null where both are empty. */
export function dicePerClass(pred: ArrayLike<number>, ref: ArrayLike<number>, K: number): (number | null)[] {
  const inter = new Float64Array(K);
  const ps = new Float64Array(K);
  const rs = new Float64Array(K);
  for (let v = 0; v < ref.length; v++) {
    const p = pred[v];
    const r = ref[v];
    ps[p]++;
    rs[r]++;
    if (p === r) inter[p]++;
  }
  const out: (number | null)[] = [];
  for (let k = 1; k < K; k++) out.push(ps[k] + rs[k] === 0 ? null : (2 * inter[k]) / (ps[k] + rs[k]));
  return out;
}

function meanOf(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

export async function runTraining(rawParams: unknown, ctx: Ctx): Promise<TrainResult> {
  const parsed = TrainParams.safeParse(rawParams);
  if (!parsed.success) throw new SegloopError('INVALID_ARGUMENT', `Invalid training parameters: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const { runDir, cases, config: cfg, resumeFrom } = parsed.data;
  const wallStart = performance.now();
  if (cfg.epochs === null && cfg.minutes === null) throw new SegloopError('INVALID_ARGUMENT', 'Give a number of epochs or a time budget in minutes.');
  if (cases.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'There are no labelled images to train on: import or draw labels first.');
  const log = (message: string, level: 'info' | 'warn' = 'info'): void => ctx.emit({ type: 'log', level, message });

  const backend = await initBackend({ prefer: cfg.backend as BackendPreference });
  const backendDetail = backend.replacedKernels.length ? `our kernels: ${backend.replacedKernels.join(', ')}` : '';
  ctx.emit({ type: 'backend', name: backend.name, detail: backendDetail });
  log(`backend: ${backend.name}${backendDetail ? ` (${backendDetail})` : ''}`);

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
  const meta0 = {
    format: WEIGHTS_FORMAT,
    architecture: cfg.architecture,
    unet: unet as unknown as Record<string, unknown>,
    dims: unet.dims,
    patchSize: cfg.patchSize,
    numClasses: cfg.numClasses,
    preprocess: { targetSpacing: cfg.targetSpacing, normalisation: cfg.normalisation, numClasses: cfg.numClasses },
  };
  const { model, meta: builtMeta } = (() => {
    const lm = buildModel({ ...meta0, weightSpecs: [] } as ModelMeta, null);
    return { model: lm.model, meta: { ...meta0, weightSpecs: serializeWeights(lm.model).specs } as ModelMeta };
  })();
  const meta = builtMeta;

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

  ctx.emit({ type: 'progress', fraction: 0, message: `loading ${cases.length} images`, etaSeconds: null });
  const trainCases: TrainingCase[] = [];
  for (const c of trainItems) trainCases.push(await loadCase(c, cfg));
  const valCases: TrainingCase[] = [];
  for (const c of valScored) valCases.push(await loadCase(c, cfg));

  const optimizer = tf.train.adam(cfg.lr);
  const setLr = (lr: number): void => {
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
  };
  const partialLoss = cfg.partialLoss ?? 'merge';
  if (partialLoss === 'none' && cfg.labelDropout) throw new SegloopError('INVALID_ARGUMENT', 'Label dropout needs the adaptive loss: use partialLoss merge or exclude, not none.');
  const lossFn = createLoss({ numClasses: cfg.numClasses, ceWeight: cfg.loss.ceWeight, diceWeight: cfg.loss.diceWeight, batchDice: cfg.loss.batchDice, partial: partialLoss === 'none' ? undefined : partialLoss });
  const augmentation: AugmentationConfig = { ...DEFAULT_AUGMENTATION, ...(unet.dims === 2 ? { inPlaneOnly: true } : {}), ...(cfg.augmentation as Partial<AugmentationConfig>) };

  let epoch = 0;
  let stepInEpoch = 0;
  let globalStep = 0;
  let trainSeconds = 0;
  let bestMetric: number | null = null;
  let bestEpoch: number | null = null;
  let bestWeights: Uint8Array | null = null;
  let sinceBest = 0;
  const history: EpochMetrics[] = [];
  let resumedFromEpoch: number | null = null;
  if (ckpt && resumeFrom) {
    loadWeightsInto(model, await readCheckpointFile(resumeFrom, ckpt.weights), ckpt.meta.weightSpecs, 'checkpoint weights');
    // Adam's moments exist only after a first step: create them, then overwrite with the saved ones.
    await restoreOptimizer(optimizer, {
      bytes: await readCheckpointFile(resumeFrom, { file: ckpt.optimizer.file, sha256: ckpt.optimizer.sha256 }),
      names: ckpt.optimizer.names,
      shapes: ckpt.optimizer.shapes,
    });
    epoch = ckpt.epoch;
    stepInEpoch = ckpt.stepInEpoch;
    globalStep = ckpt.globalStep;
    trainSeconds = ckpt.trainSeconds;
    bestMetric = ckpt.bestMetric;
    bestEpoch = ckpt.bestEpoch;
    sinceBest = ckpt.epochsWithoutImprovement;
    history.push(...ckpt.history);
    if (ckpt.best) bestWeights = await readCheckpointFile(resumeFrom, ckpt.best);
    resumedFromEpoch = epoch;
    log(`resumed from ${resumeFrom} at epoch ${epoch + 1}, step ${stepInEpoch} (${globalStep} steps, ${trainSeconds.toFixed(0)} s trained)`);
  }
  // DAD (dad.ts): scores of the trained patches; a resumed run keeps the records of its finished epochs.
  let dad: DadRecorder | null = null;
  if (cfg.recordDad ?? true) {
    const previous = ckpt && resumeFrom ? (await readDadFile(path.join(resumeFrom, DAD_FILE)).catch(() => null))?.epochs.filter((e) => e.epoch <= epoch) : undefined;
    dad = createDadRecorder({ numClasses: cfg.numClasses, caseIds: trainCases.map((c) => c.id), labelled: new Map(trainCases.map((c) => [c.id, c.labelledClasses])), previous });
  }

  const budgetSeconds = cfg.minutes === null ? null : cfg.minutes * 60;
  const progressOf = (): number => {
    const byEpochs = cfg.epochs === null ? 0 : (epoch + stepInEpoch / cfg.stepsPerEpoch) / cfg.epochs;
    const byTime = budgetSeconds === null ? 0 : trainSeconds / budgetSeconds;
    return Math.min(1, Math.max(byEpochs, byTime));
  };
  const etaOf = (): number | null => {
    const p = progressOf();
    if (budgetSeconds !== null && (cfg.epochs === null || trainSeconds / budgetSeconds >= p - 1e-9)) return Math.max(0, budgetSeconds - trainSeconds);
    return p > 0.001 ? (trainSeconds * (1 - p)) / p : null;
  };

  let lastCheckpointAt = performance.now();
  let bestDirty = bestWeights !== null;
  const writeCheckpoint = async (): Promise<void> => {
    const w = serializeWeights(model);
    const o = await snapshotOptimizer(optimizer);
    const file = await saveCheckpoint(
      runDir,
      {
        epoch, stepInEpoch, globalStep, trainSeconds, seed: cfg.seed, bestMetric, bestEpoch,
        epochsWithoutImprovement: sinceBest, history, meta, configKey: configKey(cfg), valIds: valItems.map((c) => c.id),
      },
      w.bytes,
      o,
      bestDirty ? bestWeights : 'keep',
    );
    // A resumed run's best weights were read from the old folder: write them once here.
    bestDirty = false;
    lastCheckpointAt = performance.now();
    ctx.emit({ type: 'checkpoint', path: file, epoch });
  };

  let stopReason: TrainResult['stopReason'] | null = null;
  let lastProgressAt = 0;
  let mark = performance.now();
  while (stopReason === null) {
    if (cfg.epochs !== null && epoch >= cfg.epochs) {
      stopReason = 'epochs';
      break;
    }
    if (budgetSeconds !== null && trainSeconds >= budgetSeconds) {
      stopReason = 'time-budget';
      break;
    }
    const sampler = createPatchSampler(trainCases, {
      dims: unet.dims, patchSize: cfg.patchSize, batchSize: cfg.batchSize, numClasses: cfg.numClasses,
      foregroundFraction: cfg.foregroundFraction, augmentation, seed: epochSeed(cfg.seed, epoch), labelDropout: cfg.labelDropout,
    });
    // Replay the batches of the steps already done in this epoch (resume mid-epoch).
    for (let s = 0; s < stepInEpoch; s++) {
      const b = sampler.next();
      b.x.dispose();
      b.y.dispose();
    }
    const epochStart = performance.now();
    let lossSum = 0;
    let lossN = 0;
    let epochCut = false;
    while (stepInEpoch < cfg.stepsPerEpoch) {
      // Let IPC messages (cancel) in: tensor reads resolve as microtasks and never yield.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ctx.signal.aborted) {
        stopReason = 'cancelled';
        break;
      }
      setLr(learningRateAt(progressOf(), cfg));
      const batch = sampler.next();
      let dadPred: tf.Tensor | null = null;
      const cost = optimizer.minimize(() => {
        const logits = model.apply(batch.x, { training: true }) as tf.Tensor;
        if (dad) dadPred = tf.keep(tf.argMax(logits, -1));
        return lossFn(logits, batch.y, partialLoss === 'none' ? undefined : batch.labelled);
      }, true);
      if (dad && dadPred) {
        const p: tf.Tensor = dadPred;
        dad.observe(batch.caseIds, await p.data(), await batch.y.data());
        p.dispose();
      }
      batch.x.dispose();
      batch.y.dispose();
      const value = cost ? (await cost.data())[0] : NaN;
      cost?.dispose();
      if (!Number.isFinite(value)) {
        throw new SegloopError('TRAINING_FAILED', `The loss became ${value} at step ${globalStep + 1}: lower the learning rate or check the images for extreme values.`);
      }
      lossSum += value;
      lossN++;
      stepInEpoch++;
      globalStep++;
      const now = performance.now();
      // The budget counts the whole loop (steps, validation, checkpoints), not data loading.
      trainSeconds += (now - mark) / 1000;
      mark = now;
      if (now - lastProgressAt > 1000) {
        lastProgressAt = now;
        ctx.emit({
          type: 'progress', fraction: progressOf(), etaSeconds: etaOf(),
          message: `epoch ${epoch + 1}${cfg.epochs ? `/${cfg.epochs}` : ''} step ${stepInEpoch}/${cfg.stepsPerEpoch} loss ${(lossSum / lossN).toFixed(4)}`,
        });
      }
      if (budgetSeconds !== null && trainSeconds >= budgetSeconds) {
        epochCut = true;
        break;
      }
      if ((now - lastCheckpointAt) / 60000 >= cfg.checkpointEveryMinutes && stepInEpoch < cfg.stepsPerEpoch) await writeCheckpoint();
    }
    if (stopReason === 'cancelled') {
      dad?.discardEpoch();
      await writeCheckpoint();
      break;
    }
    // Validation on whole images, exactly as inference will run.
    const valDiceSum: number[] = new Array(cfg.numClasses - 1).fill(0);
    const valDiceN: number[] = new Array(cfg.numClasses - 1).fill(0);
    for (const vc of valCases) {
      const probs = slidingWindowProbabilities((x) => model.predict(x) as tf.Tensor, vc.images, { dims: unet.dims, patchSize: cfg.patchSize, numClasses: cfg.numClasses, overlap: 0.5 });
      // A partially labelled validation image says nothing about its unlabelled classes.
      const d = dicePerClass(argmaxLabels(probs), vc.label.data, cfg.numClasses).map((v, k) => (vc.labelledClasses && !vc.labelledClasses[k + 1] ? null : v));
      d.forEach((v, k) => {
        if (v !== null) {
          valDiceSum[k] += v;
          valDiceN[k]++;
        }
      });
    }
    const valDice = valDiceSum.map((s, k) => (valDiceN[k] ? s / valDiceN[k] : null));
    const valMean = valCases.length ? meanOf(valDice) : null;
    const mem = tf.memory();
    const metrics: EpochMetrics = {
      epoch: epoch + 1, epochs: cfg.epochs, trainLoss: lossN ? lossSum / lossN : NaN, valDice, valMeanDice: valMean,
      lr: learningRateAt(progressOf(), cfg), seconds: (performance.now() - epochStart) / 1000, steps: lossN, numTensors: mem.numTensors, numBytes: mem.numBytes,
    };
    history.push(metrics);
    ctx.emit({ type: 'epoch', metrics });
    if (dad) {
      dad.endEpoch(epoch + 1);
      await fs.mkdir(runDir, { recursive: true });
      await writeDadFile(path.join(runDir, DAD_FILE), dad.file());
    }
    if (valMean !== null && (bestMetric === null || valMean > bestMetric)) {
      bestMetric = valMean;
      bestEpoch = epoch + 1;
      bestWeights = serializeWeights(model).bytes;
      bestDirty = true;
      sinceBest = 0;
    } else if (valMean !== null) {
      sinceBest++;
    }
    epoch++;
    stepInEpoch = 0;
    trainSeconds += (performance.now() - mark) / 1000;
    mark = performance.now();
    await writeCheckpoint();
    if (epochCut) stopReason = 'time-budget';
    else if (cfg.earlyStoppingPatience !== null && sinceBest >= cfg.earlyStoppingPatience) {
      stopReason = 'early-stopping';
      log(`early stopping: no better validation Dice for ${sinceBest} epochs (best ${bestMetric?.toFixed(4)} at epoch ${bestEpoch})`);
    }
  }

  const finalBytes = bestWeights ?? serializeWeights(model).bytes;
  const weightsFile = path.join(runDir, 'final.weights.bin');
  await fs.mkdir(runDir, { recursive: true });
  await writeFileAtomic(weightsFile, finalBytes);
  const best = bestEpoch !== null ? history.find((h) => h.epoch === bestEpoch) : undefined;
  model.dispose();
  optimizer.dispose();
  return {
    stopReason: stopReason ?? 'epochs',
    backend: backend.name,
    epochs: epoch,
    steps: globalStep,
    trainSeconds,
    wallSeconds: (performance.now() - wallStart) / 1000,
    bestEpoch,
    valDice: best ? best.valDice : null,
    valMeanDice: best ? best.valMeanDice : null,
    meta,
    weightsFile,
    weightsSha256: sha256Bytes(finalBytes),
    history,
    valIds: valItems.map((c) => c.id),
    resumedFromEpoch,
  };
}
