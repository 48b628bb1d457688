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

/** dW of a dilation-1 NHWC 2D convolution. x [N,H,W,Ci], dy [N,Ho,Wo,Co] -> [kh,kw,Ci,Co]. */
export function conv2dFilterGrad(
  r: KernelRunner,
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  g: Conv2DGeometry,
): TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, g.strides, 1, g.pad, g.dimRoundingMode);
  const [, H, W] = x.shape;
  const { top, left } = info.padInfo;
  const [sh, sw] = g.strides;
  const [kh, kw] = filterShape;
  // Extent of x (padded) actually read by the forward convolution.
  const eh = (info.outHeight - 1) * sh + kh;
  const ew = (info.outWidth - 1) * sw + kw;
  const cropH = Math.min(H, eh - top);
  const cropW = Math.min(W, ew - left);
  let xT = r.transpose(backend, x, [3, 1, 2, 0]);
  if (cropH < H || cropW < W) {
    const cropped = r.runCurrent('Slice', backend, { x: xT }, { begin: [0, 0, 0, 0], size: [xT.shape[0], cropH, cropW, xT.shape[3]] });
    free(backend, xT);
    xT = cropped;
  }
  const dyT = r.transpose(backend, dy, [1, 2, 0, 3]);
  const pad = [[0, 0], [top, eh - top - cropH], [left, ew - left - cropW], [0, 0]];
  const res = r.run('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: [1, 1], pad, dilations: [sh, sw], dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as NamedAttrMap);
  free(backend, xT, dyT);
  const out = r.transpose(backend, res, [1, 2, 0, 3]);
  free(backend, res);
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
