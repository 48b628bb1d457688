// The addon's element-wise kernels (native-ops.ts) against the paths they replace on wasm: the JS
// fused-norm kernels of norm-fused.ts (checked against plain tf ops in norm-fused.test.ts and
// PyTorch in tests/integration/kernels-norm.test.ts) and tfjs' own LeakyRelu gradient
// (Greater + Mul + Select), at the unet2d activation shapes; and the argument checks.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { instanceNorm, batchNormTrain } from './instance-norm';
import { NATIVE_ADDON_RELATIVE, nativeAddon } from './native-conv3d';
import { nativeOpsActive, setNativeOpsEnabled } from './native-ops';

const built = existsSync(path.resolve(__dirname, '../../../..', NATIVE_ADDON_RELATIVE)) && process.env.SEGLOOP_NATIVE_CONV !== '0';
const SKIP = ' (SKIPPED: native addon not built or SEGLOOP_NATIVE_CONV=0 — run `npm run build:native`, needs g++ and libopenblas-dev)';
const T = 300_000;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Forward and every gradient of sum(norm(x) * r), with the native kernels on or off. */
function normAndGrads(native: boolean, kind: 'instance' | 'batch', x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, r: tf.Tensor): Float32Array[] {
  setNativeOpsEnabled(native);
  try {
    const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Tensor =>
      (kind === 'instance' ? instanceNorm : batchNormTrain)(xi, gi as tf.Tensor1D, bi as tf.Tensor1D);
    return tf.tidy(() => {
      const y = f(x, g, b);
      const gs = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, gi, bi), r)))([x, g, b]);
      return [y, ...gs].map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    setNativeOpsEnabled(true);
  }
}

function leakyGrad(native: boolean, x: tf.Tensor, r: tf.Tensor, alpha: number): Float32Array[] {
  setNativeOpsEnabled(native);
  try {
    return tf.tidy(() => {
      const [dx] = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(xi, alpha), r)))([x]);
      return [tf.leakyRelu(x, alpha), dx].map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    setNativeOpsEnabled(true);
  }
}

describe('native element-wise kernels (norm, LeakyRelu gradient)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', threads: 2 });
  }, T);

  it('are active exactly when the addon is built (and not switched off)', () => {
    expect(nativeOpsActive()).toBe(built);
    setNativeOpsEnabled(false);
    expect(nativeOpsActive()).toBe(false);
    setNativeOpsEnabled(true);
  });

  // unet2d activations: [16,64,48,16] (level 0), [16,32,24,32], [16,8,6,128]; x off-centre and
  // scaled so the statistics matter.
  const SHAPES: [number, number, number, number][] = [[16, 64, 48, 16], [16, 32, 24, 32], [16, 8, 6, 128], [3, 5, 7, 3]];
  for (const shape of SHAPES) {
    for (const kind of ['instance', 'batch'] as const) {
      it.skipIf(!built)(`${kind} norm ${shape.join('x')}: native = JS kernels (forward and gradients)${built ? '' : SKIP}`, () => {
        const C = shape[3];
        const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 2.5), 4));
        const g = tf.randomNormal([C], 1, 0.3, 'float32', 4) as tf.Tensor1D;
        const b = tf.randomNormal([C], 0, 0.3, 'float32', 5) as tf.Tensor1D;
        const r = tf.randomNormal(shape, 0, 1, 'float32', 6);
        const on = normAndGrads(true, kind, x, g, b, r);
        const off = normAndGrads(false, kind, x, g, b, r);
        tf.dispose([x, g, b, r]);
        expect(on.length).toBe(4);
        // Same operations in the same order in doubles: equal up to (at most) a last-bit rounding.
        on.forEach((v, i) => {
          const scale = off[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(scale).toBeGreaterThan(0);
          expect(maxAbsDiff(v, off[i]) / scale).toBeLessThan(1e-6);
        });
      }, T);
    }
  }

  it.skipIf(!built)(`LeakyRelu gradient: native one pass = tfjs' Greater/Mul/Select, exactly${built ? '' : SKIP}`, () => {
    for (const shape of [[16, 64, 48, 16], [2, 3, 5, 7]]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 11);
      const r = tf.randomNormal(shape, 0, 1, 'float32', 12);
      const on = leakyGrad(true, x, r, 0.01);
      const off = leakyGrad(false, x, r, 0.01);
      const xv = x.dataSync();
      const rv = r.dataSync();
      tf.dispose([x, r]);
      expect(maxAbsDiff(on[0], off[0])).toBe(0);
      expect(maxAbsDiff(on[1], off[1])).toBe(0);
      // Both branches are exercised: r where x > 0, 0.01 r elsewhere.
      const pos = xv.findIndex((v) => v > 0);
      const neg = xv.findIndex((v) => v < 0);
      expect(pos >= 0 && neg >= 0).toBe(true);
      expect(on[1][pos]).toBeCloseTo(rv[pos], 6);
      expect(on[1][neg]).toBeCloseTo(rv[neg] * 0.01, 6);
    }
  }, T);

  it.skipIf(!built)(`reject buffers that do not match the dims instead of reading past them${built ? '' : SKIP}`, () => {
    const a = nativeAddon();
    expect(a?.normForward).toBeTypeOf('function');
    const dims = Int32Array.from([2, 6, 3]);
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => a?.normForward?.(f(36), f(3), f(3), f(35), f(36), f(6), dims, 1e-5, 2)).toThrow(/y has 35 elements, the geometry needs 36/);
    expect(() => a?.normForward?.(f(36), f(3), f(3), f(36), f(36), f(5), dims, 1e-5, 2)).toThrow(/invStd has 5 elements/);
    expect(() => a?.normForward?.(f(36), f(3), f(3), f(36), f(36), f(6), Int32Array.from([2, 6]), 1e-5, 2)).toThrow(/dims must be an Int32Array/);
    expect(() => a?.normForward?.(f(36), f(3), f(3), f(36), f(36), f(6), Int32Array.from([2, 0, 3]), 1e-5, 2)).toThrow(/positive/);
    expect(() => a?.normBackward?.(f(36), f(36), f(6), f(2), f(36), f(3), f(3), dims, 2)).toThrow(/gamma has 2 elements/);
    expect(() => a?.leakyReluGrad?.(f(10), f(9), f(10), 0.01, 2)).toThrow(/x has 9 elements/);
  });
});
