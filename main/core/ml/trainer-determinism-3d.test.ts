// Seeded training of the 3D U-Net (the default plan's architecture for isotropic data such as the
// hippocampus set) on real demo images: two 1-epoch runs with the same seed give bit-identical
// weights (sha256 of the saved file) and losses, both with the native conv3d addon
// (native/conv3d: OpenBLAS sgemm on our own threads, `npm run build:native`) and with it switched
// off (tfjs-wasm with our folded kernels); another seed gives other weights.
//
// Why the native path can be bit-exact although it is multithreaded: its forward pass and input
// gradient write disjoint output rows per tile (the tiling depends on the geometry only), and the
// filter gradient sums each thread's statically assigned tiles and then adds the partial sums in
// thread order. So a given thread count (SEGLOOP_NATIVE_THREADS, default the wasm backend's) always
// gives the same bits; the filter gradient's rounding does depend on that count.
import { createHash } from 'node:crypto';
import os from 'node:os';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendReport } from './backend';
import { NATIVE_ADDON_RELATIVE, loadNativeConv, setNativeConvEnabled } from './kernels/native-conv3d';
import { runTraining, type TrainResult } from './trainer';

const DEMO = path.resolve('resources/demo');
const IDS = ['014', '070', '098'];
const built = existsSync(path.resolve(__dirname, '../../..', NATIVE_ADDON_RELATIVE));
const disabledByEnv = process.env.SEGLOOP_NATIVE_CONV === '0';
const NATIVE_SKIP = disabledByEnv
  ? ' (SKIPPED: SEGLOOP_NATIVE_CONV=0)'
  : ' (SKIPPED: native addon not built — run `npm run build:native`, needs g++ and libopenblas-dev)';
// Six small trainings on a loaded 2-core CI machine; no assertion on time.
const T = 900_000;

let report: BackendReport;
const dirs: string[] = [];

beforeAll(async () => {
  report = await initBackend();
}, T);
afterAll(async () => {
  setNativeConvEnabled(true);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

interface Run extends TrainResult {
  stepLosses: number[];
}

async function trainOnce(seed: number): Promise<Run> {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-determinism-3d-'));
  dirs.push(runDir);
  const cases = IDS.map((id) => ({
    id, patientId: `p${id}`, imagePath: path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`), labelPath: path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`),
  }));
  // The shipping layer kinds (3x3x3 convs, instance norm, max-pool, 2x2x2 transposed convs, skip
  // concatenation) at a small width and patch, so that six runs stay quick.
  const config = {
    architecture: 'unet3d', model: { depth: 3, baseWidth: 4, norm: 'instance' }, numClasses: 3, patchSize: [24, 32, 24], batchSize: 2, epochs: 1, stepsPerEpoch: 2,
    valFraction: 0.3, maxValCases: 1, seed, targetSpacing: [1, 1, 1],
  };
  const stepLosses: number[] = [];
  const r = await runTraining({ runDir, cases, config }, { signal: new AbortController().signal, emit: () => undefined }, {
    callbacks: [{ name: 'losses', onStepEnd: (_ctx, out) => void stepLosses.push(out.loss) }],
  });
  // The sha the trainer reports is that of the file it saved.
  expect(createHash('sha256').update(await fs.readFile(r.weightsFile)).digest('hex')).toBe(r.weightsSha256);
  return { ...r, stepLosses };
}

function expectSameRun(a: Run, b: Run): void {
  expect(a.steps).toBe(2);
  expect(a.stepLosses).toHaveLength(2);
  expect(b.stepLosses).toEqual(a.stepLosses);
  expect(b.history[0].trainLoss).toBe(a.history[0].trainLoss);
  expect(b.history[0].valMeanDice).toBe(a.history[0].valMeanDice);
  expect(b.weightsSha256).toBe(a.weightsSha256);
}

describe('deterministic 3D U-Net training (unet3d, 1 epoch, real hippocampus images)', () => {
  let wasm: Run;

  it('without the native addon (tfjs-wasm kernels): same seed -> same losses and weights; another seed -> other weights', async () => {
    setNativeConvEnabled(false);
    try {
      const before = tf.memory().numTensors;
      const a = await trainOnce(42);
      const b = await trainOnce(42);
      const c = await trainOnce(43);
      console.log(`unet3d determinism without the addon on ${report.name}, ${report.threads} thread(s): sha ${a.weightsSha256.slice(0, 12)} = ${b.weightsSha256.slice(0, 12)}, seed 43 ${c.weightsSha256.slice(0, 12)}`);
      expectSameRun(a, b);
      expect(c.stepLosses[0]).not.toBe(a.stepLosses[0]);
      expect(c.weightsSha256).not.toBe(a.weightsSha256);
      expect(tf.memory().numTensors).toBe(before);
      wasm = a;
    } finally {
      setNativeConvEnabled(true);
    }
  }, T);

  it.skipIf(!built || disabledByEnv)(`with the native conv3d addon: same seed -> same losses and weights; another seed -> other weights${built && !disabledByEnv ? '' : NATIVE_SKIP}`, async () => {
    const s = loadNativeConv();
    expect(s.loaded).toBe(true);
    setNativeConvEnabled(true);
    const before = tf.memory().numTensors;
    const a = await trainOnce(42);
    const b = await trainOnce(42);
    const c = await trainOnce(43);
    console.log(`unet3d determinism with ${s.reason}, ${report.threads} wasm thread(s): sha ${a.weightsSha256.slice(0, 12)} = ${b.weightsSha256.slice(0, 12)}, seed 43 ${c.weightsSha256.slice(0, 12)}`);
    expectSameRun(a, b);
    expect(c.stepLosses[0]).not.toBe(a.stepLosses[0]);
    expect(c.weightsSha256).not.toBe(a.weightsSha256);
    // The addon really computed these runs: its sums run in another order than the wasm kernels',
    // so the same seed ends in other bits (were they equal, the runs above would not have used it).
    expect(wasm).toBeDefined();
    expect(a.weightsSha256).not.toBe(wasm.weightsSha256);
    expect(tf.memory().numTensors).toBe(before);
  }, T);
});
