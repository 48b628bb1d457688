// MaxPool3D and its gradient for channels-last 5D tensors, and the 2D MaxPool gradient.
//
// Why ours: tfjs-backend-wasm 4.22's MaxPool3D returns a wrong maximum for a fraction of the
// windows (measured: 1,377 of 358,400 outputs at the unet3d shape [2,40,56,40,16], 2x2x2 stride 2,
// 'valid'; 200 of 3,840 with 'same' on odd sizes), so every 3D U-Net on wasm trained and predicted
// through a corrupted encoder; and its 2D MaxPoolGrad routes the gradient to a wrong position for
// ~1.3% of the input pixels (10,409 of 786,432 at the unet2d shape [16,48,64,16]; its 2D forward
// is right), so every 2D U-Net trained on wasm got partly wrong encoder gradients. These loops visit each input voxel once per window with the channel
// axis innermost (contiguous in NDHWC), so they are memory-bound like the stock kernel.
// Semantics follow tfjs' cpu kernels: windows and padding from computePool3DInfo, padded taps
// ignored, the gradient routed to the window's maximum (the first one on ties).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { allocOutput, viewValues } from './kernel-runner';

type Pool3DInfo = ReturnType<typeof tf.backend_util.computePool3DInfo>;

/** What the loops need: a 2D pooling is a 3D one with depth 1. */
interface PoolGeometry {
  batchSize: number; inDepth: number; inHeight: number; inWidth: number; inChannels: number;
  outDepth: number; outHeight: number; outWidth: number;
  strideDepth: number; strideHeight: number; strideWidth: number;
  filterDepth: number; filterHeight: number; filterWidth: number;
  padInfo: { front: number; top: number; left: number };
}

export function pool2dGeometry(xShape: readonly number[], attrs: NamedAttrMap): PoolGeometry {
  if (xShape.length !== 4) throw new Error(`MaxPool: expected a 4D input, got shape [${xShape.join(', ')}]`);
  const i = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return {
    ...i, inDepth: 1, outDepth: 1, strideDepth: 1, filterDepth: 1,
    padInfo: { front: 0, top: i.padInfo.top, left: i.padInfo.left },
  };
}

export function pool3dInfo(xShape: readonly number[], attrs: NamedAttrMap): Pool3DInfo {
  if (xShape.length !== 5) throw new Error(`MaxPool3D: expected a 5D input, got shape [${xShape.join(', ')}]`);
  const format = attrs.dataFormat as string | undefined;
  if (format != null && format !== 'NDHWC') throw new Error(`MaxPool3D: only NDHWC is supported, got ${format}`);
  return tf.backend_util.computePool3DInfo(
    xShape as [number, number, number, number, number],
    attrs.filterSize as number | [number, number, number],
    attrs.strides as number | [number, number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
}

/**
 * Walks every output window; for each in-range tap calls visit(outBase, inBase) where both are
 * flat offsets of channel 0 (channels are contiguous at both ends).
 */
function forEachTap(info: PoolGeometry, visit: (outBase: number, inBase: number, first: boolean) => void): void {
  const { batchSize: N, inDepth: D, inHeight: H, inWidth: W, inChannels: C, outDepth: OD, outHeight: OH, outWidth: OW } = info;
  const { strideDepth: sd, strideHeight: sh, strideWidth: sw, filterDepth: kd, filterHeight: kh, filterWidth: kw } = info;
  const front = info.padInfo.front;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      const d0 = od * sd - front;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * sh - top;
        for (let ow = 0; ow < OW; ow++) {
          const w0 = ow * sw - left;
          const outBase = (((n * OD + od) * OH + oh) * OW + ow) * C;
          let first = true;
          for (let a = Math.max(0, d0); a < Math.min(D, d0 + kd); a++) {
            for (let b = Math.max(0, h0); b < Math.min(H, h0 + kh); b++) {
              for (let c = Math.max(0, w0); c < Math.min(W, w0 + kw); c++) {
                visit(outBase, (((n * D + a) * H + b) * W + c) * C, first);
                first = false;
              }
            }
          }
        }
      }
    }
  }
}

export function maxPool3dForward(backend: KernelBackend, x: TensorInfo, attrs: NamedAttrMap): TensorInfo {
  const info = pool3dInfo(x.shape, attrs);
  const C = info.inChannels;
  const { info: out, values: y } = allocOutput(backend, info.outShape);
  const xv = viewValues(backend, x);
  // A window without any in-range tap (only possible with explicit padding) stays -Infinity, as in tfjs cpu.
  y.fill(Number.NEGATIVE_INFINITY);
  forEachTap(info, (o, i) => {
    for (let ch = 0; ch < C; ch++) {
      const v = xv[i + ch];
      if (v > y[o + ch]) y[o + ch] = v;
    }
  });
  return out;
}

/** dx: each dy routed to the position of its window's (first) maximum in x. */
export function maxPool3dGrad(backend: KernelBackend, dy: TensorInfo, x: TensorInfo, attrs: NamedAttrMap): TensorInfo {
  return maxPoolGrad(backend, dy, x, pool3dInfo(x.shape, attrs));
}

export function maxPool2dGrad(backend: KernelBackend, dy: TensorInfo, x: TensorInfo, attrs: NamedAttrMap): TensorInfo {
  return maxPoolGrad(backend, dy, x, pool2dGeometry(x.shape, attrs));
}

function maxPoolGrad(backend: KernelBackend, dy: TensorInfo, x: TensorInfo, info: PoolGeometry): TensorInfo {
  const C = info.inChannels;
  const { info: out, values: dx } = allocOutput(backend, [...x.shape]);
  const xv = viewValues(backend, x);
  const dyv = viewValues(backend, dy);
  const best = new Float32Array(C);
  const arg = new Int32Array(C);
  let current = -1;
  const flush = (): void => {
    if (current < 0) return;
    for (let ch = 0; ch < C; ch++) if (arg[ch] >= 0) dx[arg[ch]] += dyv[current + ch];
  };
  forEachTap(info, (o, i, first) => {
    if (first) {
      flush();
      current = o;
      best.fill(Number.NEGATIVE_INFINITY);
      arg.fill(-1);
    }
    for (let ch = 0; ch < C; ch++) {
      const v = xv[i + ch];
      if (v > best[ch] || arg[ch] < 0) {
        best[ch] = v;
        arg[ch] = i + ch;
      }
    }
  });
  flush();
  return out;
}
