// The trainer's standard callbacks (hooks of trainer-loop.ts). Order matters where one reads what
// another writes; runTraining assembles them as: LR schedule, progress, DAD tracking, checkpoint,
// early stopping.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { TaskEvent } from './task-protocol';
import type { LoopContext, TrainerCallback } from './trainer-loop';
import { writeDadFile, DAD_FILE, type DadRecorder } from './dad';
import { estimateStepSeconds, type StepShape } from './plan';

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

/**
 * What a step should cost, and what to say when it costs far more. The estimate is the plan's cost
 * model (plan.ts estimateStepSeconds: the voxel budgets are time budgets); null = no estimate (GPU).
 */
export interface StepBudget {
  estimatedSeconds: number | null;
  /** Compute threads of the backend (default 2). */
  threads?: number;
  /** Concrete ways to make a step `ratio` times cheaper, e.g. "--batch-size 2". */
  suggestions(ratio: number): string[];
}

/** The plan's step shape plus what the suggestions need. */
export interface StepShapeForAdvice extends StepShape {
  targetSpacing: readonly number[];
  gpu: boolean;
}

/** The trainer's step budget: the plan's estimate for this shape, and CLI-ready suggestions. */
export function stepBudgetFor(s: StepShapeForAdvice): StepBudget {
  const div = 2 ** (s.depth - 1);
  return {
    estimatedSeconds: s.gpu ? null : estimateStepSeconds(s),
    threads: s.threads,
    suggestions(ratio) {
      const out: string[] = [];
      if (s.batchSize > 2) out.push(`a smaller batch: --batch-size ${Math.max(2, Math.floor(s.batchSize / ratio))}`);
      const shrink = Math.sqrt(ratio) ** (2 / s.dims);
      const patch = s.patchSize.map((p) => Math.max(div * 2, Math.floor(p / shrink / div) * div));
      if (patch.some((p, a) => p < s.patchSize[a])) out.push(`a smaller patch: --patch ${patch.join(',')}`);
      const inPlane = s.dims === 2 ? 2 : 3;
      const coarser = s.targetSpacing.map((t, a) => (a < inPlane ? t * shrink : t));
      out.push(`a coarser resolution: --config '{"targetSpacing":[${coarser.map((t) => Number(t.toPrecision(3))).join(',')}]}'`);
      return out;
    },
  };
}

/**
 * Cores our wasm worker keeps busy on a quiet 2-core machine (bench:train, docs/ml-results.md): a
 * step's process CPU time over this is what the step would take on a quiet machine.
 */
export const QUIET_CORES_USED = 1.4;
/** A step this many times the estimate (median of the first steps) is reported. */
export const SLOW_STEP_RATIO = 2.5;
/** The very first step also builds kernels and graphs: it is allowed more before it alone is reported. */
export const SLOW_FIRST_STEP_RATIO = 5;

const threadsOf = (b: StepBudget): number => b.threads ?? 2;
const fmtS = (s: number): string => (s >= 10 ? `${s.toFixed(0)} s` : s >= 0.1 ? `${s.toFixed(2)} s` : `${Number((s * 1000).toPrecision(2))} ms`);
const medianOf = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Progress events: every step for the first steps of the run (so the first step is visible at
 * once, with its measured time and the first epoch's ETA), then at most every `everyMs`; plus the
 * epoch line, which the loop emits through onEpochEnd. During the first epoch, a step far above
 * the plan's estimate is reported once as a warning with suggestions (log, and a `⚠` part of the
 * progress message that the Training screen keeps in view).
 */
export function progressCallback(emit: (e: TaskEvent) => void, everyMs = 1000, budget: StepBudget | null = null, log?: (m: string, level: 'info' | 'warn') => void): TrainerCallback {
  let last = 0;
  let lossSum = 0;
  let lossN = 0;
  let stepStart = 0;
  let firstEpoch = -1;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let cpuStart = process.cpuUsage();
  let warning: string | null = null;
  let warned = false;
  const checkSlow = (): void => {
    const est = budget?.estimatedSeconds;
    if (warned || !est || !budget) return;
    const n = times.length;
    // Step 1 alone (it includes warm-up), then the median of steps 2..4 once there are two of them.
    const measured = n === 1 ? times[0] : n >= 3 ? medianOf(times.slice(1, 4)) : null;
    const cpu = n === 1 ? cpuTimes[0] : medianOf(cpuTimes.slice(1, 4));
    const limit = n === 1 ? SLOW_FIRST_STEP_RATIO : SLOW_STEP_RATIO;
    if (measured === null || measured / est < limit) return;
    warned = true;
    const ratio = measured / est;
    const [load] = os.loadavg();
    const cores = os.cpus().length;
    // On a shared machine the wall time says little about the plan: the CPU time the step used does.
    const quiet = cpu / Math.min(QUIET_CORES_USED, Math.max(1, threadsOf(budget)));
    const busy = load > cores;
    const busyNote = busy
      ? ` The machine is busy (load average ${load.toFixed(1)} on ${cores} cores; this process got ${(cpu / measured).toFixed(2)} cores): other work slows every step; on a quiet machine ${n === 1 ? 'it' : 'they'} would take ~${fmtS(quiet)}.`
      : '';
    const tipRatio = Math.min(16, busy ? Math.max(2, quiet / est) : ratio);
    const tips = budget.suggestions(tipRatio);
    log?.(
      `slow training steps: ${n === 1 ? 'the first step took' : 'steps take'} ${fmtS(measured)}, ${ratio.toFixed(1)}x the plan's estimate of ${fmtS(est)}.` +
        `${busyNote} To train faster, try ${tips.join('; or ')}.`,
      'warn',
    );
    warning = `⚠ steps ${ratio.toFixed(1)}x slower than planned (${fmtS(est)}): try ${tips[0]}`;
  };
  return {
    name: 'progress',
    onTrainBegin(ctx) {
      firstEpoch = ctx.state.epoch;
    },
    onStepBegin() {
      stepStart = performance.now();
      cpuStart = process.cpuUsage();
    },
    onStepEnd(ctx, out) {
      const stepSeconds = (performance.now() - stepStart) / 1000;
      const cu = process.cpuUsage(cpuStart);
      times.push(stepSeconds);
      cpuTimes.push((cu.user + cu.system) / 1e6);
      if (ctx.state.stepInEpoch === 1) {
        lossSum = 0;
        lossN = 0;
      }
      lossSum += out.loss;
      lossN++;
      const s = ctx.state;
      const inFirst = s.epoch === firstEpoch;
      if (inFirst) checkSlow();
      const now = performance.now();
      if (times.length > 10 && now - last <= everyMs) return;
      last = now;
      const recent = times.slice(-5);
      const perStep = recent.reduce((a, b) => a + b, 0) / recent.length;
      const parts = [`epoch ${s.epoch + 1}${ctx.epochs ? `/${ctx.epochs}` : ''} step ${s.stepInEpoch}/${ctx.stepsPerEpoch} loss ${(lossSum / lossN).toFixed(4)}`];
      parts.push(`${fmtS(stepSeconds)}/step${inFirst && budget?.estimatedSeconds ? ` (plan ~${fmtS(budget.estimatedSeconds)})` : ''}`);
      if (inFirst && s.stepInEpoch < ctx.stepsPerEpoch) parts.push(`epoch ${s.epoch + 1} steps done in ~${fmtS(perStep * (ctx.stepsPerEpoch - s.stepInEpoch))}`);
      if (inFirst && warning) parts.push(warning);
      emit({ type: 'progress', fraction: ctx.progress(), etaSeconds: ctx.eta(), message: parts.join(' · ') });
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
