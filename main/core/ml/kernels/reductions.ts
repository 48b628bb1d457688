// Slice, Sum and Mean for any rank. The stock wasm kernels fall back to a per-element JS loop for
// rank > 4 (Slice) or transpose the reduced axes innermost first (Sum/Mean over leading axes);
// both dominate a 3D U-Net step. Here dimensions are merged into the fewest runs first, then the
// work is a contiguous copy or a strided row accumulation.
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import { allocOutput, viewValues } from './kernel-runner';

export function fastSlice(backend: KernelBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  // Merge dim i+1 into dim i while dim i+1 is taken whole.
  const shp: number[] = [x.shape[0]];
  const beg: number[] = [begin[0]];
  const siz: number[] = [size[0]];
  for (let i = 1; i < x.shape.length; i++) {
    const last = shp.length - 1;
    if (size[i] === x.shape[i] && begin[i] === 0) {
      shp[last] *= x.shape[i];
      beg[last] *= x.shape[i];
      siz[last] *= x.shape[i];
    } else {
      shp.push(x.shape[i]);
      beg.push(begin[i]);
      siz.push(size[i]);
    }
  }
  const { info, values: out } = allocOutput(backend, size);
  const src = viewValues(backend, x);
  const rank = shp.length;
  const run = siz[rank - 1];
  const strides = util.computeStrides(shp);
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const total = out.length;
  for (let o = 0; o < total; o += run) {
    let off = beg[rank - 1];
    for (let i = 0; i < rank - 1; i++) off += (beg[i] + idx[i]) * strides[i];
    out.set(src.subarray(off, off + run), o);
    for (let i = rank - 2; i >= 0; i--) {
      if (++idx[i] < siz[i]) break;
      idx[i] = 0;
    }
  }
  return info;
}

/** Collapse shape into alternating kept/reduced groups; size-1 dims vanish. */
function groups(shape: readonly number[], axes: number[]): { size: number; reduced: boolean }[] {
  const out: { size: number; reduced: boolean }[] = [];
  shape.forEach((s, i) => {
    if (s === 1) return;
    const reduced = axes.includes(i);
    const last = out[out.length - 1];
    if (last && last.reduced === reduced) last.size *= s;
    else out.push({ size: s, reduced });
  });
  return out;
}

/**
 * Sum (or mean) over axes when they form one block followed by kept dims ([R,K] or [K1,R,K2]).
 * Returns null for the other patterns, which the stock kernel handles well (innermost reduction).
 */
export function fastReduce(
  backend: KernelBackend, x: TensorInfo, attrs: NamedAttrMap, mean: boolean,
): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  const axisAttr = attrs.axis as number | number[];
  const axes = util.parseAxisParam(axisAttr, x.shape);
  const gs = groups(x.shape, axes);
  let k1 = 1;
  let rSize = 1;
  let k2 = 1;
  if (gs.length === 2 && gs[0].reduced && !gs[1].reduced) {
    rSize = gs[0].size;
    k2 = gs[1].size;
  } else if (gs.length === 3 && !gs[0].reduced && gs[1].reduced && !gs[2].reduced) {
    k1 = gs[0].size;
    rSize = gs[1].size;
    k2 = gs[2].size;
  } else {
    return null;
  }
  const keepDims = attrs.keepDims as boolean;
  const outShape: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (!axes.includes(i)) outShape.push(x.shape[i]);
    else if (keepDims) outShape.push(1);
  }
  const { info, values: out } = allocOutput(backend, outShape);
  const src = viewValues(backend, x);
  const acc = new Float64Array(k2);
  const scale = mean ? 1 / rSize : 1;
  for (let a = 0; a < k1; a++) {
    acc.fill(0);
    let off = a * rSize * k2;
    for (let r = 0; r < rSize; r++, off += k2) {
      for (let k = 0; k < k2; k++) acc[k] += src[off + k];
    }
    const o = a * k2;
    for (let k = 0; k < k2; k++) out[o + k] = acc[k] * scale;
  }
  return info;
}

