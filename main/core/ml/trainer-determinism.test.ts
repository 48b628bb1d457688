// Seeded training: the same seed gives the same initial weights, the same first loss and, after
// one epoch on real hippocampus images, the same weights bit for bit; another seed does not.
import os from 'node:os';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendReport } from './backend';
import { createModel } from './models';
import { runTraining, type TrainResult } from './trainer';

const DEMO = path.resolve('resources/demo');
const IDS = ['014', '070', '098'];
let report: BackendReport;
const dirs: string[] = [];

beforeAll(async () => {
  report = await initBackend();
});
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function weightsOf(seed: number): Float32Array[] {
  const { model } = createModel('unet3d', { depth: 2, baseWidth: 4, numClasses: 3 }, { seed });
  const out = model.weights.map((w) => w.read().dataSync() as Float32Array);
  model.dispose();
  return out;
}

async function trainOnce(seed: number): Promise<TrainResult & { stepLosses: number[] }> {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-determinism-'));
  dirs.push(runDir);
  const cases = IDS.map((id) => ({
    id, patientId: `p${id}`, imagePath: path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`), labelPath: path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`),
  }));
  const config = {
    architecture: 'unet2d', model: { depth: 2, baseWidth: 4 }, numClasses: 3, patchSize: [48, 64], batchSize: 4, epochs: 1, stepsPerEpoch: 3,
    valFraction: 0.3, maxValCases: 1, seed, targetSpacing: [1, 1, 1],
  };
  // A trainer extension (an extra callback): the loss of every step.
  const stepLosses: number[] = [];
  const r = await runTraining({ runDir, cases, config }, { signal: new AbortController().signal, emit: () => undefined }, {
    callbacks: [{ name: 'losses', onStepEnd: (_ctx, out) => void stepLosses.push(out.loss) }],
  });
  return { ...r, stepLosses };
}

describe('seeded weights and deterministic training', () => {
  it('same seed -> same initial weights; another seed -> other weights', () => {
    const a = weightsOf(7);
    const b = weightsOf(7);
    const c = weightsOf(8);
    expect(a.length).toBeGreaterThan(4);
    a.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(b[i].buffer))).toBe(true));
    // Every conv kernel differs with another seed (biases/norms are constants in both).
    const kernels = a.map((w, i) => [w, c[i]] as const).filter(([w]) => w.some((v) => v !== 0 && v !== 1));
    expect(kernels.length).toBeGreaterThan(0);
    for (const [w, v] of kernels) expect(Buffer.from(w.buffer).equals(Buffer.from(v.buffer))).toBe(false);
  });

  it('two 1-epoch runs with the same seed give the same first loss, losses and weights', async () => {
    const before = tf.memory().numTensors;
    const r1 = await trainOnce(42);
    const r2 = await trainOnce(42);
    const r3 = await trainOnce(43);
    console.log(`determinism on ${report.name}, ${report.threads} thread(s): sha ${r1.weightsSha256.slice(0, 12)} = ${r2.weightsSha256.slice(0, 12)}, seed 43 ${r3.weightsSha256.slice(0, 12)}`);
    expect(r1.steps).toBe(3);
    expect(r1.stepLosses).toHaveLength(3);
    expect(r1.stepLosses).toEqual(r2.stepLosses);
    expect(r3.stepLosses[0]).not.toBe(r1.stepLosses[0]);
    expect(r1.history[0].valMeanDice).toBe(r2.history[0].valMeanDice);
    expect(r1.weightsSha256).toBe(r2.weightsSha256);
    expect(r3.weightsSha256).not.toBe(r1.weightsSha256);
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);
});
