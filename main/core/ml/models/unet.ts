// One configurable U-Net builder behind every registered architecture: plain or residual
// blocks, optional attention gates on the skips, 2D or 3D. Output: per-class LOGITS
// (no softmax; the losses apply it, inference applies tf.softmax).
//
// Structure (mirrored by ref/unet3d_reference.py for the parameter-count test):
//   level 0: block(in -> w0); level l > 0: down(2x) then block(w[l-1] -> w[l]), w[l] = min(base*2^l, maxWidth)
//   decoder level l = depth-2..0: up(w[l+1] -> w[l]) (transposed conv k2 s2, or nearest x2 + conv k3),
//   [attention gate on the skip], concat(skip, up), block(2*w[l] -> w[l]); head: conv k1 -> classes.
//   block = 2 x (conv k3 + bias, norm, leaky ReLU) [+ dropout]; residual block adds a
//   (conv k1 when widths differ) shortcut before the second activation.

import * as tfl from '@tensorflow/tfjs-layers';
import { Normalization, NearestUpsample } from './layers';
import { SegloopError } from '../../../../shared/errors';

export interface UNetConfig {
  dims: 2 | 3;
  inChannels: number;
  numClasses: number;
  /** Number of resolution levels (>= 2); patches must be divisible by 2^(depth-1). */
  depth: number;
  baseWidth: number;
  maxWidth: number;
  norm: 'instance' | 'batch' | 'none';
  /** Dropout rate after each block (0 disables; >0 also enables MC-dropout at inference). */
  dropout: number;
  residual: boolean;
  attention: boolean;
  upsample: 'transpose' | 'nearest';
  downsample: 'maxpool' | 'strided';
  leakySlope: number;
}

export const DEFAULT_UNET_CONFIG: UNetConfig = {
  dims: 3,
  inChannels: 1,
  numClasses: 2,
  depth: 4,
  baseWidth: 16,
  maxWidth: 320,
  norm: 'instance',
  dropout: 0,
  residual: false,
  attention: false,
  upsample: 'transpose',
  downsample: 'maxpool',
  leakySlope: 0.01,
};

type T = tfl.SymbolicTensor;

export function validateUNetConfig(c: UNetConfig): void {
  const bad = (msg: string): never => {
    throw new SegloopError('INVALID_ARGUMENT', `Invalid model configuration: ${msg}`, { config: c });
  };
  if (c.dims !== 2 && c.dims !== 3) bad(`dims must be 2 or 3, got ${String(c.dims)}`);
  if (!Number.isInteger(c.depth) || c.depth < 2 || c.depth > 7) bad(`depth must be an integer 2..7, got ${c.depth}`);
  if (!Number.isInteger(c.baseWidth) || c.baseWidth < 1) bad(`baseWidth must be a positive integer, got ${c.baseWidth}`);
  if (!Number.isInteger(c.inChannels) || c.inChannels < 1) bad(`inChannels must be >= 1, got ${c.inChannels}`);
  if (!Number.isInteger(c.numClasses) || c.numClasses < 2) bad(`numClasses must be >= 2 (background + one class), got ${c.numClasses}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) bad(`dropout must be in [0, 1), got ${c.dropout}`);
}

export interface BuildOptions {
  /**
   * Seed of the weight initialisation: every kernel gets He-normal values from its own stream
   * seeded by (seed, layer index), so the same seed gives the same weights. Without a seed tfjs
   * draws from Math.random (a model about to receive stored weights needs none).
   */
  seed?: number;
}

export function buildUNet(config: UNetConfig, name = 'unet', opts: BuildOptions = {}): tfl.LayersModel {
  const c = config;
  validateUNetConfig(c);
  const is3d = c.dims === 3;
  let n = 0;
  const uid = (s: string): string => `${s}_${n++}`;
  const seed = opts.seed;
  // Biases start at zero and norms at (1, 0): the kernels are the only random weights.
  const kernelInit = (): ReturnType<typeof tfl.initializers.heNormal> | 'heNormal' =>
    seed === undefined ? 'heNormal' : tfl.initializers.heNormal({ seed: ((seed >>> 0) % 1_000_003) * 1009 + n });

  const conv = (x: T, filters: number, kernel: number, stride = 1, useBias = true): T => {
    const args = { filters, kernelSize: kernel, strides: stride, padding: 'same' as const, useBias, kernelInitializer: kernelInit(), name: uid('conv') };
    return (is3d ? tfl.layers.conv3d(args) : tfl.layers.conv2d(args)).apply(x) as T;
  };
  const norm = (x: T): T => (c.norm === 'none' ? x : (new Normalization({ kind: c.norm, name: uid('norm') }).apply(x) as T));
  const act = (x: T): T => tfl.layers.leakyReLU({ alpha: c.leakySlope, name: uid('lrelu') }).apply(x) as T;

  const block = (x: T, filters: number, firstStride: number): T => {
    const inFilters = x.shape[x.shape.length - 1] as number;
    let y = act(norm(conv(x, filters, 3, firstStride)));
    y = norm(conv(y, filters, 3));
    if (c.residual) {
      const shortcut = inFilters === filters && firstStride === 1 ? x : norm(conv(x, filters, 1, firstStride));
      y = tfl.layers.add({ name: uid('res') }).apply([y, shortcut]) as T;
    }
    y = act(y);
    if (c.dropout > 0) y = tfl.layers.dropout({ rate: c.dropout, name: uid('drop') }).apply(y) as T;
    return y;
  };

  const up = (x: T, filters: number): T => {
    if (c.upsample === 'transpose') {
      const args = { filters, kernelSize: 2, strides: 2, padding: 'same' as const, kernelInitializer: kernelInit(), name: uid('upconv') };
      return (is3d ? tfl.layers.conv3dTranspose(args) : tfl.layers.conv2dTranspose(args)).apply(x) as T;
    }
    return conv(new NearestUpsample({ name: uid('upsample') }).apply(x) as T, filters, 3);
  };

  // Attention gate (Oktay et al. 2018, in MONAI's form: gating signal already at skip resolution).
  const gate = (skip: T, g: T, filters: number): T => {
    const inter = Math.max(1, Math.floor(filters / 2));
    const wg = norm(conv(g, inter, 1));
    const wx = norm(conv(skip, inter, 1));
    const sum = tfl.layers.reLU({ name: uid('att_relu') }).apply(tfl.layers.add({ name: uid('att_add') }).apply([wg, wx]) as T) as T;
    const psi = tfl.layers.activation({ activation: 'sigmoid', name: uid('att_sig') }).apply(norm(conv(sum, 1, 1))) as T;
    return tfl.layers.multiply({ name: uid('att_mul') }).apply([skip, psi]) as T;
  };

  const widths = Array.from({ length: c.depth }, (_, l) => Math.min(c.baseWidth * 2 ** l, c.maxWidth));
  const spatial: null[] = is3d ? [null, null, null] : [null, null];
  const input = tfl.input({ shape: [...spatial, c.inChannels], name: 'image' });

  const skips: T[] = [];
  let x: T = block(input, widths[0], 1);
  skips.push(x);
  for (let l = 1; l < c.depth; l++) {
    if (c.downsample === 'maxpool') {
      const p = { poolSize: 2, strides: 2, name: uid('pool') };
      x = (is3d ? tfl.layers.maxPooling3d(p) : tfl.layers.maxPooling2d(p)).apply(x) as T;
      x = block(x, widths[l], 1);
    } else {
      x = block(x, widths[l], 2);
    }
    skips.push(x);
  }
  for (let l = c.depth - 2; l >= 0; l--) {
    const u = up(x, widths[l]);
    const skip = c.attention ? gate(skips[l], u, widths[l]) : skips[l];
    x = tfl.layers.concatenate({ axis: -1, name: uid('concat') }).apply([skip, u]) as T;
    x = block(x, widths[l], 1);
  }
  const logits = conv(x, c.numClasses, 1);
  return tfl.model({ inputs: input, outputs: logits, name });
}
