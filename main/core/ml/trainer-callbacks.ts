// The trainer's standard callbacks (hooks of trainer-loop.ts). Order matters where one reads what
// another writes; runTraining assembles them as: LR schedule, progress, DAD tracking, checkpoint,
// early stopping.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { TaskEvent } from './task-protocol';
import type { LoopContext, TrainerCallback } from './trainer-loop';
import { writeDadFile, DAD_FILE, type DadRecorder } from './dad';

/** Linear warm-up, then cosine decay to minLr over the run (progress by epochs or time budget). */
export function learningRateAt(progress: number, cfg: { lr: number; warmupFraction: number; minLrFraction: number }): number {
  const p = Math.min(1, Math.max(0, progress));
  if (cfg.warmupFraction > 0 && p < cfg.warmupFraction) return cfg.lr * Math.max(0.01, p / cfg.warmupFraction);
  const q = cfg.warmupFraction >= 1 ? 1 : (p - cfg.warmupFraction) / (1 - cfg.warmupFraction);
  const min = cfg.lr * cfg.minLrFraction;
  return min + 0.5 * (cfg.lr - min) * (1 + Math.cos(Math.PI * q));
}

/** Sets the optimizer's learning rate before every step from `schedule(progress)`. */
export function lrScheduleCallback(optimizer: tf.Optimizer, schedule: (progress: number) => number): TrainerCallback {
  const set = (ctx: LoopContext): void => {
    const lr = schedule(ctx.progress());
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    ctx.state.lr = lr;
  };
  return { name: 'lr-schedule', onTrainBegin: set, onStepBegin: set };
}

/** Progress events at most every `everyMs` (plus the epoch line, which the loop emits through onEpochEnd). */
export function progressCallback(emit: (e: TaskEvent) => void, everyMs = 1000): TrainerCallback {
  let last = 0;
  let lossSum = 0;
  let lossN = 0;
  return {
    name: 'progress',
    onStepEnd(ctx, out) {
      if (ctx.state.stepInEpoch === 1) {
        lossSum = 0;
        lossN = 0;
      }
      lossSum += out.loss;
      lossN++;
      const now = performance.now();
      if (now - last <= everyMs) return;
      last = now;
      const s = ctx.state;
      emit({
        type: 'progress', fraction: ctx.progress(), etaSeconds: ctx.eta(),
        message: `epoch ${s.epoch + 1}${ctx.epochs ? `/${ctx.epochs}` : ''} step ${s.stepInEpoch}/${ctx.stepsPerEpoch} loss ${(lossSum / lossN).toFixed(4)}`,
      });
    },
    onEpochEnd(_ctx, end) {
      emit({ type: 'epoch', metrics: end.metrics });
    },
  };
}

/**
 * DAD (dad.ts): per-image Dice of the trained patches every epoch, written to runDir/dad.json at the
 * end of each epoch; a cancelled epoch keeps no partial record.
 */
export function dadCallback(dad: DadRecorder, runDir: string): TrainerCallback {
  return {
    name: 'dad',
    needsPredictions: true,
    onStepEnd(_ctx, out) {
      if (out.predicted && out.reference) dad.observe(out.caseIds, out.predicted, out.reference);
    },
    async onEpochEnd(ctx) {
      dad.endEpoch(ctx.state.epoch);
      await fs.mkdir(runDir, { recursive: true });
      await writeDadFile(path.join(runDir, DAD_FILE), dad.file());
    },
    onCancel() {
      dad.discardEpoch();
    },
  };
}

export interface CheckpointWriter {
  /** Snapshot of the current weights (to keep as the best). */
  snapshotWeights(): Uint8Array;
  /** Writes the checkpoint of the current state; `best` = new best weights, or 'keep'. */
  write(best: Uint8Array | 'keep'): Promise<void>;
}

/**
 * Checkpoints: at every epoch end, on cancel, and every `everyMinutes` inside an epoch. The best
 * weights are snapshotted when an epoch improves and saved with the next checkpoint (the
 * checkpoint module keeps only the last and the best). `bestWeights()` is what the run returns.
 */
export function checkpointCallback(
  writer: CheckpointWriter,
  everyMinutes: number,
  /** A resumed run's best weights, read from the old run folder: written once into this one. */
  resumedBest: Uint8Array | null = null,
): TrainerCallback & { bestWeights(): Uint8Array | null } {
  let lastAt = performance.now();
  let best: Uint8Array | null = resumedBest;
  let dirty = resumedBest !== null;
  const write = async (): Promise<void> => {
    await writer.write(dirty && best ? best : 'keep');
    dirty = false;
    lastAt = performance.now();
  };
  return {
    name: 'checkpoint',
    bestWeights: () => best,
    async onStepEnd(ctx) {
      if (ctx.budgetReached() || ctx.state.stepInEpoch >= ctx.stepsPerEpoch) return;
      if ((performance.now() - lastAt) / 60000 >= everyMinutes) await write();
    },
    async onEpochEnd(_ctx, end) {
      if (end.improved) {
        best = writer.snapshotWeights();
        dirty = true;
      }
      await write();
    },
    onCancel: write,
  };
}

/** Stops after `patience` epochs without a better validation Dice. */
export function earlyStoppingCallback(patience: number, log: (m: string) => void): TrainerCallback {
  return {
    name: 'early-stopping',
    onEpochEnd(ctx) {
      const s = ctx.state;
      if (ctx.stopReason !== null || s.epochsWithoutImprovement < patience) return;
      ctx.stop('early-stopping');
      log(`early stopping: no better validation Dice for ${s.epochsWithoutImprovement} epochs (best ${s.bestMetric?.toFixed(4)} at epoch ${s.bestEpoch})`);
    },
  };
}

/**
 * What the worker really gets from the machine: per epoch, process CPU time / wall time (the
 * wasm pthreads are threads of this process, so 2.0 = both cores busy all epoch). Logged, so a
 * slow run on a shared machine says so.
 */
export function cpuUseCallback(threads: number, log: (m: string) => void): TrainerCallback {
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  return {
    name: 'cpu-use',
    onTrainBegin() {
      c0 = process.cpuUsage();
      t0 = performance.now();
    },
    onEpochEnd(ctx) {
      const cu = process.cpuUsage(c0);
      const wall = (performance.now() - t0) / 1000;
      const cores = (cu.user + cu.system) / 1e6 / Math.max(wall, 1e-9);
      log(`epoch ${ctx.state.epoch}: ${cores.toFixed(2)} cores busy on average (${threads} compute threads, process CPU time / wall time)`);
      c0 = process.cpuUsage();
      t0 = performance.now();
    },
  };
}
