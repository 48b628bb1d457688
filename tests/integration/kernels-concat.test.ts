// Concat on wasm (ours: reductions.ts fastConcat, element loops for short runs) and Slice/SplitV
// with short runs (fastSlice) against an index-by-index reference, on every axis of 4D and 5D
// tensors (the U-Net's skip concat is the channel axis), three inputs, and dtypes we leave to the
// stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/core/ml/backend';

/** Reference concat by flat index arithmetic: out[..., j, ...] from the input holding j. */
function refConcat(parts: { shape: number[]; values: Float32Array }[], axis: number): Float32Array {
  const outer = parts[0].shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = parts.map((p) => p.shape.slice(axis).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  for (let r = 0; r < outer; r++) parts.forEach((p, i) => out.push(...p.values.subarray(r * inner[i], (r + 1) * inner[i])));
  return Float32Array.from(out);
}

describe('Concat / short-run Slice on wasm', () => {
  beforeAll(async () => {
    const report = await initBackend({ prefer: 'wasm', threads: 2 });
    expect(report.name).toBe('wasm');
    expect(report.replacedKernels).toContain('Concat');
  });

  const CASES: [string, number[][], number][] = [
    ['4D channels (skip concat, 16+16)', [[4, 6, 5, 16], [4, 6, 5, 16]], 3],
    ['4D channels, three inputs of 3/1/5', [[2, 3, 4, 3], [2, 3, 4, 1], [2, 3, 4, 5]], 3],
    ['4D width', [[2, 3, 4, 3], [2, 3, 2, 3]], 2],
    ['4D batch (long runs)', [[2, 30, 20, 3], [1, 30, 20, 3]], 0],
    ['5D channels', [[2, 3, 4, 5, 8], [2, 3, 4, 5, 8]], 4],
    ['5D depth', [[2, 3, 4, 5, 2], [2, 1, 4, 5, 2]], 1],
  ];
  for (const [name, shapes, axis] of CASES) {
    it(`${name}: equals the index reference, and its gradient splits dy back`, () => {
      const ts = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i));
      const parts = ts.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
      const y = tf.concat(ts, axis);
      expect(y.shape).toEqual(tf.backend_util.computeOutShape(shapes, axis));
      expect(Array.from(y.dataSync())).toEqual(Array.from(refConcat(parts, axis)));
      // Backward: SplitV (ours, fastSlice) must hand each input exactly its part of dy.
      const w = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
      const gs = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(xs, axis), w)))(ts);
      const sizes = shapes.map((s) => s[axis]);
      const wParts = tf.split(w, sizes, axis);
      gs.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(wParts[i].dataSync())));
      tf.dispose([...ts, y, w, ...gs, ...wParts]);
    });
  }

  it('int32 and single-input concats go to the stock kernel (same values)', () => {
    const a = tf.tensor([[1, 2], [3, 4]], undefined, 'int32');
    const b = tf.tensor([[5], [6]], undefined, 'int32');
    const c = tf.concat([a, b], 1);
    expect(c.dtype).toBe('int32');
    expect(Array.from(c.dataSync())).toEqual([1, 2, 5, 3, 4, 6]);
    const single = tf.concat([tf.tensor([1, 2, 3])], 0);
    expect(Array.from(single.dataSync())).toEqual([1, 2, 3]);
    const withEmpty = tf.concat([tf.zeros([2, 0]), tf.ones([2, 2])], 1);
    expect(Array.from(withEmpty.dataSync())).toEqual([1, 1, 1, 1]);
  });

  it('5D slice of a channel range (ours: fastSlice with short runs) equals the index reference', () => {
    const x = tf.randomNormal([3, 5, 4, 2, 16], 0, 1, 'float32', 5);
    const xv = x.dataSync();
    const s = tf.slice(x, [1, 1, 0, 1, 4], [2, 3, 4, 1, 7]);
    const want: number[] = [];
    for (let n = 1; n < 3; n++) {
      for (let d = 1; d < 4; d++) {
        for (let h = 0; h < 4; h++) for (let c = 4; c < 11; c++) want.push(xv[(((n * 5 + d) * 4 + h) * 2 + 1) * 16 + c]);
      }
    }
    expect(Array.from(s.dataSync())).toEqual(want);
    tf.dispose([x, s]);
  });
});
