// The loop with scripted parts: what each callback sees and decides, without a network. Shows
// that a trainer variant adds behaviour through callbacks, never by editing the loop.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runLoop, type LoopParts, type LoopState, type TrainerCallback } from './trainer-loop';
import { checkpointCallback, cpuUseCallback, earlyStoppingCallback, learningRateAt, lrScheduleCallback, progressCallback, stepBudgetFor } from './trainer-callbacks';
import type { TaskEvent } from './task-protocol';
import type { StepBatch } from './trainer-step';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const fresh = (): LoopState => ({ epoch: 0, stepInEpoch: 0, globalStep: 0, trainSeconds: 0, bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, history: [], lr: 0 });

function parts(over: Partial<LoopParts> & { dice?: (number | null)[]; losses?: number[] }): LoopParts {
  const dice = over.dice ?? [];
  let v = 0;
  let s = 0;
  return {
    state: fresh(),
    stepsPerEpoch: 3,
    epochs: 4,
    budgetSeconds: null,
    signal: new AbortController().signal,
    batchesFor: (epoch) => {
      let i = 0;
      return { next: (): StepBatch => ({ x: tf.scalar(epoch), y: tf.scalar(i++), caseIds: [`e${epoch}`] }) };
    },
    step: async (b) => {
      b.x.dispose();
      b.y.dispose();
      return { loss: over.losses?.[s++] ?? 1, caseIds: b.caseIds };
    },
    validate: async () => {
      const d = dice[v++] ?? null;
      return { valDice: [d], valMeanDice: d };
    },
    callbacks: [],
    ...over,
  };
}

describe('trainer loop from parts', () => {
  it('runs epochs x steps, records metrics per epoch, tracks the best epoch, leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const seen: string[] = [];
    const spy: TrainerCallback = {
      name: 'spy',
      onTrainBegin: () => void seen.push('begin'),
      onStepEnd: (ctx) => void seen.push(`s${ctx.state.epoch}.${ctx.state.stepInEpoch}`),
      onEpochEnd: (ctx, end) => void seen.push(`E${end.metrics.epoch}${end.improved ? '*' : ''}@${ctx.state.epoch}`),
    };
    const p = parts({ dice: [0.5, 0.7, 0.6, 0.8], losses: [3, 2, 1, 1, 1, 1, 0, 0, 0, 2, 2, 2], callbacks: [spy] });
    expect(await runLoop(p)).toBe('epochs');
    expect(seen).toEqual(['begin', 's0.1', 's0.2', 's0.3', 'E1*@1', 's1.1', 's1.2', 's1.3', 'E2*@2', 's2.1', 's2.2', 's2.3', 'E3@3', 's3.1', 's3.2', 's3.3', 'E4*@4']);
    expect(p.state.history.map((h) => h.trainLoss)).toEqual([2, 1, 0, 2]);
    expect(p.state.bestEpoch).toBe(4);
    expect(p.state.bestMetric).toBe(0.8);
    expect(p.state.globalStep).toBe(12);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('early stopping is a callback: patience 2 stops after two epochs without a better Dice', async () => {
    const logs: string[] = [];
    const p = parts({ epochs: 10, dice: [0.5, 0.7, 0.6, 0.65, 0.9], callbacks: [earlyStoppingCallback(2, (m) => logs.push(m))] });
    expect(await runLoop(p)).toBe('early-stopping');
    expect(p.state.epoch).toBe(4);
    expect(p.state.bestEpoch).toBe(2);
    expect(logs[0]).toContain('best 0.7000 at epoch 2');
  });

  it('the LR schedule callback sets the optimizer rate from the progress before every step', async () => {
    const opt = tf.train.adam(1);
    const cfg = { lr: 1e-3, warmupFraction: 0.25, minLrFraction: 0.01 };
    const rates: number[] = [];
    const probe: TrainerCallback = { name: 'probe', onStepBegin: () => void rates.push((opt as unknown as { learningRate: number }).learningRate) };
    const p = parts({ epochs: 2, stepsPerEpoch: 4, callbacks: [lrScheduleCallback(opt, (q) => learningRateAt(q, cfg)), probe] });
    await runLoop(p);
    expect(rates).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => learningRateAt(i / 8, cfg)));
    expect(rates[2]).toBeCloseTo(1e-3, 12);
    opt.dispose();
  });

  it('cancel mid-epoch: onCancel runs (checkpoint of the position reached), no validation, reason cancelled', async () => {
    const ac = new AbortController();
    const writes: string[] = [];
    let validated = 0;
    const abortAt: TrainerCallback = { name: 'abort', onStepEnd: (ctx) => void (ctx.state.globalStep === 5 && ac.abort()) };
    const ck = checkpointCallback({ snapshotWeights: () => new Uint8Array([1]), write: async (b) => void writes.push(b === 'keep' ? 'keep' : 'best') }, 60);
    const p = parts({ signal: ac.signal, dice: [0.5], callbacks: [abortAt, ck], validate: async () => (validated++, { valDice: [0.5], valMeanDice: 0.5 }) });
    expect(await runLoop(p)).toBe('cancelled');
    expect(validated).toBe(1);
    expect([p.state.epoch, p.state.stepInEpoch, p.state.globalStep]).toEqual([1, 2, 5]);
    // epoch 1 improved -> its best weights went out with the epoch-end checkpoint; the cancel one keeps them.
    expect(writes).toEqual(['best', 'keep']);
    expect(ck.bestWeights()).toEqual(new Uint8Array([1]));
  });

  it('a non-finite loss stops the run with TRAINING_FAILED naming the step', async () => {
    const p = parts({ losses: [1, NaN] });
    await expect(runLoop(p)).rejects.toMatchObject({ code: 'TRAINING_FAILED', message: expect.stringContaining('step 2') });
  });

  it('a resumed state replays the batches already done in its epoch and continues', async () => {
    const got: string[] = [];
    const p = parts({ epochs: 2, step: async (b) => (got.push(`${b.x.dataSync()[0]}:${b.y.dataSync()[0]}`), b.x.dispose(), b.y.dispose(), { loss: 1, caseIds: [] }) });
    Object.assign(p.state, { epoch: 1, stepInEpoch: 1, globalStep: 4 });
    await runLoop(p);
    expect(got).toEqual(['1:1', '1:2']);
    expect(p.state.globalStep).toBe(6);
  });

  it('the CPU-use callback reports per epoch how many cores the process really kept busy', async () => {
    const logs: string[] = [];
    const busy = async (b: StepBatch): Promise<{ loss: number; caseIds: string[] }> => {
      b.x.dispose();
      b.y.dispose();
      const t = performance.now();
      let z = 0;
      while (performance.now() - t < 30) z += Math.sqrt(z + 1);
      return { loss: z > 0 ? 1 : 0, caseIds: [] };
    };
    await runLoop(parts({ epochs: 2, step: busy, callbacks: [cpuUseCallback(2, (m) => logs.push(m))] }));
    expect(logs).toHaveLength(2);
    const cores = logs.map((m) => Number(/: ([\d.]+) cores busy/.exec(m)?.[1]));
    expect(logs[0]).toMatch(/^epoch 1: [\d.]+ cores busy on average \(2 compute threads/);
    // A spinning step burns CPU time however loaded the machine is (NaN or 0 would fail).
    for (const c of cores) expect(c).toBeGreaterThan(0);
  });
});

describe('the first step is visible (issue 17)', () => {
  const progressOf = (events: TaskEvent[]): Extract<TaskEvent, { type: 'progress' }>[] => events.filter((e): e is Extract<TaskEvent, { type: 'progress' }> => e.type === 'progress');

  it('emits progress from the first step on: step count, measured step time, time left in the first epoch, an ETA', async () => {
    const events: TaskEvent[] = [];
    const logs: string[] = [];
    const p = parts({ epochs: 20, stepsPerEpoch: 5 });
    p.callbacks = [progressCallback((e) => events.push(e), 1000, { estimatedSeconds: 1000, suggestions: () => ['x'] }, (m) => logs.push(m))];
    await runLoop({ ...p, epochs: 2 });
    const prog = progressOf(events);
    // Before the first epoch ends: one line per step of epoch 1, the first at step 1.
    const firstEpochEnd = events.findIndex((e) => e.type === 'epoch');
    const before = prog.filter((e) => events.indexOf(e) < firstEpochEnd);
    expect(before.map((e) => /step (\d+)\/5/.exec(e.message)?.[1])).toEqual(['1', '2', '3', '4', '5']);
    expect(before[0].message).toMatch(/^epoch 1\/2 step 1\/5 loss [0-9.]+ · [0-9.]+ m?s\/step \(plan ~1000 s\) · epoch 1 steps done in ~[0-9.]+ m?s$/);
    expect(before[0].etaSeconds).not.toBeNull();
    // A fast step raises no warning.
    expect(logs).toEqual([]);
    expect(prog.some((e) => e.message.includes('⚠'))).toBe(false);
  });

  it('a step far above the estimate is reported once during the first epoch, with the suggestions', async () => {
    const events: TaskEvent[] = [];
    const logs: { m: string; level: string }[] = [];
    const p = parts({ epochs: 2, stepsPerEpoch: 4 });
    const slowStep = p.step;
    // Any real step is > 5x an estimate of a nanosecond: the outcome does not depend on the clock.
    p.step = async (b, o) => {
      await new Promise((r) => setTimeout(r, 5));
      return slowStep(b, o);
    };
    p.callbacks = [progressCallback((e) => events.push(e), 1000, { estimatedSeconds: 1e-9, suggestions: () => ['a smaller batch: --batch-size 2', 'a smaller patch: --patch 64,64'] }, (m, level) => logs.push({ m, level }))];
    await runLoop(p);
    expect(logs.length).toBe(1);
    expect(logs[0].level).toBe('warn');
    expect(logs[0].m).toMatch(/^slow training steps: the first step took .*x the plan's estimate of .* To train faster, try a smaller batch: --batch-size 2; or a smaller patch: --patch 64,64\.$/);
    const prog = progressOf(events);
    const firstEpochEnd = events.findIndex((e) => e.type === 'epoch');
    const inFirst = prog.filter((e) => events.indexOf(e) < firstEpochEnd);
    expect(inFirst.every((e) => e.message.includes('⚠ steps') && e.message.includes('try a smaller batch: --batch-size 2'))).toBe(true);
    // After the first epoch the warning has been said; the lines are plain again.
    expect(prog.filter((e) => events.indexOf(e) > firstEpochEnd).every((e) => !e.message.includes('⚠'))).toBe(true);
  });

  it("stepBudgetFor: the plan's estimate, and suggestions that shrink the step by the ratio", () => {
    const b = stepBudgetFor({ dims: 2, patchSize: [224, 144], batchSize: 16, baseWidth: 16, depth: 5, threads: 2, targetSpacing: [0.4, 0.4, 1], gpu: false });
    expect(b.estimatedSeconds).toBeCloseTo(16 * 224 * 144 * 15.2e-6 * (5 / 4), 6);
    expect(b.suggestions(4)).toEqual([
      'a smaller batch: --batch-size 4',
      'a smaller patch: --patch 112,64',
      `a coarser resolution: --config '{"targetSpacing":[0.8,0.8,1]}'`,
    ]);
    expect(stepBudgetFor({ dims: 3, patchSize: [40, 56, 40], batchSize: 2, baseWidth: 16, depth: 4, threads: 2, targetSpacing: [1, 1, 1], gpu: true }).estimatedSeconds).toBeNull();
  });
});
