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
// - 2D images (every case W x H x 1) are planned 2D without the anisotropy rule. For 2D plans (2D
//   images and anisotropic stacks) the in-plane spacing keeps context, after nnU-Net's
//   low-resolution idea: when the median image at the median spacing does not fit the 2D budget
//   (batch 2), the in-plane spacing is coarsened by the one factor that lets the largest patch the
//   budget allows cover ~90 % of the median image per axis. It is never coarser than that, so no
//   image is upsampled more than the budget needs (the issue-17 plan trained 0.3 mm frames at the
//   0.115 mm median: 2.6x upsampled, while a 256-pixel patch saw 3 cm of a 10-30 cm head).
//   3D plans are unchanged by this rule (plan.test.ts pins the hippocampus plan).
// - step-time estimate (estimateStepSeconds): the voxel budgets are time budgets. Measured on the
//   2-core machine, quiet, wasm backend with 2 compute threads, width 16, depth 4 (docs/ml-results.md,
//   bench:train): a 3D step costs ~17.7 us per voxel (40x56x40 x 2 = 179k voxels in 3.18 s, so the
//   3D budget of 90k voxels per core is a ~3.2 s step), a 2D step ~15.2 us per pixel (48x64 x 16 =
//   49k pixels in 0.75 s). The 2D budget is 32k pixels per core: a ~1 s step on 2 cores, so an
//   epoch of 50 steps takes about a minute. The estimate scales with 2/threads, (width/16)^2 and
//   depth/4 (every U-Net level costs about the same: widths double while voxels quarter).

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
  /** 2D plans only: how the in-plane spacing was chosen (absent from 3D plans). */
  context2d?: Context2d;
}

export interface Context2d {
  /** '2d-images': every case is W x H x 1; 'anisotropic-stack': thick slices planned 2D. */
  source: '2d-images' | 'anisotropic-stack';
  /** The in-plane spacing was made coarser than the median so the patch keeps context. */
  coarsened: boolean;
  /** Median image in pixels at its own spacing, and the median in-plane spacing (mm). */
  medianImage: [number, number];
  medianSpacing: [number, number];
  /** Fraction of the median image's extent the patch covers, per in-plane axis (<= 1). */
  coverage: [number, number];
  /** Images whose pixels are coarser than the target (upsampled), and the largest such factor (1 = none). */
  upsampledImages: number;
  maxUpsampling: number;
  /** Pixels per step the 2D budget allows. */
  pixelBudget: number;
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
/** 2D: pixels per core per step (~0.5 s of one core's work; see the header). */
const CPU_PIXELS_PER_CORE_2D = 32_768;
/** 2D: the patch the budget allows is sized for this many samples per batch. */
const MIN_BATCH_2D = 2;
/** 2D: per-axis share of the median image the patch should cover. */
const COVERAGE_2D = 0.9;
/** 2D: deeper levels add weights (4x each) more than context at these patch sizes. */
const MAX_DEPTH_2D = 5;

function roundUp(v: number, m: number): number {
  return Math.max(m, Math.ceil(v / m) * m);
}

export function proposePlan(fp: DatasetFingerprint, budget: ComputeBudget): TrainingPlan {
  if (!(budget.cores >= 1) || !(budget.memoryMB > 0)) {
    throw new SegloopError('INVALID_ARGUMENT', `Compute budget needs cores >= 1 and memoryMB > 0, got ${budget.cores} cores, ${budget.memoryMB} MB.`);
  }
  const notes: string[] = [];
  const target = [...fp.medianSpacing] as Vec3;
  const images2d = fp.shapes.every((s) => s[2] === 1);
  const ratio = Math.max(...target) / Math.min(...target);
  const anisotropic = !images2d && ratio > ANISOTROPY;
  if (images2d) {
    // One slice per image: Z is not resampled (the largest Z spacing maps every image to 1 slice).
    target[2] = Math.max(...fp.spacings.map((s) => s[2]));
    notes.push(`2D images (${fp.cases} of W x H x 1): 2D plan`);
  } else if (anisotropic) {
    const axis = target.indexOf(Math.max(...target));
    const tenth = percentiles(fp.spacings.map((s) => s[axis]), [10])[0];
    target[axis] = tenth;
    notes.push(`anisotropic spacing (ratio ${ratio.toFixed(1)} > ${ANISOTROPY}): axis ${'XYZ'[axis]} resampled to its 10th percentile ${tenth.toFixed(2)} mm, 2D plan`);
  } else {
    notes.push(`target spacing = median spacing ${target.map((t) => t.toFixed(2)).join(' x ')} mm`);
  }
  const dims: '2d' | '3d' = images2d || anisotropic ? '2d' : '3d';
  const baseWidth = budget.gpu ? 32 : 16;
  const perCoreVoxels = 90_000;
  const cpuBudget = budget.cores * perCoreVoxels * (16 / baseWidth);
  const memBudget = (budget.memoryMB * 1e6 * 0.5) / (4 * baseWidth * 24);
  const voxels = (p: number[]): number => p.reduce((a, b) => a * b, 1);
  const datasetVoxelsAt = (t: Vec3): number => fp.shapes.reduce((s, sh, n) => s + voxels([0, 1, 2].map((a) => (sh[a] * fp.spacings[n][a]) / t[a])), 0);
  if (dims === '2d') {
    const pixelBudget = Math.floor(budget.gpu ? memBudget * 4 : Math.min(budget.cores * CPU_PIXELS_PER_CORE_2D * (16 / baseWidth) ** 2, memBudget * 4));
    const plan2d = plan2dInPlane(fp, target, pixelBudget, images2d ? '2d-images' : 'anisotropic-stack', notes, budget);
    const maxBatchByData = Math.max(2, Math.floor((0.05 * datasetVoxelsAt(plan2d.targetSpacing)) / voxels(plan2d.patchSize)));
    const batchSize = Math.max(2, Math.min(Math.floor(pixelBudget / voxels(plan2d.patchSize)), maxBatchByData, 64));
    notes.push(`patch ${plan2d.patchSize.join('x')}, depth ${plan2d.depth}, batch ${batchSize} (${(batchSize * voxels(plan2d.patchSize)).toLocaleString('en-US')} px per step; estimated step ${estimateStepSeconds({ dims: 2, patchSize: plan2d.patchSize, batchSize, baseWidth, depth: plan2d.depth, threads: budget.cores }).toFixed(1)} s)`);
    return {
      dims, patchSize: plan2d.patchSize, batchSize, targetSpacing: plan2d.targetSpacing, normalisation: normalisationFor(fp), architecture: 'unet2d',
      depth: plan2d.depth, baseWidth, notes, context2d: plan2d.context2d,
    };
  }
  const medianAtTarget = [0, 1, 2].map((a) => median(fp.shapes.map((s, n) => (s[a] * fp.spacings[n][a]) / target[a]))) as Vec3;
  const voxelBudget = Math.floor(budget.gpu ? memBudget : Math.min(cpuBudget, memBudget));
  notes.push(`voxel budget per step ${voxelBudget} (${budget.gpu ? 'GPU memory' : `${budget.cores} CPU cores`})`);

  const axes = [0, 1, 2];
  let patch = axes.map((a) => medianAtTarget[a]);
  let depth = depthFor(patch);
  patch = patch.map((p) => roundUp(p, 2 ** (depth - 1)));
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
  const maxBatchByData = Math.max(2, Math.floor((0.05 * datasetVoxelsAt(target)) / voxels(patch)));
  const batchSize = Math.max(2, Math.min(Math.floor(voxelBudget / voxels(patch)), maxBatchByData, 16));
  notes.push(`patch ${patch.join('x')} (median shape ${medianAtTarget.map((m) => m.toFixed(0)).join('x')}), depth ${depth}, batch ${batchSize}`);
  return { dims, patchSize: patch, batchSize, targetSpacing: target, normalisation: normalisationFor(fp), architecture: 'unet3d', depth, baseWidth, notes };
}

function normalisationFor(fp: DatasetFingerprint): Normalisation {
  return fp.modality === 'CT'
    ? { kind: 'ct', lower: fp.foregroundIntensity.p00_5, upper: fp.foregroundIntensity.p99_5, mean: fp.foregroundIntensity.mean, std: fp.foregroundIntensity.std }
    : { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' };
}

const depthFor = (p: number[]): number => Math.max(2, Math.min(MAX_DEPTH, 1 + Math.floor(Math.log2(Math.min(...p) / MIN_FEATURE))));

/**
 * The in-plane half of a 2D plan: spacing, patch and depth (see the header). `target` holds the
 * median spacing with the slice axis already set; only X and Y are changed here.
 */
function plan2dInPlane(
  fp: DatasetFingerprint, median3: Vec3, pixelBudget: number, source: Context2d['source'], notes: string[], budget: ComputeBudget,
): { targetSpacing: Vec3; patchSize: number[]; depth: number; context2d: Context2d } {
  const target = [...median3] as Vec3;
  const medSpacing: [number, number] = [target[0], target[1]];
  // The median image in pixels at the median spacing (= its physical extent over the median spacing).
  const e0 = [0, 1].map((a) => median(fp.shapes.map((s, n) => (s[a] * fp.spacings[n][a]) / target[a]))) as [number, number];
  const maxPatch = pixelBudget / MIN_BATCH_2D;
  const fits = e0[0] * e0[1] <= maxPatch;
  // Coarsening factor k >= 1 such that a patch of COVERAGE * e0 / k pixels per axis fits maxPatch.
  const k = fits ? 1 : Math.sqrt((COVERAGE_2D ** 2 * e0[0] * e0[1]) / maxPatch);
  target[0] = medSpacing[0] * k;
  target[1] = medSpacing[1] * k;
  const want = e0.map((e) => (fits ? e : (COVERAGE_2D * e) / k));
  let depth = Math.min(MAX_DEPTH_2D, depthFor(want));
  const div = 2 ** (depth - 1);
  const patch = want.map((w) => Math.max(div * 2, Math.round(w / div) * div));
  if (fits) for (let a = 0; a < 2; a++) patch[a] = roundUp(want[a], div);
  // Rounding to the U-Net's multiple may overshoot the budget: take a step off the best-covered axis.
  while (patch[0] * patch[1] > maxPatch) {
    const cov = patch.map((p, a) => p / want[a]);
    const a = cov[0] >= cov[1] ? 0 : 1;
    if (patch[a] - div < div * 2) break;
    patch[a] -= div;
  }
  depth = Math.min(depth, depthFor(patch));
  const coverage = [0, 1].map((a) => Math.min(1, (patch[a] * target[a]) / (e0[a] * medSpacing[a]))) as [number, number];
  const inPlane = fp.spacings.map((s) => Math.max(s[0] / target[0], s[1] / target[1]));
  const upsampled = inPlane.filter((f) => f > 1 + 1e-9);
  const maxUp = upsampled.length ? Math.max(...upsampled) : 1;
  const mm = (v: number): string => (v >= 1 ? v.toFixed(2) : v.toPrecision(3));
  const spacings = fp.spacings.map((s) => s[0]);
  const pct = (c: [number, number]): string => (Math.abs(c[0] - c[1]) < 0.005 ? `${Math.round(100 * c[0])}%` : `${Math.round(100 * c[0])}% x ${Math.round(100 * c[1])}%`);
  const medImg = [0, 1].map((a) => fp.medianShape[a]).join('x');
  notes.push(`pixel budget per step ${pixelBudget.toLocaleString('en-US')} (${budget.gpu ? 'GPU memory' : `${budget.cores} CPU cores, ~1 s per step`})`);
  if (fits) {
    notes.push(`median image ${medImg} at ${mm(medSpacing[0])} mm fits the budget: training at the median spacing ${mm(target[0])} mm, the patch covers the whole median image`);
  } else {
    notes.push(
      `median image ${medImg} at ${mm(medSpacing[0])} mm; training at ${mm(target[0])} mm so a ${patch.join('x')} patch covers ${pct(coverage)} of the median image ` +
        `(at ${mm(medSpacing[0])} mm it would see ${pct([0, 1].map((a) => Math.min(1, patch[a] / e0[a])) as [number, number])})`,
    );
  }
  notes.push(
    upsampled.length
      ? `pixel sizes ${mm(Math.min(...spacings))}-${mm(Math.max(...spacings))} mm: ${upsampled.length} of ${fp.cases} images are coarser than ${mm(target[0])} mm and upsampled, by at most ${maxUp.toFixed(2)}x`
      : `pixel sizes ${mm(Math.min(...spacings))}-${mm(Math.max(...spacings))} mm: no image is upsampled (the coarsest is ${mm(Math.max(...spacings))} mm)`,
  );
  return {
    targetSpacing: target,
    patchSize: patch,
    depth,
    context2d: {
      source, coarsened: !fits, medianImage: [fp.medianShape[0], fp.medianShape[1]], medianSpacing: medSpacing, coverage,
      upsampledImages: upsampled.length, maxUpsampling: maxUp, pixelBudget,
    },
  };
}

/** Seconds per voxel of one training step at width 16, depth 4, 2 compute threads (see the header). */
export const STEP_SECONDS_PER_VOXEL = { 2: 15.2e-6, 3: 17.7e-6 } as const;

export interface StepShape {
  dims: 2 | 3;
  patchSize: readonly number[];
  batchSize: number;
  baseWidth: number;
  depth: number;
  /** Compute threads of the backend (the wasm pool size). */
  threads: number;
}

/**
 * What a step should cost on a CPU backend, from the cost model behind the voxel budgets (header):
 * voxels per step x seconds per voxel, scaled by 2/threads, (width/16)^2 and depth/4. A quiet
 * machine meets it within ~30 %; a step far above it means the plan is too big for this machine
 * (or the machine is busy).
 */
export function estimateStepSeconds(s: StepShape): number {
  const vox = s.batchSize * s.patchSize.reduce((a, b) => a * b, 1);
  return vox * STEP_SECONDS_PER_VOXEL[s.dims] * (2 / Math.max(1, s.threads)) * (s.baseWidth / 16) ** 2 * (s.depth / 4);
}

