// Sliding-window inference with Gaussian importance weighting (nnU-Net): tiles of the model's
// patch size, overlapping by `overlap` (0.5 = half a patch), each tile's softmax multiplied by a
// Gaussian centred on the tile (sigma = patch/8) and the weighted sums divided by the summed
// weights, so tile borders — where a conv net sees least context — count least. Images smaller
// than the patch are padded (centred, with 0 = the mean after z-scoring) and cropped back.
// 2D models run slice by slice along Z, several tiles per forward pass.
//
// Probability maps are voxel-major, class fastest: p[v * K + k], v in Volume order (i fastest).
import * as tf from '@tensorflow/tfjs-core';
import { SegloopError } from '../../../../shared/errors';
import { padToShape } from '../data/augment';
import type { Grid } from '../data/layout';
import type { Vec3 } from '../data/resample';

export interface ProbMap {
  shape: Vec3;
  numClasses: number;
  data: Float32Array;
}

/** Logits [B, ...spatial, K] for a batch [B, ...spatial, C] (layout.ts order). Must not keep its input. */
export type ForwardFn = (x: tf.Tensor) => tf.Tensor;

export interface SlidingWindowOptions {
  dims: 2 | 3;
  /** Model patch in Volume order: [PX, PY] for 2D, [PX, PY, PZ] for 3D. */
  patchSize: readonly number[];
  numClasses: number;
  /** Fraction of a patch that neighbouring tiles share (default 0.5). */
  overlap?: number;
  /** Tiles per forward pass (default 1 for 3D, 16 for 2D). */
  batchSize?: number;
  /** Gaussian sigma as a fraction of the patch size (default 1/8, nnU-Net's). */
  sigmaScale?: number;
  /** false: every tile weighs 1 (plain averaging; for tests and comparisons). */
  gaussian?: boolean;
}

/** Gaussian importance map over a patch [PX, PY, PZ] (Volume order), max 1, no zeros. */
export function gaussianImportance(patch: Vec3, sigmaScale = 1 / 8): Float32Array {
  const axes = patch.map((P) => {
    const c = Math.floor(P / 2);
    const s = Math.max(P * sigmaScale, 1e-6);
    return Float32Array.from({ length: P }, (_, i) => (P === 1 ? 1 : Math.exp(-((i - c) ** 2) / (2 * s * s))));
  });
  const [X, Y, Z] = patch;
  const out = new Float32Array(X * Y * Z);
  let max = 0;
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    const v = axes[0][i] * axes[1][j] * axes[2][k];
    out[i + X * (j + Y * k)] = v;
    if (v > max) max = v;
  }
  let minPos = Infinity;
  for (let v = 0; v < out.length; v++) {
    out[v] /= max;
    if (out[v] > 0 && out[v] < minPos) minPos = out[v];
  }
  // Far corners can underflow to 0; a zero weight would leave voxels undefined.
  for (let v = 0; v < out.length; v++) if (out[v] === 0) out[v] = minPos;
  return out;
}

/** Tile start positions along one axis: evenly spread, first at 0, last at size - patch. */
export function tileStarts(size: number, patch: number, overlap: number): number[] {
  if (size <= patch) return [0];
  const stride = Math.max(1, patch * (1 - overlap));
  const n = Math.ceil((size - patch) / stride) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (size - patch)) / (n - 1)));
}

function patch3(opts: SlidingWindowOptions): Vec3 {
  const p = opts.patchSize;
  if (p.length !== opts.dims || p.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new SegloopError('INVALID_ARGUMENT', `Patch size [${p.join(', ')}] does not fit a ${opts.dims}D model.`);
  }
  return opts.dims === 2 ? [p[0], p[1], 1] : [p[0], p[1], p[2]];
}

/**
 * Probabilities for a batch: `x` is [B, ...spatial, C] (layout.ts order) as `dims`; returns
 * softmax probabilities [B, ...spatial, K], class fastest. The async path (onnxruntime, engine.ts).
 */
export type ProbabilityFn = (x: Float32Array, dims: readonly number[]) => Promise<Float32Array>;

/** Tiles, padding and accumulators of one sliding-window pass; the forward pass is the caller's. */
class TilePlan {
  readonly P: Vec3;
  readonly K: number;
  readonly C: number;
  readonly tiles: Vec3[] = [];
  readonly batchSize: number;
  /** Batch dims of a full batch minus its first entry: [...spatial, C]. */
  readonly spatialDims: number[];
  private readonly orig: Vec3;
  private readonly padded: ReturnType<typeof padToShape>[];
  private readonly shape: Vec3;
  private readonly weight: Float32Array;
  private readonly sum: Float32Array;
  private readonly wsum: Float32Array;

  constructor(images: readonly Grid[], opts: SlidingWindowOptions) {
    if (images.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'Sliding-window inference needs at least one image channel.');
    const P = (this.P = patch3(opts));
    this.K = opts.numClasses;
    this.C = images.length;
    this.orig = images[0].shape;
    this.padded = images.map((g) => padToShape(g, P, 0));
    this.shape = this.padded[0].grid.shape;
    const [X, Y, Z] = this.shape;
    const overlap = opts.overlap ?? 0.5;
    if (!(overlap >= 0 && overlap < 1)) throw new SegloopError('INVALID_ARGUMENT', `Tile overlap must be in [0, 1), got ${overlap}.`);
    this.weight = opts.gaussian === false ? new Float32Array(P[0] * P[1] * P[2]).fill(1) : gaussianImportance(P, opts.sigmaScale);
    for (const z of tileStarts(Z, P[2], opts.dims === 2 ? 0 : overlap))
      for (const y of tileStarts(Y, P[1], overlap)) for (const x of tileStarts(X, P[0], overlap)) this.tiles.push([x, y, z]);
    const n = X * Y * Z;
    this.sum = new Float32Array(n * this.K);
    this.wsum = new Float32Array(n);
    this.batchSize = Math.max(1, opts.batchSize ?? (opts.dims === 2 ? 16 : 1));
    this.spatialDims = [...(opts.dims === 3 ? [P[2], P[1], P[0]] : [P[1], P[0]]), this.C];
  }

  /** Input values of the tiles [t0, t0 + batchSize) as [B, ...spatial, C]. */
  gather(t0: number): { xs: Float32Array; dims: number[]; count: number } {
    const { P, C } = this;
    const [X, Y] = this.shape;
    const batch = this.tiles.slice(t0, t0 + this.batchSize);
    const pn = P[0] * P[1] * P[2];
    const xs = new Float32Array(batch.length * pn * C);
    batch.forEach(([ox, oy, oz], b) => {
      for (let c = 0; c < C; c++) {
        const src = this.padded[c].grid.data;
        let v = 0;
        for (let k = 0; k < P[2]; k++) for (let j = 0; j < P[1]; j++) {
          const row = ox + X * (oy + j + Y * (oz + k));
          for (let i = 0; i < P[0]; i++, v++) xs[(b * pn + v) * C + c] = src[row + i];
        }
      }
    });
    return { xs, dims: [batch.length, ...this.spatialDims], count: batch.length };
  }

  /** Adds the Gaussian-weighted probabilities `pd` ([B, ...spatial, K]) of the tiles from t0. */
  accumulate(t0: number, pd: Float32Array): void {
    const { P, K, sum, wsum, weight } = this;
    const [X, Y] = this.shape;
    const batch = this.tiles.slice(t0, t0 + this.batchSize);
    const pn = P[0] * P[1] * P[2];
    if (pd.length !== batch.length * pn * K) {
      throw new SegloopError('INVALID_ARGUMENT', `The model returned ${pd.length} values for ${batch.length} tiles of ${pn} voxels x ${K} classes.`);
    }
    batch.forEach(([ox, oy, oz], b) => {
      let v = 0;
      for (let k = 0; k < P[2]; k++) for (let j = 0; j < P[1]; j++) {
        const row = ox + X * (oy + j + Y * (oz + k));
        for (let i = 0; i < P[0]; i++, v++) {
          const w = weight[v];
          const dst = row + i;
          wsum[dst] += w;
          const s = (b * pn + v) * K;
          for (let c = 0; c < K; c++) sum[dst * K + c] += w * pd[s + c];
        }
      }
    });
  }

  /** Crops the padding away and normalises by the summed weights. */
  finish(): ProbMap {
    const { K, sum, wsum } = this;
    const [X, Y] = this.shape;
    const offset = this.padded[0].offset;
    const [OX, OY, OZ] = this.orig;
    const out = new Float32Array(OX * OY * OZ * K);
    for (let k = 0; k < OZ; k++) for (let j = 0; j < OY; j++) for (let i = 0; i < OX; i++) {
      const src = i + offset[0] + X * (j + offset[1] + Y * (k + offset[2]));
      const dst = i + OX * (j + OY * k);
      const w = wsum[src];
      for (let c = 0; c < K; c++) out[dst * K + c] = sum[src * K + c] / w;
    }
    return { shape: [...this.orig], numClasses: K, data: out };
  }
}

/** Softmax probabilities of `images` (one Grid per channel, same shape) by Gaussian-weighted tiles. */
export function slidingWindowProbabilities(forward: ForwardFn, images: readonly Grid[], opts: SlidingWindowOptions): ProbMap {
  const plan = new TilePlan(images, opts);
  const K = plan.K;
  for (let t0 = 0; t0 < plan.tiles.length; t0 += plan.batchSize) {
    const { xs, dims } = plan.gather(t0);
    const probs = tf.tidy(() => {
      const x = tf.tensor(xs, dims, 'float32');
      const logits = forward(x);
      if (logits.shape[logits.rank - 1] !== K) {
        throw new SegloopError('INVALID_ARGUMENT', `The model outputs ${logits.shape[logits.rank - 1]} classes, expected ${K}.`);
      }
      return tf.softmax(logits, -1);
    });
    const pd = probs.dataSync() as Float32Array;
    probs.dispose();
    plan.accumulate(t0, pd);
  }
  return plan.finish();
}

/** The same through an asynchronous probability function (onnxruntime; see engine.ts). */
export async function slidingWindowProbabilitiesAsync(probabilities: ProbabilityFn, images: readonly Grid[], opts: SlidingWindowOptions): Promise<ProbMap> {
  const plan = new TilePlan(images, opts);
  for (let t0 = 0; t0 < plan.tiles.length; t0 += plan.batchSize) {
    const { xs, dims } = plan.gather(t0);
    plan.accumulate(t0, await probabilities(xs, dims));
  }
  return plan.finish();
}

/** Mirror a probability map along one axis (0 = X, 1 = Y, 2 = Z). */
export function flipProbMap(p: ProbMap, axis: 0 | 1 | 2): ProbMap {
  const [X, Y, Z] = p.shape;
  const K = p.numClasses;
  const out = new Float32Array(p.data.length);
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    const si = axis === 0 ? X - 1 - i : i, sj = axis === 1 ? Y - 1 - j : j, sk = axis === 2 ? Z - 1 - k : k;
    const d = (i + X * (j + Y * k)) * K;
    const s = (si + X * (sj + Y * sk)) * K;
    for (let c = 0; c < K; c++) out[d + c] = p.data[s + c];
  }
  return { shape: [...p.shape], numClasses: K, data: out };
}

/** Per-voxel argmax -> class indices. */
export function argmaxLabels(p: ProbMap): Uint8Array {
  const K = p.numClasses;
  const n = p.data.length / K;
  const out = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    let best = 0;
    let bv = p.data[v * K];
    for (let c = 1; c < K; c++) {
      if (p.data[v * K + c] > bv) {
        bv = p.data[v * K + c];
        best = c;
      }
    }
    out[v] = best;
  }
  return out;
}
