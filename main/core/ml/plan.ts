// nnU-Net-style planning: a dataset fingerprint (computed once from the labelled cases) ->
// a default training plan, so users are not asked for twenty numbers.
//
// Rules (after Isensee et al. 2021, simplified for CPU-first training):
// - target spacing = per-axis median spacing; if the dataset is anisotropic (max/min median
//   spacing > 3) the coarse axis gets the 10th percentile of its spacings, and the plan is 2D
//   (slices along Z) because 3D convolutions across thick slices waste compute.
// - patch = median shape at the target spacing, rounded up to a multiple of 2^(depth-1),
//   depth chosen so the coarsest feature map is >= 4 voxels on the shortest axis; while
//   batch x patch exceeds the voxel budget the axis largest relative to the median shape shrinks.
// - voxel budget: CPU ~ 90k voxels per core per step at base width 16 (the DESIGN reference:
//   40x56x40 x batch 2 on 2 cores); GPU from memory (about 24 float32 activations per voxel per
//   base-width channel, half of the memory).
// - batch >= 2, grows into the budget but never covers more than 5% of the dataset's voxels.
// - normalisation: CT -> clip to the foreground 0.5/99.5 percentiles + dataset z-score;
//   anything else -> per-image 0.5/99.5 percentile clip + per-image z-score.

import type { Volume } from '../imaging/volume';
import { SegloopError } from '../../../shared/errors';
import type { Normalisation } from './data/intensity';
import { percentiles } from './data/intensity';
import { createRng } from './data/prng';
import type { Vec3 } from './data/resample';

export type Modality = 'CT' | 'MR' | 'other';

export interface DatasetFingerprint {
  cases: number;
  modality: Modality;
  numClasses: number;
  spacings: Vec3[];
  shapes: Vec3[];
  medianSpacing: Vec3;
  medianShape: Vec3;
  foregroundIntensity: { mean: number; std: number; median: number; p00_5: number; p99_5: number; min: number; max: number };
  /** fraction of all labelled voxels per class */
  classFrequencies: number[];
  /** fraction of cases in which each class occurs */
  classPresence: number[];
}

export interface ComputeBudget {
  cores: number;
  memoryMB: number;
  gpu: boolean;
}

export interface TrainingPlan {
  dims: '2d' | '3d';
  /** Volume order [X, Y, Z] (2D: [X, Y]) */
  patchSize: number[];
  batchSize: number;
  targetSpacing: Vec3;
  normalisation: Normalisation;
  architecture: 'unet2d' | 'unet3d';
  depth: number;
  baseWidth: number;
  /** why each number is what it is, for the UI and the logs */
  notes: string[];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export interface FingerprintCase {
  id?: string;
  image: Volume;
  label: Volume;
}

/** Computes the fingerprint; foreground intensities: all voxels when <= maxSamples per case, else a seeded sample. */
export function computeFingerprint(cases: readonly FingerprintCase[], opts: { modality: Modality; numClasses: number; maxSamplesPerCase?: number; seed?: number }): DatasetFingerprint {
  if (cases.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'Cannot plan training: there are no labelled images.');
  const K = opts.numClasses;
  const rng = createRng(opts.seed ?? 0);
  const maxS = opts.maxSamplesPerCase ?? 10000;
  const counts = new Array<number>(K).fill(0);
  const presence = new Array<number>(K).fill(0);
  const fg: number[] = [];
  const spacings: Vec3[] = [];
  const shapes: Vec3[] = [];
  cases.forEach((c, n) => {
    const name = c.id ?? `case ${n}`;
    if (c.image.shape.some((s, a) => s !== c.label.shape[a])) {
      throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `${name}: label shape ${c.label.shape.join('x')} differs from image ${c.image.shape.join('x')}.`);
    }
    spacings.push([...c.image.spacing]);
    shapes.push([...c.image.shape]);
    const caseCounts = new Array<number>(K).fill(0);
    const fgIdx: number[] = [];
    const l = c.label.data;
    for (let i = 0; i < l.length; i++) {
      const k = l[i];
      if (!Number.isInteger(k) || k < 0 || k >= K) {
        throw new SegloopError('LABEL_OUT_OF_SCHEMA', `${name}: voxel ${i} has label ${k}; the schema has classes 0..${K - 1}.`);
      }
      caseCounts[k]++;
      if (k > 0) fgIdx.push(i);
    }
    const take = fgIdx.length <= maxS ? fgIdx : Array.from({ length: maxS }, () => fgIdx[rng.int(fgIdx.length)]);
    for (const i of take) fg.push(c.image.data[i]);
    caseCounts.forEach((v, k) => {
      counts[k] += v;
      if (v > 0) presence[k]++;
    });
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const [p005, p50, p995] = fg.length ? percentiles(fg, [0.5, 50, 99.5]) : [0, 0, 0];
  let mean = 0;
  for (const v of fg) mean += v;
  mean /= Math.max(fg.length, 1);
  let v2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of fg) {
    v2 += (v - mean) ** 2;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    cases: cases.length,
    modality: opts.modality,
    numClasses: K,
    spacings,
    shapes,
    medianSpacing: [0, 1, 2].map((a) => median(spacings.map((s) => s[a]))) as Vec3,
    medianShape: [0, 1, 2].map((a) => median(shapes.map((s) => s[a]))) as Vec3,
    foregroundIntensity: { mean, std: Math.sqrt(v2 / Math.max(fg.length, 1)), median: p50, p00_5: p005, p99_5: p995, min: fg.length ? min : 0, max: fg.length ? max : 0 },
    classFrequencies: counts.map((c) => c / total),
    classPresence: presence.map((p) => p / cases.length),
  };
}

const ANISOTROPY = 3;
const MIN_FEATURE = 4;
const MAX_DEPTH = 6;

function roundUp(v: number, m: number): number {
  return Math.max(m, Math.ceil(v / m) * m);
}

export function proposePlan(fp: DatasetFingerprint, budget: ComputeBudget): TrainingPlan {
  if (!(budget.cores >= 1) || !(budget.memoryMB > 0)) {
    throw new SegloopError('INVALID_ARGUMENT', `Compute budget needs cores >= 1 and memoryMB > 0, got ${budget.cores} cores, ${budget.memoryMB} MB.`);
  }
  const notes: string[] = [];
  const target = [...fp.medianSpacing] as Vec3;
  const ratio = Math.max(...target) / Math.min(...target);
  const anisotropic = ratio > ANISOTROPY;
  if (anisotropic) {
    const axis = target.indexOf(Math.max(...target));
    const tenth = percentiles(fp.spacings.map((s) => s[axis]), [10])[0];
    target[axis] = tenth;
    notes.push(`anisotropic spacing (ratio ${ratio.toFixed(1)} > ${ANISOTROPY}): axis ${'XYZ'[axis]} resampled to its 10th percentile ${tenth.toFixed(2)} mm, 2D plan`);
  } else {
    notes.push(`target spacing = median spacing ${target.map((t) => t.toFixed(2)).join(' x ')} mm`);
  }
  const dims: '2d' | '3d' = anisotropic ? '2d' : '3d';
  const medianAtTarget = [0, 1, 2].map((a) => median(fp.shapes.map((s, n) => (s[a] * fp.spacings[n][a]) / target[a]))) as Vec3;
  const baseWidth = budget.gpu ? 32 : 16;
  const perCoreVoxels = 90_000;
  const cpuBudget = budget.cores * perCoreVoxels * (16 / baseWidth);
  const memBudget = (budget.memoryMB * 1e6 * 0.5) / (4 * baseWidth * 24);
  const voxelBudget = Math.floor(budget.gpu ? memBudget : Math.min(cpuBudget, memBudget)) * (dims === '2d' ? 4 : 1);
  notes.push(`voxel budget per step ${voxelBudget} (${budget.gpu ? 'GPU memory' : `${budget.cores} CPU cores`})`);

  const axes = dims === '3d' ? [0, 1, 2] : [0, 1];
  const depthFor = (p: number[]): number => Math.max(2, Math.min(MAX_DEPTH, 1 + Math.floor(Math.log2(Math.min(...p) / MIN_FEATURE))));
  let patch = axes.map((a) => medianAtTarget[a]);
  let depth = depthFor(patch);
  patch = patch.map((p) => roundUp(p, 2 ** (depth - 1)));
  const voxels = (p: number[]): number => p.reduce((a, b) => a * b, 1);
  while (2 * voxels(patch) > voxelBudget) {
    const rel = patch.map((p, i) => p / medianAtTarget[axes[i]]);
    const i = rel.indexOf(Math.max(...rel));
    const step = 2 ** (depth - 1);
    if (patch[i] - step < MIN_FEATURE * 2) {
      if (depth <= 2) break;
      depth--;
      continue;
    }
    patch[i] -= step;
    depth = Math.min(depth, depthFor(patch));
  }
  const datasetVoxels = fp.shapes.reduce((s, sh, n) => s + voxels([0, 1, 2].map((a) => (sh[a] * fp.spacings[n][a]) / target[a])), 0);
  const maxBatchByData = Math.max(2, Math.floor((0.05 * datasetVoxels) / voxels(patch)));
  const batchSize = Math.max(2, Math.min(Math.floor(voxelBudget / voxels(patch)), maxBatchByData, dims === '2d' ? 64 : 16));
  notes.push(`patch ${patch.join('x')} (median shape ${medianAtTarget.map((m) => m.toFixed(0)).join('x')}), depth ${depth}, batch ${batchSize}`);

  const normalisation: Normalisation =
    fp.modality === 'CT'
      ? { kind: 'ct', lower: fp.foregroundIntensity.p00_5, upper: fp.foregroundIntensity.p99_5, mean: fp.foregroundIntensity.mean, std: fp.foregroundIntensity.std }
      : { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' };
  return { dims, patchSize: patch, batchSize, targetSpacing: target, normalisation, architecture: dims === '3d' ? 'unet3d' : 'unet2d', depth, baseWidth, notes };
}
