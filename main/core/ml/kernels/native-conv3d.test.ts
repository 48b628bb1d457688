// The native conv3d addon (native/conv3d) against our wasm kernels (kernels/conv3d.ts, themselves
// checked against PyTorch float64 in tests/integration/kernels-conv.test.ts, which also runs
// through the addon when it is built) at the unet3d layer shapes of the plan (40x56x40, batch 2)
// and at odd geometries; and the fallback when the addon is off or absent.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../backend';
import { NATIVE_ADDON_RELATIVE, loadNativeConv, nativeAddon, setNativeConvEnabled } from './native-conv3d';

const built = existsSync(path.resolve(__dirname, '../../../..', NATIVE_ADDON_RELATIVE));
const SKIP = ' (SKIPPED: native addon not built — run `npm run build:native`, needs g++ and libopenblas-dev)';
const T = 600_000; // whole-volume kernels on a loaded 2-core CI machine

type V3 = [number, number, number];
/** y = conv(x, w), dx, dw of sum(y * r), through the registered kernels (native or wasm). */
function convAndGrads(kind: 'conv' | 'up', x: tf.Tensor5D, w: tf.Tensor5D, r: tf.Tensor, s: number, pad: 'same' | 'valid', outShape?: number[]): Float32Array[] {
  const f = (a: tf.Tensor5D, b: tf.Tensor5D): tf.Tensor5D =>
    kind === 'conv' ? tf.conv3d(a, b, s, pad) : tf.conv3dTranspose(a, b, outShape as [number, number, number, number, number], s, pad);
  return tf.tidy(() => {
    const y = f(x, w);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor5D, b as tf.Tensor5D), r)))([x, w]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
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
function compare(kind: 'conv' | 'up', xShape: number[], wShape: number[], s: number, pad: 'same' | 'valid', outShape?: number[]): number[] {
  type S5 = [number, number, number, number, number];
  const x = tf.randomNormal<tf.Rank.R5>(xShape as S5, 0, 1, 'float32', seed++);
  const w = tf.randomNormal<tf.Rank.R5>(wShape as S5, 0, 0.2, 'float32', seed++);
  const yShape = tf.tidy(() => (kind === 'conv' ? tf.conv3d(x, w, s, pad) : tf.conv3dTranspose(x, w, outShape as [number, number, number, number, number], s, pad)).shape);
  const r = tf.randomNormal(yShape, 0, 1, 'float32', seed++);
  setNativeConvEnabled(true);
  const native = convAndGrads(kind, x, w, r, s, pad, outShape);
  setNativeConvEnabled(false);
  const wasm = convAndGrads(kind, x, w, r, s, pad, outShape);
  setNativeConvEnabled(true);
  tf.dispose([x, w, r]);
  return native.map((v, i) => relMaxDiff(v, wasm[i]));
}

describe('native conv3d addon', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', threads: 2 });
  }, T);

  it('the backend report says which conv3d path is used', () => {
    const s = loadNativeConv();
    const note = tf.getBackend() === 'wasm' ? `Conv3D+grads: ${s.loaded ? s.reason : `wasm (${s.reason})`}` : '';
    expect(s.loaded).toBe(built && process.env.SEGLOOP_NATIVE_CONV !== '0');
    expect(s.reason).toMatch(s.loaded ? /^native conv3d addon \(/ : /native conv3d addon (not built|disabled|failed)/);
    expect(note).toContain('Conv3D+grads: ');
  });

  // The unet3d layers of the plan (depth 4, widths 16-128, 40x56x40, batch 2): forward, dX, dW.
  const UNET: { name: string; kind: 'conv' | 'up'; sp: V3; ci: number; co: number; k: number }[] = [
    { name: 'first conv 1->16 @40x56x40', kind: 'conv', sp: [40, 56, 40], ci: 1, co: 16, k: 3 },
    { name: 'conv 16->16 @40x56x40', kind: 'conv', sp: [40, 56, 40], ci: 16, co: 16, k: 3 },
    { name: 'conv 64->32 @20x28x20', kind: 'conv', sp: [20, 28, 20], ci: 64, co: 32, k: 3 },
    { name: 'conv 128->128 @5x7x5', kind: 'conv', sp: [5, 7, 5], ci: 128, co: 128, k: 3 },
    { name: 'head 1x1x1 16->3 @40x56x40', kind: 'conv', sp: [40, 56, 40], ci: 16, co: 3, k: 1 },
    { name: 'transposed conv 2x2x2 s2 32->16 @20x28x20', kind: 'up', sp: [20, 28, 20], ci: 32, co: 16, k: 2 },
    { name: 'transposed conv 2x2x2 s2 128->64 @5x7x5', kind: 'up', sp: [5, 7, 5], ci: 128, co: 64, k: 2 },
  ];
  for (const l of UNET) {
    it.skipIf(!built)(`${l.name}: native = wasm kernels (fwd, dX, dW within 1e-4 of max)${built ? '' : SKIP}`, () => {
      const x = [2, ...l.sp, l.ci];
      const d = l.kind === 'conv'
        ? compare('conv', x, [l.k, l.k, l.k, l.ci, l.co], 1, 'same')
        : compare('up', x, [2, 2, 2, l.co, l.ci], 2, 'same', [2, ...l.sp.map((v) => v * 2), l.co]);
      // float32 sums of up to 179,200 products in different orders: ~1e-5 relative observed.
      for (const v of d) expect(v).toBeLessThan(1e-4);
    }, T);
  }

  // Geometries the U-Net does not use but the kernels accept: strides, valid padding, odd sizes.
  const ODD: [string, number[], number[], number, 'same' | 'valid'][] = [
    ['3x3x3 stride 2 same, odd sizes', [2, 7, 9, 6, 3], [3, 3, 3, 3, 5], 2, 'same'],
    ['3x3x3 stride 2 valid', [1, 9, 8, 7, 4], [3, 3, 3, 4, 2], 2, 'valid'],
    ['2x3x1 stride 1 valid', [2, 5, 6, 7, 3], [2, 3, 1, 3, 4], 1, 'valid'],
    ['1x1x1 stride 2 (strided shortcut)', [2, 8, 9, 8, 4], [1, 1, 1, 4, 6], 2, 'same'],
    ['5x5x5 stride 1 same', [1, 6, 7, 8, 2], [5, 5, 5, 2, 3], 1, 'same'],
  ];
  for (const [name, xs, ws, s, pad] of ODD) {
    it.skipIf(!built)(`${name}: native = wasm kernels${built ? '' : SKIP}`, () => {
      for (const v of compare('conv', xs, ws, s, pad)) expect(v).toBeLessThan(1e-5);
    }, T);
  }

  it.skipIf(!built)(`rejects buffers that do not match the geometry instead of reading past them${built ? '' : SKIP}`, () => {
    const a = nativeAddon();
    expect(a).not.toBeNull();
    // [n,d,h,w,ci, kd,kh,kw,co, sd,sh,sw, pf,pt,pl, od,oh,ow]
    const geo = Int32Array.from([1, 4, 4, 4, 2, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 4, 4, 4]);
    const x = new Float32Array(128);
    const w = new Float32Array(108);
    expect(() => a?.forward(x, w, new Float32Array(127), geo, 2)).toThrow(/y has 127 elements, the geometry needs 128/);
    expect(() => a?.forward(x, new Float32Array(100), new Float32Array(128), geo, 2)).toThrow(/filter has 100 elements/);
    expect(() => a?.inputGrad(new Float32Array(128), w, new Float32Array(64), geo, 2)).toThrow(/dx has 64 elements/);
    expect(() => a?.forward(x, w, new Float32Array(128), Int32Array.from([1, 2, 3]), 2)).toThrow(/Int32Array of 18/);
    const badPad = Int32Array.from(geo);
    badPad[12] = 3; // padding as large as the kernel
    expect(() => a?.forward(x, w, new Float32Array(128), badPad, 2)).toThrow(/geometry/);
    expect(() => a?.filterGrad(x as unknown as Float32Array, [] as unknown as Float32Array, w, geo, 2)).toThrow(/dy must be a Float32Array/);
  });

  it('falls back to the wasm kernels when switched off (same results as with it, or as without it when not built)', () => {
    setNativeConvEnabled(false);
    const off = compareOnce();
    setNativeConvEnabled(true);
    const on = compareOnce();
    expect(relMaxDiff(on, off)).toBeLessThan(1e-5);
  });

  it('SEGLOOP_NATIVE_CONV=0 disables the addon and says so', async () => {
    vi.resetModules();
    const before = process.env.SEGLOOP_NATIVE_CONV;
    process.env.SEGLOOP_NATIVE_CONV = '0';
    try {
      const fresh = await import('./native-conv3d');
      const s = fresh.loadNativeConv();
      expect(s.loaded).toBe(false);
      expect(s.reason).toBe('native conv3d addon disabled (SEGLOOP_NATIVE_CONV=0)');
      expect(fresh.nativeAddon()).toBeNull();
    } finally {
      if (before === undefined) delete process.env.SEGLOOP_NATIVE_CONV;
      else process.env.SEGLOOP_NATIVE_CONV = before;
      vi.resetModules();
    }
  });
});

function compareOnce(): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([1, 6, 7, 5, 3], 0, 1, 'float32', 99) as tf.Tensor5D;
    const w = tf.randomNormal([3, 3, 3, 3, 4], 0, 1, 'float32', 98) as tf.Tensor5D;
    return tf.conv3d(x, w, 1, 'same').dataSync() as Float32Array;
  });
}
