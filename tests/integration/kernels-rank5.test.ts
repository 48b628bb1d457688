// Rank-5 Slice / Sum / Mean / SplitV (ours on wasm) and Transpose / Tile (stock) against numpy, and
// the same ops inside a gradient (concat backward = SplitV, broadcast backward = Sum).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/core/ml/backend';
import { type Nested, randn, relErr, torchMissing, torchRef } from './kernels-test-utils';

const shape = [2, 3, 4, 5, 3];
const x = randn(shape, 900);
const SUM_AXES: Record<string, number[]> = {
  spatial: [1, 2, 3], leading: [0, 1, 2, 3], all: [0, 1, 2, 3, 4], channels: [4], middle: [2], outer: [0], mixed: [1, 3],
};
const CASE = {
  op: 'rank5', x, begin: [1, 0, 1, 2, 0], size: [1, 3, 2, 3, 2], sumAxes: SUM_AXES,
  perm: [0, 4, 1, 2, 3], reps: [1, 2, 1, 1, 2], splitSizes: [1, 2], splitAxis: 4,
};
interface Rank5Ref { slice: Nested; sum: Record<string, Nested>; mean: Record<string, Nested>; transpose: Nested; tile: Nested; split: Nested[] }
const noTorch = torchMissing();

describe('rank-5 ops on wasm', () => {
  beforeAll(async () => {
    const report = await initBackend({ prefer: 'wasm', threads: 1 });
    expect(report.replacedKernels).toEqual(expect.arrayContaining(['Slice', 'Sum', 'Mean', 'SplitV']));
  });

  it.skipIf(noTorch !== null)(`slice, sum, mean, transpose, tile, split match numpy ${noTorch ?? ''}`, () => {
    const [ref] = torchRef<Rank5Ref>([CASE]);
    const t = tf.tensor(x) as tf.Tensor5D;
    expect(relErr(tf.slice(t, CASE.begin, CASE.size), ref.slice)).toBeLessThan(1e-7);
    for (const [name, axes] of Object.entries(SUM_AXES)) {
      expect(relErr(tf.sum(t, axes), ref.sum[name]), `sum ${name}`).toBeLessThan(1e-6);
      expect(relErr(tf.mean(t, axes), ref.mean[name]), `mean ${name}`).toBeLessThan(1e-6);
    }
    expect(tf.sum(t, [1, 2, 3], true).shape).toEqual([2, 1, 1, 1, 3]);
    expect(relErr(tf.transpose(t, CASE.perm), ref.transpose)).toBeLessThan(1e-7);
    expect(relErr(tf.tile(t, CASE.reps), ref.tile)).toBeLessThan(1e-7);
    const parts = tf.split(t, CASE.splitSizes, CASE.splitAxis);
    parts.forEach((p, i) => expect(relErr(p, ref.split[i]), `split ${i}`).toBeLessThan(1e-7));
  });

  it('slice with negative size (to the end) and a full tensor slice', () => {
    const t = tf.tensor(x) as tf.Tensor5D;
    const a = tf.slice(t, [0, 1, 0, 0, 1], [-1, -1, -1, -1, -1]);
    expect(a.shape).toEqual([2, 2, 4, 5, 2]);
    const whole = tf.slice(t, [0, 0, 0, 0, 0], shape);
    expect(relErr(whole, x)).toBe(0);
  });

  it('concat backward (SplitV) and broadcast-add backward (Sum) give the analytic gradients', () => {
    const a = tf.tensor(x) as tf.Tensor5D;
    const b = tf.ones([2, 3, 4, 5, 2]);
    const bias = tf.zeros([3]);
    const w = tf.tensor(randn([2, 3, 4, 5, 5], 901));
    const [ga, gb, gbias] = tf.grads((p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(tf.concat([tf.add(p, c), q], 4), w)))([a, b, bias]);
    const wa = tf.slice(w, [0, 0, 0, 0, 0], [-1, -1, -1, -1, 3]);
    const wb = tf.slice(w, [0, 0, 0, 0, 3], [-1, -1, -1, -1, 2]);
    expect(relErr(ga, wa)).toBeLessThan(1e-7);
    expect(relErr(gb, wb)).toBeLessThan(1e-7);
    const expectBias = Array.from({ length: 3 }, (_, ch) => {
      const v = wa.dataSync();
      let s = 0;
      for (let i = ch; i < v.length; i += 3) s += v[i];
      return s;
    });
    expect(relErr(gbias, expectBias)).toBeLessThan(1e-5);
  });
});
