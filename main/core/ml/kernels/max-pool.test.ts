// Our MaxPool3D (the path the product takes on wasm: asserted) against a brute-force max over
// each window written here without tfjs, forward and gradient, at the unet3d shape where the stock
// wasm kernel is wrong, and with 'same' padding on odd sizes.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';

let replaced: string[] = [];
let backendName = '';
beforeAll(async () => {
  const b = await initBackend();
  replaced = b.replacedKernels;
  backendName = b.name;
});

interface Ref { y: Float32Array; dx: Float32Array }

/** y[window] = max; dx[first argmax] += r[window]. NDHWC, window k and stride s per axis (D, H, W). */
function bruteForce(x: Float32Array, shape: number[], k: number[], s: number[], pad: 'valid' | 'same', r: Float32Array | null): Ref {
  const [N, D, H, W, C] = shape;
  const out = (len: number, a: number): number => (pad === 'valid' ? Math.floor((len - k[a]) / s[a]) + 1 : Math.ceil(len / s[a]));
  const [OD, OH, OW] = [out(D, 0), out(H, 1), out(W, 2)];
  const before = (len: number, o: number, a: number): number => (pad === 'valid' ? 0 : Math.floor(Math.max(0, (o - 1) * s[a] + k[a] - len) / 2));
  const [pf, pt, pl] = [before(D, OD, 0), before(H, OH, 1), before(W, OW, 2)];
  const y = new Float32Array(N * OD * OH * OW * C);
  const dx = new Float32Array(x.length);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let c = 0; c < C; c++, o++) {
            let best = -Infinity;
            let arg = -1;
            for (let a = od * s[0] - pf; a < od * s[0] - pf + k[0]; a++)
              for (let b = oh * s[1] - pt; b < oh * s[1] - pt + k[1]; b++)
                for (let w = ow * s[2] - pl; w < ow * s[2] - pl + k[2]; w++) {
                  if (a < 0 || b < 0 || w < 0 || a >= D || b >= H || w >= W) continue;
                  const i = (((n * D + a) * H + b) * W + w) * C + c;
                  if (x[i] > best) {
                    best = x[i];
                    arg = i;
                  }
                }
            y[o] = best;
            if (r && arg >= 0) dx[arg] += r[o];
          }
  return { y, dx };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('MaxPool3D kernel', () => {
  it('is the one the product uses on wasm', () => {
    if (backendName === 'wasm') expect(replaced).toEqual(expect.arrayContaining(['MaxPool3D', 'MaxPool3DGrad', 'MaxPoolGrad']));
    expect(['wasm', 'cpu', 'tensorflow']).toContain(backendName);
  });

  const cases: { shape: number[]; k: number; s: number; pad: 'valid' | 'same' }[] = [
    { shape: [2, 40, 56, 40, 16], k: 2, s: 2, pad: 'valid' }, // the unet3d plan's first pooling
    { shape: [2, 10, 14, 10, 64], k: 2, s: 2, pad: 'valid' },
    { shape: [2, 7, 9, 11, 16], k: 2, s: 2, pad: 'same' },
    { shape: [1, 6, 7, 5, 3], k: 3, s: 2, pad: 'same' }, // overlapping windows: gradients add up
  ];
  for (const { shape, k, s, pad } of cases) {
    it(`forward and gradient equal a brute-force max: [${shape.join(',')}] k${k} s${s} ${pad}`, () => {
      const x = tf.randomNormal(shape as [number, number, number, number, number], 0, 1, 'float32', shape[1]) as tf.Tensor5D;
      const xs = x.dataSync() as Float32Array;
      const y = tf.maxPool3d(x, k, s, pad);
      const r = tf.randomNormal(y.shape, 0, 1, 'float32', 7);
      const ref = bruteForce(xs, shape, [k, k, k], [s, s, s], pad, r.dataSync() as Float32Array);
      expect(y.shape).toEqual([shape[0], ...(y.shape.slice(1, 4)), shape[4]]);
      expect(maxDiff(y.dataSync(), ref.y)).toBe(0);
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.maxPool3d(xi as tf.Tensor5D, k, s, pad), r)))(x);
      expect(maxDiff(dx.dataSync(), ref.dx)).toBeLessThan(1e-5);
      tf.dispose([x, y, r, dx]);
    });
  }

  const cases2d: { shape: [number, number, number, number]; k: number; s: number; pad: 'valid' | 'same' }[] = [
    { shape: [16, 48, 64, 16], k: 2, s: 2, pad: 'valid' }, // the unet2d bench shape's first pooling
    { shape: [2, 7, 9, 8], k: 2, s: 2, pad: 'same' },
    { shape: [1, 9, 7, 3], k: 3, s: 2, pad: 'same' },
  ];
  for (const { shape, k, s, pad } of cases2d) {
    it(`2D MaxPool gradient equals a brute-force routing: [${shape.join(',')}] k${k} s${s} ${pad}`, () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', shape[1]) as tf.Tensor4D;
      const y = tf.maxPool(x, k, s, pad);
      const r = tf.randomNormal(y.shape, 0, 1, 'float32', 9);
      const [N, H, W, C] = shape;
      const ref = bruteForce(x.dataSync() as Float32Array, [N, 1, H, W, C], [1, k, k], [1, s, s], pad, r.dataSync() as Float32Array);
      expect(maxDiff(y.dataSync(), ref.y)).toBe(0);
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, k, s, pad), r)))(x);
      expect(maxDiff(dx.dataSync(), ref.dx)).toBeLessThan(1e-5);
      tf.dispose([x, y, r, dx]);
    });
  }
});
