// Instance / batch normalisation as two fused kernels (forward, backward) on channels-last input.
// The composed version (moments, rsqrt, sub, mul, add; and ~10 ops in its gradient) makes ~20
// passes over 5D activations per norm layer per step, each allocating a full tensor; the profile of
// a unet3d step put those ops at ~15% of the step (docs/ml-results.md). Here: forward = 3 passes
// (mean, variance, write y and xhat), backward = 2 passes (per-group sums, write dx).
//   x viewed as [G, S, C]: instance norm G = N (statistics per sample and channel), batch norm
//   G = 1 (per channel over batch and space); S = the reduced size per group.
//   forward  -> y = xhat*gamma + beta, xhat = (x - mean) * invStd, invStd [G, C]
//   backward -> dx = invStd * (g*dy - mean_S(g*dy) - xhat * mean_S(g*dy*xhat)),
//               dGamma = sum(dy*xhat), dBeta = sum(dy) over everything but C
// Registered for the wasm and cpu backends (they expose their memory to us, kernel-runner.ts);
// other backends keep the composed ops.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { allocOutput, viewValues } from './kernel-runner';

export const NORM_FORWARD = 'SegloopNormForward';
export const NORM_BACKWARD = 'SegloopNormBackward';

function groupsOf(shape: readonly number[], perSample: boolean): { G: number; S: number; C: number } {
  const C = shape[shape.length - 1];
  const total = shape.reduce((a, b) => a * b, 1);
  const G = perSample ? shape[0] : 1;
  return { G, S: total / (G * C), C };
}

function forward(backend: KernelBackend, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, perSample: boolean, eps: number): TensorInfo[] {
  const { G, S, C } = groupsOf(x.shape, perSample);
  const y = allocOutput(backend, [...x.shape]).info;
  const xh = allocOutput(backend, [...x.shape]).info;
  const inv = allocOutput(backend, [G, C]).info;
  // Views after every allocation (a wasm heap growth detaches older ones).
  const xv = viewValues(backend, x);
  const gv = viewValues(backend, gamma);
  const bv = viewValues(backend, beta);
  const yv = viewValues(backend, y);
  const hv = viewValues(backend, xh);
  const iv = viewValues(backend, inv);
  const mean = new Float64Array(C);
  const sq = new Float64Array(C);
  const m32 = new Float32Array(C);
  for (let g = 0; g < G; g++) {
    const base = g * S * C;
    mean.fill(0);
    for (let s = 0, o = base; s < S; s++) for (let c = 0; c < C; c++, o++) mean[c] += xv[o];
    for (let c = 0; c < C; c++) {
      mean[c] /= S;
      m32[c] = mean[c];
    }
    // Two-pass variance: no cancellation for inputs far from zero.
    sq.fill(0);
    for (let s = 0, o = base; s < S; s++) {
      for (let c = 0; c < C; c++, o++) {
        const d = xv[o] - m32[c];
        sq[c] += d * d;
      }
    }
    for (let c = 0; c < C; c++) iv[g * C + c] = 1 / Math.sqrt(sq[c] / S + eps);
    for (let s = 0, o = base; s < S; s++) {
      for (let c = 0; c < C; c++, o++) {
        const h = (xv[o] - m32[c]) * iv[g * C + c];
        hv[o] = h;
        yv[o] = h * gv[c] + bv[c];
      }
    }
  }
  return [y, xh, inv];
}

function backward(backend: KernelBackend, dy: TensorInfo, xh: TensorInfo, inv: TensorInfo, gamma: TensorInfo, perSample: boolean): TensorInfo[] {
  const { G, S, C } = groupsOf(dy.shape, perSample);
  const dx = allocOutput(backend, [...dy.shape]).info;
  const dg = allocOutput(backend, [C]).info;
  const db = allocOutput(backend, [C]).info;
  const dyv = viewValues(backend, dy);
  const hv = viewValues(backend, xh);
  const iv = viewValues(backend, inv);
  const gv = viewValues(backend, gamma);
  const dxv = viewValues(backend, dx);
  const dgv = viewValues(backend, dg);
  const dbv = viewValues(backend, db);
  const sdy = new Float64Array(C);
  const sdyh = new Float64Array(C);
  const accG = new Float64Array(C);
  const accB = new Float64Array(C);
  const a = new Float32Array(C);
  const m1 = new Float32Array(C);
  const m2 = new Float32Array(C);
  for (let g = 0; g < G; g++) {
    const base = g * S * C;
    sdy.fill(0);
    sdyh.fill(0);
    for (let s = 0, o = base; s < S; s++) {
      for (let c = 0; c < C; c++, o++) {
        const d = dyv[o];
        sdy[c] += d;
        sdyh[c] += d * hv[o];
      }
    }
    for (let c = 0; c < C; c++) {
      accB[c] += sdy[c];
      accG[c] += sdyh[c];
      // dx = inv*g*(dy - mean(dy) - xhat*mean(dy*xhat)) = a*dy - m1 - xhat*m2
      a[c] = iv[g * C + c] * gv[c];
      m1[c] = (a[c] * sdy[c]) / S;
      m2[c] = (a[c] * sdyh[c]) / S;
    }
    for (let s = 0, o = base; s < S; s++) for (let c = 0; c < C; c++, o++) dxv[o] = a[c] * dyv[o] - m1[c] - hv[o] * m2[c];
  }
  for (let c = 0; c < C; c++) {
    dgv[c] = accG[c];
    dbv[c] = accB[c];
  }
  return [dx, dg, db];
}

const registeredOn = new Set<string>();

export function registerFusedNorm(backendName: string): string[] {
  if (backendName !== 'wasm' && backendName !== 'cpu') return [];
  if (!registeredOn.has(backendName)) {
    registeredOn.add(backendName);
    tf.registerKernel({
      kernelName: NORM_FORWARD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const a = attrs as NamedAttrMap;
        return forward(backend as KernelBackend, inputs.x as TensorInfo, inputs.gamma as TensorInfo, inputs.beta as TensorInfo, Boolean(a.perSample), a.epsilon as number);
      },
    });
    tf.registerKernel({
      kernelName: NORM_BACKWARD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        backward(backend as KernelBackend, inputs.dy as TensorInfo, inputs.xhat as TensorInfo, inputs.invStd as TensorInfo, inputs.gamma as TensorInfo, Boolean((attrs as NamedAttrMap).perSample)),
    });
  }
  return [NORM_FORWARD, NORM_BACKWARD];
}

/** Which grouping `axes` asks for, if the fused kernels can do it on the current backend. */
export function fusedNormMode(x: tf.Tensor, axes: readonly number[]): 'instance' | 'batch' | null {
  if (x.dtype !== 'float32' || x.rank < 3 || !tf.getKernel(NORM_FORWARD, tf.getBackend())) return null;
  const spatial = Array.from({ length: x.rank - 2 }, (_, i) => i + 1);
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  const sorted = [...axes].sort((p, q) => p - q);
  if (same(sorted, spatial)) return 'instance';
  if (same(sorted, [0, ...spatial])) return 'batch';
  return null;
}
