// Element-wise training kernels on the native addon (native/conv3d/src/conv3d.cc), for the wasm
// backend: the fused instance/batch norm of norm-fused.ts (same arithmetic, double accumulators,
// so the same results; samples split over threads) and the LeakyRelu gradient in one pass (tfjs'
// gradient is three kernels: Greater, Mul, Select, each allocating a full tensor). The JS / stock
// paths stay when the addon is not built, is an older build without these entry points, is
// disabled (SEGLOOP_NATIVE_CONV=0, or SEGLOOP_NATIVE_OPS=0 for these kernels only), or the backend
// is not wasm.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { sizeOf } from './kernel-runner';
import { activeNativeConv, isWasmHeap, nativeConvThreads } from './native-conv3d';

let enabledOps = process.env.SEGLOOP_NATIVE_OPS !== '0';

/** Switch these kernels off/on at run time (benchmarks alternate both in one process). */
export function setNativeOpsEnabled(on: boolean): void {
  enabledOps = on;
}

function addon(backend: KernelBackend): ReturnType<typeof activeNativeConv> {
  return enabledOps && isWasmHeap(backend) ? activeNativeConv() : null;
}

export function nativeOpsActive(): boolean {
  const a = enabledOps ? activeNativeConv() : null;
  return Boolean(a?.normForward && a.normBackward && a.leakyReluGrad) && tf.getBackend() === 'wasm';
}

/** y, xhat, invStd of norm-fused.ts's forward, or null (then the JS kernel runs). */
export function nativeNormForward(
  backend: KernelBackend, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, G: number, S: number, C: number, eps: number,
): TensorInfo[] | null {
  const a = addon(backend);
  if (!a?.normForward || !isWasmHeap(backend) || [x, gamma, beta].some((t) => t.dtype !== 'float32')) return null;
  const y = backend.makeOutput([...x.shape], 'float32');
  const xh = backend.makeOutput([...x.shape], 'float32');
  const inv = backend.makeOutput([G, C], 'float32');
  // Views after every allocation (a heap growth detaches older ones).
  const v = (t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t);
  a.normForward(v(x), v(gamma), v(beta), v(y), v(xh), v(inv), Int32Array.from([G, S, C]), eps, nativeConvThreads());
  return [y, xh, inv];
}

/** dx, dGamma, dBeta of norm-fused.ts's backward, or null. */
export function nativeNormBackward(
  backend: KernelBackend, dy: TensorInfo, xh: TensorInfo, inv: TensorInfo, gamma: TensorInfo, G: number, S: number, C: number,
): TensorInfo[] | null {
  const a = addon(backend);
  if (!a?.normBackward || !isWasmHeap(backend) || [dy, xh, inv, gamma].some((t) => t.dtype !== 'float32')) return null;
  const dx = backend.makeOutput([...dy.shape], 'float32');
  const dg = backend.makeOutput([C], 'float32');
  const db = backend.makeOutput([C], 'float32');
  const v = (t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t);
  a.normBackward(v(dy), v(xh), v(inv), v(gamma), v(dx), v(dg), v(db), Int32Array.from([G, S, C]), nativeConvThreads());
  return [dx, dg, db];
}

export const LEAKY_RELU_GRAD = 'SegloopLeakyReluGrad';

function leakyReluGradKernel(backend: KernelBackend, dy: TensorInfo, x: TensorInfo, alpha: number): TensorInfo {
  const a = addon(backend);
  if (!a?.leakyReluGrad || !isWasmHeap(backend) || dy.dtype !== 'float32' || x.dtype !== 'float32' || sizeOf(dy.shape) !== sizeOf(x.shape)) {
    // Only dispatched when nativeOpsActive() said yes; a mismatch here is a bug, not a fallback.
    throw new Error(`${LEAKY_RELU_GRAD}: native addon inactive or inputs not float32 of one size`);
  }
  const dx = backend.makeOutput([...x.shape], 'float32');
  a.leakyReluGrad(backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dx), alpha, nativeConvThreads());
  return dx;
}

let registered = false;

/**
 * Registers the one-pass LeakyRelu gradient kernel on wasm and replaces tfjs' LeakyRelu gradient
 * with one that uses it when nativeOpsActive(), else computes exactly tfjs' own formula.
 */
export function registerNativeOps(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: LEAKY_RELU_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) =>
      leakyReluGradKernel(backend as KernelBackend, inputs.dy as TensorInfo, inputs.x as TensorInfo, (attrs as NamedAttrMap).alpha as number),
  });
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      const alpha = attrs.alpha as number;
      return {
        x: () => nativeOpsActive() && g.dtype === 'float32' && x.dtype === 'float32'
          ? (tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: g, x }, { alpha }) as tf.Tensor)
          // tfjs-core's LeakyRelu_grad.
          : tf.where(tf.greater(x, 0), g, tf.mul(g, alpha)),
      };
    },
  });
}
