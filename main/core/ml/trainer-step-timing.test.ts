// The step-timing callback through the real loop with scripted steps and a scripted clock: what it
// records (median of steps 2..N, mean, first step, cores used) is computed here independently
// from the scripted durations, never from the callback's own output.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runLoop, type LoopParts, type LoopState } from './trainer-loop';
import { describeStepTiming, StepTiming, stepTimingCallback, type TimedStep } from './trainer-callbacks';
import type { StepBatch } from './trainer-step';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const fresh = (): LoopState => ({ epoch: 0, stepInEpoch: 0, globalStep: 0, trainSeconds: 0, bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, history: [], lr: 0 });
const STEP: TimedStep = { dims: 3, patchSize: [40, 56, 40], batchSize: 2, baseWidth: 16, depth: 4, threads: 2, backend: 'wasm', nativeConv: true };

/** A loop whose step i takes durations[i] seconds on the scripted clock and uses `cores` of CPU meanwhile. */
function scripted(durations: number[], cores: number, over: Partial<LoopParts> = {}): { parts: LoopParts; clock: { now(): number; cpuSeconds(): number } } {
  let ms = 0;
  let cpu = 0;
  let i = 0;
  const clock = { now: () => ms, cpuSeconds: () => cpu };
  const parts: LoopParts = {
    state: fresh(),
    stepsPerEpoch: 5,
    epochs: 2,
    budgetSeconds: null,
    signal: new AbortController().signal,
    batchesFor: () => ({ next: (): StepBatch => ({ x: tf.scalar(0), y: tf.scalar(0), caseIds: ['a'] }) }),
    step: async (b) => {
      b.x.dispose();
      b.y.dispose();
      const d = durations[i++] ?? 1;
      ms += d * 1000;
      cpu += d * cores;
      return { loss: 1, caseIds: b.caseIds };
    },
    validate: async () => ({ valDice: [0.5], valMeanDice: 0.5 }),
    callbacks: [],
    ...over,
  };
  return { parts, clock };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe('step timing callback', () => {
  it('records the first epoch once: median of steps 2..N, mean of all, first step, cores used', async () => {
    const durations = [3.1, 0.62, 0.7, 0.58, 0.66, 9, 9, 9, 9, 9];
    const { parts, clock } = scripted(durations, 1.5);
    const got: StepTiming[] = [];
    parts.callbacks = [stepTimingCallback(STEP, async (t) => void got.push(t), clock)];
    await runLoop(parts);
    expect(got).toHaveLength(1); // epoch 2's slow steps are not recorded
    const t = StepTiming.parse(got[0]);
    const first = durations.slice(0, 5);
    expect(t).toMatchObject({ epoch: 1, steps: 5, dims: 3, patchSize: [40, 56, 40], batchSize: 2, baseWidth: 16, depth: 4, threads: 2, backend: 'wasm', nativeConv: true });
    expect(t.firstStepSeconds).toBeCloseTo(3.1, 9);
    expect(t.medianStepSeconds).toBeCloseTo(median(first.slice(1)), 9);
    expect(t.meanStepSeconds).toBeCloseTo(first.reduce((a, b) => a + b, 0) / first.length, 9);
    expect(t.coresUsed).toBeCloseTo(1.5, 9);
    expect(t.cores).toBeGreaterThanOrEqual(1);
    expect(t.machine.length).toBeGreaterThan(0);
    expect(describeStepTiming(t)).toMatch(/^measured: 0\.64 s per step \(median of steps 2-5 of epoch 1; epoch mean 1\.13 s, first step 3\.10 s\) of 2 x 40x56x40, width 16, depth 4; 2 threads, wasm, native convolutions; 1\.50 cores busy/);
  });

  it('a resumed run measures the epoch it resumes in; a cancel after 3 steps records them, before that nothing', async () => {
    const resumed = scripted([2, 1, 1.2, 1.1], 1);
    resumed.parts.state = { ...fresh(), epoch: 3, stepInEpoch: 1, globalStep: 16 };
    resumed.parts.epochs = 4;
    const got: StepTiming[] = [];
    resumed.parts.callbacks = [stepTimingCallback(STEP, async (t) => void got.push(t), resumed.clock)];
    await runLoop(resumed.parts);
    expect(got.map((t) => [t.epoch, t.steps])).toEqual([[4, 4]]);
    expect(got[0].medianStepSeconds).toBeCloseTo(median([1, 1.2, 1.1]), 9);

    for (const [steps, expected] of [[2, 0], [3, 1]] as const) {
      const ac = new AbortController();
      const c = scripted([1, 1, 1, 1, 1], 1, { signal: ac.signal });
      let n = 0;
      const out: StepTiming[] = [];
      c.parts.callbacks = [
        stepTimingCallback(STEP, async (t) => void out.push(t), c.clock),
        { name: 'cancel', onStepEnd: () => void (++n === steps && ac.abort()) },
      ];
      expect(await runLoop(c.parts)).toBe('cancelled');
      expect(out).toHaveLength(expected);
      if (expected) expect(out[0]).toMatchObject({ epoch: 1, steps: 3 });
    }
  });

  it('the file format is strict: an unknown key or a bad number is refused', () => {
    const ok = { epoch: 1, dims: 2, patchSize: [48, 64], batchSize: 16, baseWidth: 16, depth: 4, threads: 2, backend: 'wasm', nativeConv: true, steps: 50,
      firstStepSeconds: 2, medianStepSeconds: 0.6, meanStepSeconds: 0.7, coresUsed: 1.4, loadAverage: 0.5, cores: 2, machine: 'cpu x 2' };
    expect(StepTiming.parse(ok)).toEqual(ok);
    expect(StepTiming.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(StepTiming.safeParse({ ...ok, medianStepSeconds: 0 }).success).toBe(false);
    expect(StepTiming.safeParse({ ...ok, dims: 4 }).success).toBe(false);
  });
});
