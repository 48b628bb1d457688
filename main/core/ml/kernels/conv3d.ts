// 3D convolutions as 2D ones: the depth taps of the filter are folded into the channel axis.
//   gather:  x [N,D,H,W,C] -> x' [N*Do, H, W, kd*C] with x'[n*Do+d, h, w, k*C+c] = x[n, d*sd+k-front, h, w, c]
//   filter:  W [kd,kh,kw,C,Co] -> W' [kh,kw,kd*C,Co]
// Then Conv3D = Conv2D(x', W'), its dW = Conv2D-dW(x', dy') unfolded, and its dX = scatter-add
// (the adjoint of gather) of the 2D dX. All heavy work lands on the backend's Conv2D (XNNPACK on
// wasm), which is ~50x faster than the stock wasm Conv3D loops and, unlike them, correct.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelRunner, allocOutput, free, viewValues } from './kernel-runner';
import { type Conv2DGeometry, conv2dFilterGradT, conv2dInputGrad, gatherTransposed, padsWithinKernel } from './conv2d-grads';

type Pad = 'valid' | 'same' | number;

export interface Conv3DGeometry {
  strides: [number, number, number];
  pad: Pad;
}

export function conv3dGeometry(attrs: NamedAttrMap): Conv3DGeometry {
  const s = attrs.strides as number | number[];
  return { strides: typeof s === 'number' ? [s, s, s] : [s[0], s[1], s[2]], pad: attrs.pad as Pad };
}

interface Plan {
  kd: number; kh: number; kw: number; cin: number; cout: number;
  n: number; d: number; h: number; w: number; outD: number;
  front: number; sd: number;
  g2: Conv2DGeometry;
}

function plan(xShape: number[], filterShape: number[], g: Conv3DGeometry): Plan | null {
  const info = tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number], g.strides, 1, g.pad);
  const p = info.padInfo;
  const [kd, kh, kw, cin, cout] = filterShape;
  if (!padsWithinKernel(p, kh, kw) || p.front > kd - 1 || p.back > kd - 1) return null;
  return {
    kd, kh, kw, cin, cout,
    n: xShape[0], d: xShape[1], h: xShape[2], w: xShape[3], outD: info.outDepth,
    front: p.front, sd: g.strides[0],
    g2: { strides: [g.strides[1], g.strides[2]], pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]] },
  };
}

/** True when the folded view is a plain reshape (1-tap depth, no stride/padding in depth). */
function trivialDepth(p: Plan): boolean {
  return p.kd === 1 && p.sd === 1 && p.front === 0 && p.outD === p.d;
}

export function depthGather(r: KernelRunner, backend: KernelBackend, x: TensorInfo, p: Plan): TensorInfo {
  const { n: N, d: D, h, w, cin: C, kd, sd, front, outD } = p;
  if (trivialDepth(p)) return r.reshape(backend, x, [N * D, h, w, C]);
  const hw = h * w;
  const kc = kd * C;
  const { info, values: out } = allocOutput(backend, [N * outD, h, w, kc]);
  const src = viewValues(backend, x);
  for (let nn = 0; nn < N; nn++) {
    for (let dd = 0; dd < outD; dd++) {
      for (let k = 0; k < kd; k++) {
        const z = dd * sd + k - front;
        if (z < 0 || z >= D) continue;
        let s0 = (nn * D + z) * hw * C;
        let d0 = (nn * outD + dd) * hw * kc + k * C;
        for (let q = 0; q < hw; q++, s0 += C, d0 += kc) {
          for (let c = 0; c < C; c++) out[d0 + c] = src[s0 + c];
        }
      }
    }
  }
  return info;
}

/** Adjoint of depthGather: x' [N*Do,H,W,kd*C] -> [N,D,H,W,C], summing overlapping taps. */
export function depthScatterAdd(r: KernelRunner, backend: KernelBackend, xg: TensorInfo, p: Plan): TensorInfo {
  const { n: N, d: D, h, w, cin: C, kd, sd, front, outD } = p;
  if (trivialDepth(p)) return r.reshape(backend, xg, [N, D, h, w, C]);
  const hw = h * w;
  const kc = kd * C;
  const { info, values: out } = allocOutput(backend, [N, D, h, w, C]);
  const src = viewValues(backend, xg);
  for (let nn = 0; nn < N; nn++) {
    for (let dd = 0; dd < outD; dd++) {
      for (let k = 0; k < kd; k++) {
        const z = dd * sd + k - front;
        if (z < 0 || z >= D) continue;
        let d0 = (nn * D + z) * hw * C;
        let s0 = (nn * outD + dd) * hw * kc + k * C;
        for (let q = 0; q < hw; q++, d0 += C, s0 += kc) {
          for (let c = 0; c < C; c++) out[d0 + c] += src[s0 + c];
        }
      }
    }
  }
  return info;
}

function foldFilter(r: KernelRunner, backend: KernelBackend, filter: TensorInfo, p: Plan): TensorInfo {
  const t = r.transpose(backend, filter, [1, 2, 0, 3, 4]);
  const f = r.reshape(backend, t, [p.kh, p.kw, p.kd * p.cin, p.cout]);
  free(backend, t);
  return f;
}

export function conv3dForward(r: KernelRunner, backend: KernelBackend, x: TensorInfo, filter: TensorInfo, g: Conv3DGeometry): TensorInfo | null {
  const p = plan(x.shape, filter.shape, g);
  if (!p) return null;
  const xg = depthGather(r, backend, x, p);
  const wf = foldFilter(r, backend, filter, p);
  const y = r.run('Conv2D', backend, { x: xg, filter: wf }, {
    strides: p.g2.strides, pad: p.g2.pad, dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined,
  } as unknown as NamedAttrMap);
  free(backend, xg, wf);
  const out = r.reshape(backend, y, [p.n, p.outD, y.shape[1], y.shape[2], p.cout]);
  free(backend, y);
  return out;
}

export function conv3dFilterGrad(
  r: KernelRunner, backend: KernelBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], g: Conv3DGeometry,
): TensorInfo | null {
  const p = plan(x.shape, filterShape, g);
  if (!p) return null;
  const xgT = gatherTransposed(backend, x, { n: p.n, d: p.d, h: p.h, w: p.w, c: p.cin, kd: p.kd, sd: p.sd, front: p.front, outD: p.outD });
  const dy2 = r.reshape(backend, dy, [p.n * p.outD, dy.shape[2], dy.shape[3], p.cout]);
  const dw2 = conv2dFilterGradT(r, backend, xgT, dy2, [p.kh, p.kw, p.kd * p.cin, p.cout], p.g2);
  free(backend, xgT, dy2);
  const dw5 = r.reshape(backend, dw2, [p.kh, p.kw, p.kd, p.cin, p.cout]);
  free(backend, dw2);
  const out = r.transpose(backend, dw5, [2, 0, 1, 3, 4]);
  free(backend, dw5);
  return out;
}

export function conv3dInputGrad(
  r: KernelRunner, backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Conv3DGeometry,
): TensorInfo | null {
  const p = plan(inputShape, filter.shape, g);
  if (!p) return null;
  const wf = foldFilter(r, backend, filter, p);
  const dy2 = r.reshape(backend, dy, [p.n * p.outD, dy.shape[2], dy.shape[3], p.cout]);
  const dxg = conv2dInputGrad(r, backend, dy2, wf, [p.n * p.outD, p.h, p.w, p.kd * p.cin], p.g2);
  free(backend, wf, dy2);
  const out = depthScatterAdd(r, backend, dxg, p);
  free(backend, dxg);
  return out;
}
