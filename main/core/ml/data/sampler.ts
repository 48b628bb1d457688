// Training batches: seeded patch sampling with foreground oversampling (a fraction of patches
// is centred on a random voxel of a random present foreground class, nnU-Net style), one-pass
// augmentation, optional label dropout, and assembly into tensors in the layout of layout.ts:
//   3D: x [B, PZ, PY, PX, C] float32, y [B, PZ, PY, PX] int32
//   2D: x [B, PY, PX, C],            y [B, PY, PX]        (patches are single Z slices)
// patchSize is given in Volume order [PX, PY, PZ] ([PX, PY] for 2D).

import * as tf from '@tensorflow/tfjs-core';
import { SegloopError } from '../../../../shared/errors';
import { applyLabelDropout } from '../losses';
import { extractPatch, sampleAugmentation, type AugmentationConfig } from './augment';
import type { Grid } from './layout';
import { createRng, type Rng } from './prng';
import type { Vec3 } from './resample';

export interface TrainingCase {
  id: string;
  /** preprocessed channels (same shape) */
  images: Grid[];
  /** preprocessed label, class indices */
  label: Grid;
  /** 0/1 per class: which classes were annotated in this image (default: all) */
  labelledClasses?: number[];
}

export interface SamplerOptions {
  dims: 2 | 3;
  patchSize: number[];
  batchSize: number;
  numClasses: number;
  /** fraction of patches centred on foreground (default 1/3) */
  foregroundFraction?: number;
  augmentation: AugmentationConfig;
  seed: number;
  /** label dropout probability (literature 003); 0 = off */
  labelDropout?: number;
}

export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor;
  /** B x K 0/1 flags for the loss (after label dropout) */
  labelled: number[][];
  /** B x K: class has voxels in this patch */
  present: boolean[][];
  caseIds: string[];
}

export interface PreparedCase {
  c: TrainingCase;
  /** voxel indices per foreground class (index 0 unused) */
  fg: Int32Array[];
}

/**
 * The cases a sampler draws from, by index. An array of cases is the in-memory source; the
 * preprocessing cache (case-cache-store.ts) is a lazy one that reads a case when it is drawn and
 * keeps a bounded number decoded. get() is synchronous because next() is.
 */
export interface CaseSource {
  readonly size: number;
  /** Image channels of every case (checked when the source was made). */
  readonly channels: number;
  get(index: number): PreparedCase;
}

export function prepareCase(c: TrainingCase, K: number): PreparedCase {
  const counts = new Array<number>(K).fill(0);
  const d = c.label.data;
  for (let i = 0; i < d.length; i++) counts[d[i]]++;
  const fg = counts.map((n) => new Int32Array(n));
  const fill = new Array<number>(K).fill(0);
  for (let i = 0; i < d.length; i++) {
    const k = d[i];
    if (k > 0) fg[k][fill[k]++] = i;
  }
  return { c, fg };
}

function isCaseSource(x: readonly TrainingCase[] | CaseSource): x is CaseSource {
  return !Array.isArray(x);
}

export interface PatchSampler {
  next(): Batch;
  readonly rng: Rng;
}

/** In-memory cases as a source: checked and prepared up front. */
export function memoryCaseSource(cases: readonly TrainingCase[], numClasses: number): CaseSource {
  if (cases.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'There are no labelled cases to train on.');
  const channels = cases[0].images.length;
  for (const c of cases) {
    if (c.images.length !== channels) throw new SegloopError('INVALID_ARGUMENT', `Case ${c.id} has ${c.images.length} channels, expected ${channels}.`);
    if (c.images.some((g) => g.shape.some((s, a) => s !== c.label.shape[a]))) {
      throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `Case ${c.id}: image and label shapes differ after preprocessing.`);
    }
  }
  const prepared = cases.map((c) => prepareCase(c, numClasses));
  return { size: prepared.length, channels, get: (i) => prepared[i] };
}

export function createPatchSampler(cases: readonly TrainingCase[] | CaseSource, opts: SamplerOptions): PatchSampler {
  const K = opts.numClasses;
  const ps: Vec3 = opts.dims === 2 ? [opts.patchSize[0], opts.patchSize[1], 1] : [opts.patchSize[0], opts.patchSize[1], opts.patchSize[2]];
  if (ps.some((v) => !Number.isInteger(v) || v < 1) || opts.patchSize.length !== opts.dims) {
    throw new SegloopError('INVALID_ARGUMENT', `patchSize must have ${opts.dims} positive integers, got [${opts.patchSize.join(', ')}].`);
  }
  const source = isCaseSource(cases) ? cases : memoryCaseSource(cases, K);
  if (source.size === 0) throw new SegloopError('NO_TRAINING_DATA', 'There are no labelled cases to train on.');
  const channels = source.channels;
  const rng = createRng(opts.seed);
  const fgFrac = opts.foregroundFraction ?? 1 / 3;

  const pickCentre = (p: PreparedCase, forceFg: boolean): Vec3 => {
    const [X, Y, Z] = p.c.label.shape;
    const classes = p.fg.map((a, k) => (k > 0 && a.length > 0 ? k : -1)).filter((k) => k > 0);
    if (forceFg && classes.length > 0) {
      const k = classes[rng.int(classes.length)];
      const v = p.fg[k][rng.int(p.fg[k].length)];
      return [v % X, Math.floor(v / X) % Y, Math.floor(v / (X * Y))];
    }
    // Random centre such that the (un-augmented) patch lies inside when the image is big enough.
    const pick = (n: number, P: number): number => {
      const h = Math.floor(P / 2);
      return n >= P ? h + rng.int(n - P + 1) : rng.int(n);
    };
    return [pick(X, ps[0]), pick(Y, ps[1]), pick(Z, ps[2])];
  };

  const next = (): Batch => {
    const B = opts.batchSize;
    const n = ps[0] * ps[1] * ps[2];
    const xs = new Float32Array(B * n * channels);
    const ys = new Int32Array(B * n);
    const labelled: number[][] = [];
    const present: boolean[][] = [];
    const ids: string[] = [];
    for (let b = 0; b < B; b++) {
      const p = source.get(rng.int(source.size));
      const centre = pickCentre(p, rng.chance(fgFrac));
      const params = sampleAugmentation(rng, opts.augmentation, ps);
      const patch = extractPatch(p.c.images, p.c.label, centre, ps, params);
      const lab = patch.label as Int32Array;
      ys.set(lab, b * n);
      for (let c = 0; c < channels; c++) {
        const src = patch.images[c];
        const off = b * n * channels;
        if (channels === 1) xs.set(src, off);
        else for (let v = 0; v < n; v++) xs[off + v * channels + c] = src[v];
      }
      const pres = new Array<boolean>(K).fill(false);
      for (const v of lab) pres[v] = true;
      present.push(pres);
      labelled.push(p.c.labelledClasses ? [...p.c.labelledClasses] : new Array<number>(K).fill(1));
      ids.push(p.c.id);
    }
    const finalLabelled = opts.labelDropout ? applyLabelDropout(labelled, present, opts.labelDropout, rng) : labelled;
    const spatial = opts.dims === 3 ? [ps[2], ps[1], ps[0]] : [ps[1], ps[0]];
    return {
      x: tf.tensor(xs, [B, ...spatial, channels], 'float32'),
      y: tf.tensor(ys, [B, ...spatial], 'int32'),
      labelled: finalLabelled,
      present,
      caseIds: ids,
    };
  };
  return { next, rng };
}
