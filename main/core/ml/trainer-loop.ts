// The training loop, and nothing else: epochs of steps, a validation pass per epoch, best-model
// bookkeeping, the time budget and cancel. Everything a trainer variant may want to change is a
// part handed in (the step, the validation pass, the sampler) or a callback (LR schedule,
// progress, checkpoints, early stopping, DAD tracking: trainer-callbacks.ts), so a new variant
// composes parts instead of editing this file.
import * as tf from '@tensorflow/tfjs-core';
import { SegloopError } from '../../../shared/errors';
import type { EpochMetrics } from './task-protocol';
import type { StepBatch, StepOutput, TrainStep } from './trainer-step';
import type { ValidationPass, ValidationResult } from './trainer-validation';

export type StopReason = 'epochs' | 'time-budget' | 'early-stopping' | 'cancelled';

/** What a checkpoint saves and a resume restores. */
export interface LoopState {
  /** The epoch in progress (0-based) and how many of its steps are done. */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  /** Seconds of the loop (steps + validation + checkpoints), the clock of the time budget. */
  trainSeconds: number;
  bestMetric: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  history: EpochMetrics[];
  /** Learning rate of the last step (set by the LR-schedule callback). */
  lr: number;
}

export interface LoopContext {
  readonly state: LoopState;
  readonly stepsPerEpoch: number;
  readonly epochs: number | null;
  /** Fraction of the run done, by epochs or by time budget, whichever is further. */
  progress(): number;
  /** Seconds left, or null while unknown. */
  eta(): number | null;
  /** The time budget is used up (the epoch is being cut short). */
  budgetReached(): boolean;
  /** The reason the loop will stop after the current callback round, if any. */
  readonly stopReason: StopReason | null;
  /** Asks the loop to stop (a callback's decision, e.g. early stopping). */
  stop(reason: StopReason): void;
}

export interface EpochEnd {
  metrics: EpochMetrics;
  validation: ValidationResult;
  /** This epoch's validation beat every earlier one (the weights now are the best so far). */
  improved: boolean;
}

/** Hooks run in array order; each may be async. */
export interface TrainerCallback {
  readonly name: string;
  /** The step must also return its argmax predictions (DAD tracking). */
  readonly needsPredictions?: boolean;
  onTrainBegin?(ctx: LoopContext): void | Promise<void>;
  onStepBegin?(ctx: LoopContext): void | Promise<void>;
  onStepEnd?(ctx: LoopContext, out: StepOutput): void | Promise<void>;
  /** After validation, with the state already advanced to (epoch + 1, step 0). */
  onEpochEnd?(ctx: LoopContext, end: EpochEnd): void | Promise<void>;
  /** Cancel arrived mid-epoch; the state is the position reached. */
  onCancel?(ctx: LoopContext): void | Promise<void>;
}

export interface BatchSource {
  next(): StepBatch;
}

export interface LoopParts {
  state: LoopState;
  stepsPerEpoch: number;
  epochs: number | null;
  budgetSeconds: number | null;
  signal: AbortSignal;
  /** The batches of epoch e (reproducible per epoch, so a resume replays them). */
  batchesFor(epoch: number): BatchSource;
  step: TrainStep;
  validate: ValidationPass;
  callbacks: readonly TrainerCallback[];
}

export async function runLoop(parts: LoopParts): Promise<StopReason> {
  const { state: s, stepsPerEpoch, epochs, budgetSeconds, callbacks } = parts;
  let stopReason: StopReason | null = null;
  const progress = (): number => {
    const byEpochs = epochs === null ? 0 : (s.epoch + s.stepInEpoch / stepsPerEpoch) / epochs;
    const byTime = budgetSeconds === null ? 0 : s.trainSeconds / budgetSeconds;
    return Math.min(1, Math.max(byEpochs, byTime));
  };
  const budgetReached = (): boolean => budgetSeconds !== null && s.trainSeconds >= budgetSeconds;
  const ctx: LoopContext = {
    state: s,
    stepsPerEpoch,
    epochs,
    progress,
    eta: () => {
      const p = progress();
      if (budgetSeconds !== null && (epochs === null || s.trainSeconds / budgetSeconds >= p - 1e-9)) return Math.max(0, budgetSeconds - s.trainSeconds);
      // From the first step on (the steps so far times the steps left; validation not included).
      return p > 0 ? (s.trainSeconds * (1 - p)) / p : null;
    },
    budgetReached,
    get stopReason() {
      return stopReason;
    },
    stop: (reason) => {
      stopReason ??= reason;
    },
  };
  const predictions = callbacks.some((c) => c.needsPredictions);
  for (const c of callbacks) await c.onTrainBegin?.(ctx);

  let mark = performance.now();
  const tick = (): void => {
    const now = performance.now();
    // The budget counts the whole loop (steps, validation, checkpoints), not data loading.
    s.trainSeconds += (now - mark) / 1000;
    mark = now;
  };
  while (stopReason === null) {
    if (epochs !== null && s.epoch >= epochs) {
      stopReason = 'epochs';
      break;
    }
    if (budgetReached()) {
      stopReason = 'time-budget';
      break;
    }
    const batches = parts.batchesFor(s.epoch);
    // Replay the batches of the steps already done in this epoch (resume mid-epoch).
    for (let i = 0; i < s.stepInEpoch; i++) {
      const b = batches.next();
      b.x.dispose();
      b.y.dispose();
    }
    const epochStart = performance.now();
    let lossSum = 0;
    let lossN = 0;
    let epochCut = false;
    while (s.stepInEpoch < stepsPerEpoch) {
      // Let IPC messages (cancel) in: tensor reads resolve as microtasks and never yield.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (parts.signal.aborted) {
        stopReason = 'cancelled';
        break;
      }
      for (const c of callbacks) await c.onStepBegin?.(ctx);
      const out = await parts.step(batches.next(), { predictions });
      if (!Number.isFinite(out.loss)) {
        throw new SegloopError('TRAINING_FAILED', `The loss became ${out.loss} at step ${s.globalStep + 1}: lower the learning rate or check the images for extreme values.`);
      }
      lossSum += out.loss;
      lossN++;
      s.stepInEpoch++;
      s.globalStep++;
      tick();
      if (budgetReached()) epochCut = true;
      for (const c of callbacks) await c.onStepEnd?.(ctx, out);
      if (epochCut) break;
    }
    if (stopReason === 'cancelled') {
      for (const c of callbacks) await c.onCancel?.(ctx);
      break;
    }
    const validation = await parts.validate();
    const mem = tf.memory();
    const metrics: EpochMetrics = {
      epoch: s.epoch + 1, epochs, trainLoss: lossN ? lossSum / lossN : NaN, valDice: validation.valDice, valMeanDice: validation.valMeanDice,
      lr: s.lr, seconds: (performance.now() - epochStart) / 1000, steps: lossN, numTensors: mem.numTensors, numBytes: mem.numBytes,
    };
    s.history.push(metrics);
    const v = validation.valMeanDice;
    const improved = v !== null && (s.bestMetric === null || v > s.bestMetric);
    if (improved) {
      s.bestMetric = v;
      s.bestEpoch = s.epoch + 1;
      s.epochsWithoutImprovement = 0;
    } else if (v !== null) {
      s.epochsWithoutImprovement++;
    }
    s.epoch++;
    s.stepInEpoch = 0;
    tick();
    if (epochCut) stopReason = 'time-budget';
    for (const c of callbacks) await c.onEpochEnd?.(ctx, { metrics, validation, improved });
    tick();
  }
  return stopReason ?? 'epochs';
}
