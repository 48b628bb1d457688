import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createModel } from '../models';
import type { Grid } from '../data/layout';
import { createRng } from '../data/prng';
import { argmaxLabels, flipProbMap, gaussianImportance, slidingWindowProbabilities, tileStarts, type ForwardFn } from './sliding-window';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomGrid(shape: [number, number, number], seed: number): Grid {
  const rng = createRng(seed);
  return { shape, data: Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.normal()) };
}

/** Direct forward pass of the whole grid as one batch: [1, Z, Y, X, C] (3D) or Z slices (2D). */
function direct(forward: ForwardFn, g: Grid, dims: 2 | 3): Float32Array {
  const [X, Y, Z] = g.shape;
  const x = dims === 3 ? tf.tensor(g.data, [1, Z, Y, X, 1]) : tf.tensor(g.data, [Z, Y, X, 1]);
  const p = tf.tidy(() => tf.softmax(forward(x), -1));
  x.dispose();
  const out = p.dataSync() as Float32Array;
  p.dispose();
  return Float32Array.from(out);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('gaussian importance and tiling', () => {
  it('is 1 at the centre, symmetric, positive everywhere', () => {
    const g = gaussianImportance([9, 7, 5]);
    const at = (i: number, j: number, k: number): number => g[i + 9 * (j + 7 * k)];
    expect(at(4, 3, 2)).toBe(1);
    expect(at(0, 3, 2)).toBeCloseTo(at(8, 3, 2), 6);
    expect(Math.min(...g)).toBeGreaterThan(0);
  });

  it('places tiles from 0 to size - patch with at least the requested overlap', () => {
    expect(tileStarts(40, 48, 0.5)).toEqual([0]);
    expect(tileStarts(48, 48, 0.5)).toEqual([0]);
    const t = tileStarts(100, 32, 0.5);
    expect(t[0]).toBe(0);
    expect(t[t.length - 1]).toBe(68);
    for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBeLessThanOrEqual(16);
  });
});

describe('sliding-window inference', () => {
  it('equals a direct forward pass of a 3D U-Net when the window covers the volume', () => {
    const { model } = createModel('unet3d', { depth: 2, baseWidth: 4, numClasses: 3 });
    const fwd: ForwardFn = (x) => model.predict(x) as tf.Tensor;
    const g = randomGrid([8, 12, 4], 1);
    const sw = slidingWindowProbabilities(fwd, [g], { dims: 3, patchSize: [8, 12, 4], numClasses: 3 });
    expect(sw.shape).toEqual([8, 12, 4]);
    expect(maxAbsDiff(sw.data, direct(fwd, g, 3))).toBeLessThan(1e-5);
    model.dispose();
  });

  it('equals a direct slice-by-slice pass of a 2D U-Net (window covers each slice), several slices per batch', () => {
    const { model } = createModel('unet2d', { depth: 3, baseWidth: 4, numClasses: 3 });
    const fwd: ForwardFn = (x) => model.predict(x) as tf.Tensor;
    const g = randomGrid([16, 8, 5], 2);
    const sw = slidingWindowProbabilities(fwd, [g], { dims: 2, patchSize: [16, 8], numClasses: 3, batchSize: 2 });
    expect(maxAbsDiff(sw.data, direct(fwd, g, 2))).toBeLessThan(1e-5);
    model.dispose();
  });

  it('blends overlapping tiles of a position-independent (1x1) model back to the direct result', () => {
    // A pointwise model gives every tile identical values at a voxel, so any correct weighted
    // average must reproduce them; a misplaced tile or weight would not.
    const { model } = createModel('unet3d', { depth: 2, baseWidth: 2, numClasses: 2 });
    const w = tf.randomNormal([1, 1, 1, 1, 3], 0, 1, 'float32', 7);
    const fwd: ForwardFn = (x) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same');
    const g = randomGrid([21, 17, 11], 3);
    const sw = slidingWindowProbabilities(fwd, [g], { dims: 3, patchSize: [8, 8, 4], numClasses: 3 });
    expect(maxAbsDiff(sw.data, direct(fwd, g, 3))).toBeLessThan(1e-5);
    w.dispose();
    model.dispose();
  });

  it('pads an image smaller than the patch and returns the image grid', () => {
    const w = tf.randomNormal([1, 1, 1, 2], 0, 1, 'float32', 9);
    const fwd: ForwardFn = (x) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    const g = randomGrid([5, 7, 3], 4);
    const sw = slidingWindowProbabilities(fwd, [g], { dims: 2, patchSize: [16, 16], numClasses: 2 });
    expect(sw.shape).toEqual([5, 7, 3]);
    expect(maxAbsDiff(sw.data, direct(fwd, g, 2))).toBeLessThan(1e-5);
    w.dispose();
  });

  it('rejects a patch that does not fit the model dimensionality', () => {
    const g = randomGrid([4, 4, 4], 5);
    expect(() => slidingWindowProbabilities((x) => x, [g], { dims: 3, patchSize: [4, 4], numClasses: 1 })).toThrow(/Patch size/);
  });

  it('argmax and flips of probability maps', () => {
    const p = { shape: [2, 1, 1] as [number, number, number], numClasses: 2, data: Float32Array.from([0.9, 0.1, 0.2, 0.8]) };
    expect([...argmaxLabels(p)]).toEqual([0, 1]);
    expect([...flipProbMap(p, 0).data].map((v) => +v.toFixed(2))).toEqual([0.2, 0.8, 0.9, 0.1]);
  });
});
