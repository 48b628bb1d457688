// The fused normalisation kernels are the path the product takes on wasm/cpu (asserted), and
// agree with the normalisation written as plain tf ops (forward and every gradient) on 5D input
// offset far from zero. tests/integration/kernels-norm.test.ts checks the same entry points
// against PyTorch float64.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { batchNormTrain, instanceNorm } from './instance-norm';
import { fusedNormMode } from './norm-fused';

beforeAll(async () => {
  await initBackend();
});

function composed(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, axes: number[]): tf.Tensor {
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('fused instance / batch norm kernels', () => {
  for (const kind of ['instance', 'batch'] as const) {
    it(`${kind} norm on 5D: the fused path is taken and matches plain tf ops, forward and gradients`, () => {
      const x = tf.add(tf.mul(tf.randomNormal([2, 3, 5, 4, 6], 0, 1, 'float32', 11), 3), 50);
      const g = tf.randomNormal([6], 1, 0.3, 'float32', 12);
      const b = tf.randomNormal([6], 0, 0.3, 'float32', 13);
      const r = tf.randomNormal([2, 3, 5, 4, 6], 0, 1, 'float32', 14);
      const axes = kind === 'instance' ? [1, 2, 3] : [0, 1, 2, 3];
      expect(fusedNormMode(x, axes)).toBe(kind);
      const ours = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(kind === 'instance' ? instanceNorm(xi, gi as tf.Tensor1D, bi as tf.Tensor1D) : batchNormTrain(xi, gi as tf.Tensor1D, bi as tf.Tensor1D), r));
      const ref = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Scalar => tf.sum(tf.mul(composed(xi, gi, bi, axes), r));
      const yo = kind === 'instance' ? instanceNorm(x, g as tf.Tensor1D, b as tf.Tensor1D) : batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D);
      expect(maxAbs(yo, composed(x, g, b, axes))).toBeLessThan(1e-4);
      const go = tf.grads(ours)([x, g, b]);
      const gr = tf.grads(ref)([x, g, b]);
      go.forEach((t, i) => {
        const scale = tf.tidy(() => tf.max(tf.abs(gr[i])).dataSync()[0]);
        expect(maxAbs(t, gr[i]) / Math.max(scale, 1e-6)).toBeLessThan(1e-3);
      });
      tf.dispose([x, g, b, r, yo, ...go, ...gr]);
    });
  }
});
