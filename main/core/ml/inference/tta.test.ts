import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Grid } from '../data/layout';
import { slidingWindowProbabilities, type ForwardFn } from './sliding-window';
import { ensemblePredict, flipSets, meanEntropy, predictFlipped, ProbAccumulator } from './tta';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A non-symmetric image: a bright blob in one corner plus a gradient along X and Y.
function asymmetric(shape: [number, number, number]): Grid {
  const [X, Y, Z] = shape;
  const data = new Float32Array(X * Y * Z);
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    data[i + X * (j + Y * k)] = 0.3 * i - 0.2 * j + 0.1 * k + (i < 3 && j < 2 ? 4 : 0);
  }
  return { shape, data };
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe('test-time flips', () => {
  it('enumerates all flip combinations: 4 for 2D (X, Y), 8 for 3D', () => {
    expect(flipSets(2).map((s) => s.join(''))).toEqual(['', '0', '1', '01']);
    expect(flipSets(3)).toHaveLength(8);
  });

  it('flip -> predict -> unflip: a pointwise model gives exactly the plain prediction and zero variance', () => {
    const g = asymmetric([7, 5, 4]);
    const w = tf.tensor4d([[[[0, 1.5]]]]); // class 1 logit = 1.5 * x
    const fwd: ForwardFn = (x) => tf.conv2d(x as tf.Tensor4D, w, 1, 'same');
    const opts = { dims: 2 as const, patchSize: [8, 8], numClasses: 2 };
    const plain = slidingWindowProbabilities(fwd, [g], opts);
    const tta = ensemblePredict([{ forward: fwd, opts }], [g], true);
    expect(tta.members).toBe(4);
    for (let i = 0; i < plain.data.length; i++) expect(tta.mean.data[i]).toBeCloseTo(plain.data[i], 6);
    expect(Math.max(...(tta.variance as Float32Array))).toBeLessThan(1e-10);
    w.dispose();
  });

  it('maps each flipped prediction back to the right voxel (position-dependent model, checked by hand)', () => {
    // Logit of class 1 = x + a * (tile X coordinate): the model is NOT flip-equivariant, so the
    // member for "flip X" at voxel i must be sigmoid(x[i] + a * (X - 1 - i)).
    const X = 6, Y = 3, Z = 2, a = 0.7;
    const g = asymmetric([X, Y, Z]);
    const fwd: ForwardFn = (x) =>
      tf.tidy(() => {
        const ramp = tf.mul(tf.reshape(tf.range(0, 8, 1, 'float32'), [1, 1, 8, 1]), a);
        const l1 = tf.add(x, ramp);
        return tf.concat([tf.zerosLike(l1), l1], -1);
      });
    const opts = { dims: 2 as const, patchSize: [8, 8], numClasses: 2, gaussian: false };
    const fx = predictFlipped(fwd, [g], opts, [0]);
    const fy = predictFlipped(fwd, [g], opts, [1]);
    for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
      const v = i + X * (j + Y * k);
      // the padded tile is 8 wide with the image centred at offset 1
      expect(fx.data[v * 2 + 1]).toBeCloseTo(sigmoid(g.data[v] + a * (1 + X - 1 - i)), 5);
      expect(fy.data[v * 2 + 1]).toBeCloseTo(sigmoid(g.data[v] + a * (1 + i)), 5);
    }
    const ens = ensemblePredict([{ forward: fwd, opts }], [g], true);
    const v0 = 0; // voxel (0,0,0): members flip X or not
    const m1 = sigmoid(g.data[v0] + a * 1);
    const m2 = sigmoid(g.data[v0] + a * (1 + X - 1));
    expect(ens.mean.data[v0 * 2 + 1]).toBeCloseTo((m1 + m2) / 2, 5);
    // variance over the 4 members (two values, each twice), averaged over the 2 classes
    const mean = (m1 + m2) / 2;
    expect((ens.variance as Float32Array)[v0]).toBeCloseTo(((m1 - mean) ** 2 + (m2 - mean) ** 2) / 2, 6);
  });

  it('averages an ensemble of models and reports entropy', () => {
    const acc = new ProbAccumulator();
    acc.add({ shape: [1, 1, 1], numClasses: 2, data: Float32Array.from([1, 0]) });
    acc.add({ shape: [1, 1, 1], numClasses: 2, data: Float32Array.from([0, 1]) });
    const r = acc.result();
    expect([...r.mean.data]).toEqual([0.5, 0.5]);
    expect((r.variance as Float32Array)[0]).toBeCloseTo(0.25, 6);
    expect(meanEntropy(r.mean)).toBeCloseTo(Math.log(2), 6);
  });
});
