// 2D convolution gradients expressed as forward convolutions, so that they run on the backend's
// fast Conv2D (XNNPACK on wasm) instead of the stock paths (missing on wasm, naive loops on cpu).
//   dW: correlate x^T [Ci,H,W,N] with dy^T [Ho,Wo,N,Co] used as a filter; stride -> dilation.
//   dX: correlate the stride-dilated dy with the spatially flipped, in/out-swapped filter.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelRunner, allocOutput, free, viewValues } from './kernel-runner';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface Conv2DGeometry {
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function toPair(v: number | number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export function conv2dGeometry(attrs: NamedAttrMap): Conv2DGeometry {
  return {
    strides: toPair(attrs.strides as number | number[]),
    pad: attrs.pad as Pad,
    dimRoundingMode: attrs.dimRoundingMode as Conv2DGeometry['dimRoundingMode'],
  };
}

/**
 * Channels-first, batch-last copy of a (depth-gathered) input, the layout the dW convolution
 * reads: x [N,D,H,W,C] -> [kd*C, H, W, N*Do] with element (k*C+c, h, w, n*Do+d) =
 * x[n, d*sd+k-front, h, w, c] (0 outside). With kd=1, D=Do=1 this is the plain [C,H,W,N]
 * transpose of a 4D input. Loop order keeps the reads of one pixel inside L1 and writes
 * sequential; the stock wasm Transpose takes ~10 ns/element on this permutation.
 */
export function gatherTransposed(
  backend: KernelBackend,
  x: TensorInfo,
  dims: { n: number; d: number; h: number; w: number; c: number; kd: number; sd: number; front: number; outD: number },
): TensorInfo {
  const { n: N, d: D, h, w, c: C, kd, sd, front, outD } = dims;
  const hw = h * w;
  const nd = N * outD;
  const { info, values: out } = allocOutput(backend, [kd * C, h, w, nd]);
  const src = viewValues(backend, x);
  // Source offset (without pixel/channel) per (k, n, d); -1 where the tap falls in the padding.
  const rowOff = new Int32Array(kd * nd);
  for (let k = 0; k < kd; k++) {
    for (let nn = 0; nn < N; nn++) {
      for (let dd = 0; dd < outD; dd++) {
        const z = dd * sd + k - front;
        rowOff[k * nd + nn * outD + dd] = z < 0 || z >= D ? -1 : (nn * D + z) * hw * C;
      }
    }
  }
  const planeStride = hw * nd;
  for (let p = 0; p < hw; p++) {
    const pc = p * C;
    for (let k = 0; k < kd; k++) {
      const ro = k * nd;
      for (let c = 0; c < C; c++) {
        let o = (k * C + c) * planeStride + p * nd;
        const sc = pc + c;
        for (let j = 0; j < nd; j++, o++) {
          const base = rowOff[ro + j];
          if (base >= 0) out[o] = src[base + sc];
        }
      }
    }
  }
  return info;
}

/** [A,B,C] -> [B,A,C] (rows of C floats), e.g. dy [N,Ho*Wo,Co] -> [Ho*Wo,N,Co]. */
export function swapLeading(backend: KernelBackend, x: TensorInfo, a: number, b: number, c: number, outShape: number[]): TensorInfo {
  const { info, values: out } = allocOutput(backend, outShape);
  const src = viewValues(backend, x);
  for (let j = 0; j < b; j++) {
    for (let i = 0; i < a; i++) {
      const so = (i * b + j) * c;
      const oo = (j * a + i) * c;
      for (let k = 0; k < c; k++) out[oo + k] = src[so + k];
    }
  }
  return info;
}

/**
 * dW of a dilation-1 NHWC 2D convolution from pre-transposed operands:
 * xT [Ci,H,W,N] (see gatherTransposed) and dy [N,Ho,Wo,Co] -> [kh,kw,Ci,Co].
 */
export function conv2dFilterGradT(
  r: KernelRunner,
  backend: KernelBackend,
  xT: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  g: Conv2DGeometry,
): TensorInfo {
  const [, H, W, N] = xT.shape;
  const info = tf.backend_util.computeConv2DInfo([N, H, W, filterShape[2]], filterShape, g.strides, 1, g.pad, g.dimRoundingMode);
  const { top, left } = info.padInfo;
  const [sh, sw] = g.strides;
  const [kh, kw] = filterShape;
  // Extent of x (padded) actually read by the forward convolution.
  const eh = (info.outHeight - 1) * sh + kh;
  const ew = (info.outWidth - 1) * sw + kw;
  const cropH = Math.min(H, eh - top);
  const cropW = Math.min(W, ew - left);
  let xc = xT;
  if (cropH < H || cropW < W) {
    xc = r.runCurrent('Slice', backend, { x: xT }, { begin: [0, 0, 0, 0], size: [xT.shape[0], cropH, cropW, N] });
  }
  const [, Ho, Wo, Co] = dy.shape;
  const dyT = swapLeading(backend, dy, N, Ho * Wo, Co, [Ho, Wo, N, Co]);
  const pad = [[0, 0], [top, eh - top - cropH], [left, ew - left - cropW], [0, 0]];
  const res = r.run('Conv2D', backend, { x: xc, filter: dyT }, {
    strides: [1, 1], pad, dilations: [sh, sw], dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as NamedAttrMap);
  if (xc !== xT) free(backend, xc);
  free(backend, dyT);
  const out = r.transpose(backend, res, [1, 2, 0, 3]);
  free(backend, res);
  return out;
}

/** dW of a dilation-1 NHWC 2D convolution. x [N,H,W,Ci], dy [N,Ho,Wo,Co] -> [kh,kw,Ci,Co]. */
export function conv2dFilterGrad(
  r: KernelRunner,
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  g: Conv2DGeometry,
): TensorInfo {
  const [N, H, W, C] = x.shape;
  const xT = gatherTransposed(backend, x, { n: N, d: 1, h: H, w: W, c: C, kd: 1, sd: 1, front: 0, outD: 1 });
  const out = conv2dFilterGradT(r, backend, xT, dy, filterShape, g);
  free(backend, xT);
  return out;
}

/** Insert (s-1) zeros between the rows/columns of dy [N,Ho,Wo,C]. */
export function dilateSpatial2d(backend: KernelBackend, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [N, Ho, Wo, C] = dy.shape;
  const Hd = (Ho - 1) * sh + 1;
  const Wd = (Wo - 1) * sw + 1;
  const { info, values: out } = allocOutput(backend, [N, Hd, Wd, C]);
  const src = viewValues(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const s0 = ((n * Ho + i) * Wo + j) * C;
        const d0 = ((n * Hd + i * sh) * Wd + j * sw) * C;
        for (let c = 0; c < C; c++) out[d0 + c] = src[s0 + c];
      }
    }
  }
  return info;
}

/** dX of a dilation-1 NHWC 2D convolution. dy [N,Ho,Wo,Co], filter [kh,kw,Ci,Co] -> inputShape. */
export function conv2dInputGrad(
  r: KernelRunner,
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: [number, number, number, number],
  g: Conv2DGeometry,
): TensorInfo {
  const [kh, kw] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], g.strides, 1, g.pad, g.dimRoundingMode);
  const [, H, W] = inputShape;
  const { top, left } = info.padInfo;
  const [sh, sw] = g.strides;
  const flipped = r.run('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const wf = r.transpose(backend, flipped, [0, 1, 3, 2]);
  free(backend, flipped);
  const dyD = sh > 1 || sw > 1 ? dilateSpatial2d(backend, dy, sh, sw) : dy;
  const pad = [
    [0, 0],
    [kh - 1 - top, H + top - (info.outHeight - 1) * sh - 1],
    [kw - 1 - left, W + left - (info.outWidth - 1) * sw - 1],
    [0, 0],
  ];
  const out = r.run('Conv2D', backend, { x: dyD, filter: wf }, {
    strides: [1, 1], pad, dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as NamedAttrMap);
  free(backend, wf);
  if (dyD !== dy) free(backend, dyD);
  return out;
}

/** True when our formulation covers this geometry (explicit pads inside the kernel window). */
export function padsWithinKernel(pads: { top: number; bottom: number; left: number; right: number }, kh: number, kw: number): boolean {
  return pads.top <= kh - 1 && pads.bottom <= kh - 1 && pads.left <= kw - 1 && pads.right <= kw - 1;
}
