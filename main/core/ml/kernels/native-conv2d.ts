// 2D convolutions (NHWC) on the native conv addon (native/conv3d, native-conv3d.ts): a 2D layer is
// a volume of depth 1 with a filter of depth 1, the same memory layout, so the addon's im2col +
// sgemm kernels serve Conv2D / FusedConv2D (bias, linear activation), Conv2DBackpropFilter and
// Conv2DBackpropInput (also the transposed conv's forward) with zero copies. When the addon is not
// built, is disabled (SEGLOOP_NATIVE_CONV=0, or SEGLOOP_NATIVE_CONV2D=0 for the 2D path only), or
// a geometry is outside it (dilation != 1, NCHW, a fused activation other than linear, PReLU
// weights), these return null and register.ts keeps the wasm kernels (XNNPACK forward,
// conv2d-grads.ts gradients).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { sizeOf, viewValues } from './kernel-runner';
import type { Conv2DGeometry } from './conv2d-grads';
import { activeNativeConv, allFloat32, nativeConvThreads, nativeOutput } from './native-conv3d';

let enabled2d = process.env.SEGLOOP_NATIVE_CONV2D !== '0';

/** Switch the 2D path off/on at run time (benchmarks alternate both in one process). */
export function setNativeConv2dEnabled(on: boolean): void {
  enabled2d = on;
}

export function nativeConv2dEnabled(): boolean {
  return enabled2d && activeNativeConv() !== null;
}

function addon(): ReturnType<typeof activeNativeConv> {
  return enabled2d ? activeNativeConv() : null;
}

/**
 * The addon's 18-value geometry for a dilation-1 NHWC 2D convolution, or null when it is one the
 * addon does not do: [n,1,h,w,ci, 1,kh,kw,co, 1,sh,sw, 0,padTop,padLeft, 1,outH,outW].
 */
export function nativeGeometry2d(xShape: readonly number[], filterShape: readonly number[], g: Conv2DGeometry): Int32Array | null {
  if (xShape.length !== 4 || filterShape.length !== 4 || xShape[3] !== filterShape[2]) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    g.strides, 1, g.pad, g.dimRoundingMode);
  const p = info.padInfo;
  const [kh, kw, ci, co] = filterShape;
  if (p.top < 0 || p.left < 0 || p.top >= kh || p.left >= kw || info.outHeight < 1 || info.outWidth < 1) return null;
  return Int32Array.from([
    xShape[0], 1, xShape[1], xShape[2], ci, 1, kh, kw, co,
    1, g.strides[0], g.strides[1], 0, p.top, p.left,
    1, info.outHeight, info.outWidth,
  ]);
}

const outSize = (geo: Int32Array): number => geo[0] * geo[16] * geo[17] * geo[8];

/** Conv2D (bias null) or FusedConv2D with a [co] bias and linear activation; null = not handled. */
export function nativeConv2dForward(
  backend: KernelBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, g: Conv2DGeometry,
): TensorInfo | null {
  const a = addon();
  const geo = a && allFloat32(bias ? [x, filter, bias] : [x, filter]) ? nativeGeometry2d(x.shape, filter.shape, g) : null;
  if (!a || !geo || (bias && (sizeOf(bias.shape) !== geo[8] || a.forwardBias !== true))) return null;
  const out = nativeOutput(backend, [geo[0], geo[16], geo[17], geo[8]]);
  // Views after the allocation: a heap growth detaches older ones.
  a.forward(viewValues(backend, x), viewValues(backend, filter), out.values(), geo, nativeConvThreads(), bias ? viewValues(backend, bias) : null);
  return out.info;
}

export function nativeConv2dFilterGrad(
  backend: KernelBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], g: Conv2DGeometry,
): TensorInfo | null {
  const a = addon();
  const geo = a && allFloat32([x, dy]) ? nativeGeometry2d(x.shape, filterShape, g) : null;
  if (!a || !geo || sizeOf(dy.shape) !== outSize(geo)) return null;
  const out = nativeOutput(backend, [...filterShape]);
  a.filterGrad(viewValues(backend, x), viewValues(backend, dy), out.values(), geo, nativeConvThreads());
  return out.info;
}

export function nativeConv2dInputGrad(
  backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Conv2DGeometry,
): TensorInfo | null {
  const a = addon();
  const geo = a && allFloat32([dy, filter]) ? nativeGeometry2d(inputShape, filter.shape, g) : null;
  if (!a || !geo || sizeOf(dy.shape) !== outSize(geo)) return null;
  const out = nativeOutput(backend, [...inputShape]);
  a.inputGrad(viewValues(backend, dy), viewValues(backend, filter), out.values(), geo, nativeConvThreads());
  return out.info;
}
