// The native addon serving 2D convolutions (native-conv2d.ts) against the wasm path it replaces
// (XNNPACK Conv2D / FusedConv2D forward, our conv2d-grads.ts gradients, themselves checked against
// PyTorch float64 in tests/integration/kernels-conv.test.ts) at the unet2d layer shapes of the 2D
// plan (48x64 patch -> [16,64,48,C], batch 16) and at odd geometries; and the fallbacks.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { NATIVE_ADDON_RELATIVE, loadNativeConv, setNativeConvEnabled } from './native-conv3d';
import { nativeConv2dEnabled, setNativeConv2dEnabled } from './native-conv2d';

const built = existsSync(path.resolve(__dirname, '../../../..', NATIVE_ADDON_RELATIVE)) && process.env.SEGLOOP_NATIVE_CONV !== '0';
const SKIP = ' (SKIPPED: native addon not built or SEGLOOP_NATIVE_CONV=0 — run `npm run build:native`, needs g++ and libopenblas-dev)';
const T = 600_000; // batch-16 layers on a loaded 2-core CI machine

type S4 = [number, number, number, number];
type Pad = 'same' | 'valid';

/** y, dx, dw (and db) of sum(y * r) through the registered kernels (native or wasm). */
function convAndGrads(kind: 'conv' | 'fused' | 'up', x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, r: tf.Tensor, s: number, pad: Pad, outShape?: S4): Float32Array[] {
  const f = (a: tf.Tensor4D, k: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D =>
    kind === 'conv' ? tf.conv2d(a, k, s, pad)
      : kind === 'fused' ? tf.fused.conv2d({ x: a, filter: k, strides: s, pad, bias, activation: 'linear' })
        : tf.conv2dTranspose(a, k, outShape as S4, s, pad);
  return tf.tidy(() => {
    const y = f(x, w, b);
    // Only the fused conv uses the bias (tf.grads refuses inputs that do not reach the loss).
    const gs = kind === 'fused'
      ? tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, k as tf.Tensor4D, bias as tf.Tensor1D), r)))([x, w, b])
      : tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, k as tf.Tensor4D, b), r)))([x, w]);
    return [y, ...gs].map((t) => t.dataSync() as Float32Array);
  });
}

function relMaxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  expect(m).toBeGreaterThan(0);
  return d / m;
}

let seed = 1;
/** native vs wasm: max |diff| / max |wasm| of [y, dx, dw(, db)]. */
function compare(kind: 'conv' | 'fused' | 'up', xShape: S4, wShape: S4, s: number, pad: Pad, outShape?: S4): number[] {
  const x = tf.randomNormal<tf.Rank.R4>(xShape, 0, 1, 'float32', seed++);
  const w = tf.randomNormal<tf.Rank.R4>(wShape, 0, 0.2, 'float32', seed++);
  const b = tf.randomNormal<tf.Rank.R1>([kind === 'up' ? wShape[2] : wShape[3]], 0, 1, 'float32', seed++);
  const yShape = tf.tidy(() => (kind === 'up' ? tf.conv2dTranspose(x, w, outShape as S4, s, pad) : tf.conv2d(x, w, s, pad)).shape);
  const r = tf.randomNormal(yShape, 0, 1, 'float32', seed++);
  setNativeConvEnabled(true);
  expect(nativeConv2dEnabled()).toBe(true);
  const native = convAndGrads(kind, x, w, b, r, s, pad, outShape);
  setNativeConvEnabled(false);
  expect(nativeConv2dEnabled()).toBe(false);
  const wasm = convAndGrads(kind, x, w, b, r, s, pad, outShape);
  setNativeConvEnabled(true);
  tf.dispose([x, w, b, r]);
  return native.map((v, i) => relMaxDiff(v, wasm[i]));
}

describe('native addon serving 2D convolutions', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', threads: 2 });
  }, T);

  it('the backend report says which 2D convolution path is used', async () => {
    const { registerOurKernels } = await import('./register');
    const note = registerOurKernels('wasm').find((k) => k.startsWith('Conv2D+grads: '));
    const s = loadNativeConv();
    expect(note).toBe(s.loaded ? `Conv2D+grads: ${s.reason}` : `Conv2D+grads: wasm (${s.reason})`);
  });

  // The unet2d layers of the 2D plan (depth 4, widths 16-128, [16,64,48,C]): the convs as the model
  // runs them (FusedConv2D with bias), the transposed convs, the 1x1 head.
  const B = 16;
  const UNET: { name: string; kind: 'fused' | 'up'; sp: [number, number]; ci: number; co: number; k: number }[] = [
    { name: 'first conv 1->16 @64x48', kind: 'fused', sp: [64, 48], ci: 1, co: 16, k: 3 },
    { name: 'conv 16->16 @64x48', kind: 'fused', sp: [64, 48], ci: 16, co: 16, k: 3 },
    { name: 'conv 32->16 @64x48 (decoder, after concat)', kind: 'fused', sp: [64, 48], ci: 32, co: 16, k: 3 },
    { name: 'conv 64->32 @32x24', kind: 'fused', sp: [32, 24], ci: 64, co: 32, k: 3 },
    { name: 'conv 128->128 @8x6', kind: 'fused', sp: [8, 6], ci: 128, co: 128, k: 3 },
    { name: 'head 1x1 16->3 @64x48', kind: 'fused', sp: [64, 48], ci: 16, co: 3, k: 1 },
    { name: 'transposed conv 2x2 s2 32->16 @32x24', kind: 'up', sp: [32, 24], ci: 32, co: 16, k: 2 },
    { name: 'transposed conv 2x2 s2 128->64 @8x6', kind: 'up', sp: [8, 6], ci: 128, co: 64, k: 2 },
  ];
  for (const l of UNET) {
    it.skipIf(!built)(`${l.name}: native = wasm kernels (fwd, dX, dW${l.kind === 'fused' ? ', dBias' : ''} within 1e-4 of max)${built ? '' : SKIP}`, () => {
      const x: S4 = [B, ...l.sp, l.ci];
      const d = l.kind === 'fused'
        ? compare('fused', x, [l.k, l.k, l.ci, l.co], 1, 'same')
        : compare('up', x, [2, 2, l.co, l.ci], 2, 'same', [B, l.sp[0] * 2, l.sp[1] * 2, l.co]);
      expect(d.length).toBe(l.kind === 'fused' ? 4 : 3);
      // float32 sums of up to 49,152 products in different orders.
      for (const v of d) expect(v).toBeLessThan(1e-4);
    }, T);
  }

  // Geometries the U-Net does not use but Conv2D accepts: strides, valid padding, odd sizes, 5x5.
  const ODD: [string, S4, S4, number, Pad][] = [
    ['3x3 stride 2 same, odd sizes', [2, 9, 7, 3], [3, 3, 3, 5], 2, 'same'],
    ['3x3 stride 2 valid', [1, 9, 8, 4], [3, 3, 4, 2], 2, 'valid'],
    ['2x3 stride 1 valid', [2, 6, 7, 3], [2, 3, 3, 4], 1, 'valid'],
    ['1x1 stride 2 (strided shortcut)', [2, 9, 8, 4], [1, 1, 4, 6], 2, 'same'],
    ['5x5 stride 1 same', [1, 7, 8, 2], [5, 5, 2, 3], 1, 'same'],
  ];
  for (const [name, xs, ws, s, pad] of ODD) {
    it.skipIf(!built)(`${name}: native = wasm kernels (plain Conv2D)${built ? '' : SKIP}`, () => {
      for (const v of compare('conv', xs, ws, s, pad)) expect(v).toBeLessThan(1e-5);
    }, T);
  }

  it.skipIf(!built)(`a fused activation other than linear stays on the stock kernel (same result as without the addon)${built ? '' : SKIP}`, () => {
    const run = (): Float32Array => tf.tidy(() => {
      const x = tf.randomNormal<tf.Rank.R4>([2, 6, 5, 3], 0, 1, 'float32', 5);
      const w = tf.randomNormal<tf.Rank.R4>([3, 3, 3, 4], 0, 1, 'float32', 6);
      const b = tf.randomNormal<tf.Rank.R1>([4], 0, 1, 'float32', 7);
      return tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same', activation: 'relu' }).dataSync() as Float32Array;
    });
    setNativeConvEnabled(true);
    const on = run();
    expect(Math.min(...on)).toBe(0); // relu applied
    setNativeConvEnabled(false);
    const off = run();
    setNativeConvEnabled(true);
    expect(relMaxDiff(on, off)).toBe(0);
  });

  it('SEGLOOP_NATIVE_CONV2D=0 semantics: the 2D switch falls back to the wasm kernels, the 3D path stays', () => {
    const run = (): Float32Array => tf.tidy(() => {
      const x = tf.randomNormal<tf.Rank.R4>([2, 7, 6, 3], 0, 1, 'float32', 9);
      const w = tf.randomNormal<tf.Rank.R4>([3, 3, 3, 4], 0, 1, 'float32', 8);
      return tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array;
    });
    const on = run();
    setNativeConv2dEnabled(false);
    try {
      expect(nativeConv2dEnabled()).toBe(false);
      expect(loadNativeConv().enabled).toBe(built);
      const off = run();
      expect(relMaxDiff(on, off)).toBeLessThan(1e-5);
    } finally {
      setNativeConv2dEnabled(true);
    }
    expect(nativeConv2dEnabled()).toBe(built);
  });
});
