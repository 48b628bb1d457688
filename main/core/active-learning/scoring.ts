// Scoring functions of active learning: pure functions from one image's per-class probability
// maps (the mean prediction and, where a score needs them, its samples: flip-TTA members,
// MC-dropout samples, ensemble/checkpoint members) to ONE number, "higher = more worth
// labelling". Registered by name (MONAI Label style); the name of a scoring function IS the key
// under which its value is stored in a prediction's `scores` and in an al_round
// (PREDICTION_SCORE_KEYS below): one key set for the whole product.
//
// Maps are voxel-major, class fastest (p[v * K + k], sliding-window.ts). Entropies in nats.
import { SegloopError } from '../../../shared/errors';
import type { ProbMap } from '../ml/inference/sliding-window';

export type SampleKind = 'flips' | 'mc' | 'members';

export interface ScoringInput {
  /** The prediction the user sees (mean over TTA flips / ensemble members when those ran). */
  mean: ProbMap;
  /** Flip-TTA members, each already flipped back (identity included). */
  flips?: readonly ProbMap[];
  /** MC-dropout samples (dropout active at inference), identity orientation. */
  mc?: readonly ProbMap[];
  /** Ensemble / checkpoint members (one mean map per model). */
  members?: readonly ProbMap[];
}

export interface ParamSpec {
  name: string;
  type: 'number' | 'integer' | 'string' | 'boolean';
  default: number | string | boolean | null;
  description: string;
}

export interface ScoringFunction {
  name: ScoreKey;
  description: string;
  /** Sample sets this score needs besides the mean map. */
  requires: readonly SampleKind[];
  params: readonly ParamSpec[];
  score(input: ScoringInput, params?: Record<string, unknown>): number;
}

/**
 * THE documented key set of prediction / AL scores (predictions.scores, al_rounds.scores.images):
 * - meanEntropy          mean voxel entropy of the mean map
 * - foregroundEntropy    mean entropy over predicted foreground dilated by `margin` voxels
 * - meanTtaVariance      mean voxel variance across flip-TTA members (mean over classes)
 * - mcVariance           the same across MC-dropout samples
 * - bald                 mutual information (BALD) of the MC-dropout samples
 * - margin               1 - mean voxel (top-1 - top-2) probability margin
 * - ensembleDisagreement mean fraction of members whose argmax differs from the mean's argmax
 * Beside them, not uncertainty: foregroundVoxels (total), foregroundVoxelsPerClass (index = class).
 */
export const PREDICTION_SCORE_KEYS = ['meanEntropy', 'foregroundEntropy', 'meanTtaVariance', 'mcVariance', 'bald', 'margin', 'ensembleDisagreement'] as const;
export type ScoreKey = (typeof PREDICTION_SCORE_KEYS)[number];

/** Which stored score the Cases screen shows as "uncertainty" when no round says otherwise. */
export const UNCERTAINTY_DISPLAY_ORDER: readonly ScoreKey[] = ['meanTtaVariance', 'bald', 'mcVariance', 'foregroundEntropy', 'meanEntropy', 'margin', 'ensembleDisagreement'];

/** The uncertainty to display from a scores object: `preferred` if present, else the first known key. */
export function uncertaintyFromScores(scores: Record<string, unknown> | null | undefined, preferred?: string | null): number | null {
  if (!scores) return null;
  const keys = preferred ? [preferred, ...UNCERTAINTY_DISPLAY_ORDER] : UNCERTAINTY_DISPLAY_ORDER;
  for (const key of keys) {
    const v = scores[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

function voxels(p: ProbMap): number {
  return p.data.length / p.numClasses;
}

function checkSame(a: ProbMap, b: ProbMap, what: string): void {
  if (a.numClasses !== b.numClasses || a.data.length !== b.data.length) {
    throw new SegloopError('INVALID_ARGUMENT', `${what}: probability maps differ in shape (${a.shape.join('x')}x${a.numClasses} vs ${b.shape.join('x')}x${b.numClasses}).`);
  }
}

function needSamples(samples: readonly ProbMap[] | undefined, min: number, what: string, mean: ProbMap): readonly ProbMap[] {
  if (!samples || samples.length < min) {
    throw new SegloopError('INVALID_ARGUMENT', `${what} needs at least ${min} samples, got ${samples?.length ?? 0}.`);
  }
  for (const s of samples) checkSame(mean, s, what);
  return samples;
}

function voxelEntropy(d: Float32Array | Float64Array, off: number, K: number): number {
  let h = 0;
  for (let c = 0; c < K; c++) {
    const q = d[off + c];
    if (q > 0) h -= q * Math.log(q);
  }
  return h;
}

export function argmaxMap(p: ProbMap): Uint8Array {
  const K = p.numClasses;
  const n = voxels(p);
  const out = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    let best = 0;
    for (let c = 1; c < K; c++) if (p.data[v * K + c] > p.data[v * K + best]) best = c;
    out[v] = best;
  }
  return out;
}

export function meanEntropyScore(p: ProbMap): number {
  const K = p.numClasses;
  const n = voxels(p);
  let t = 0;
  for (let v = 0; v < n; v++) t += voxelEntropy(p.data, v * K, K);
  return n ? t / n : 0;
}

/** Binary dilation of a mask by a (2m+1)^3 box (Chebyshev distance <= m), separable. */
export function dilateBox(mask: Uint8Array, shape: readonly [number, number, number], m: number): Uint8Array {
  if (m <= 0) return mask.slice();
  const [X, Y, Z] = shape;
  let cur = mask.slice();
  const strides = [1, X, X * Y];
  for (let a = 0; a < 3; a++) {
    const len = shape[a];
    const st = strides[a];
    const next = new Uint8Array(cur.length);
    for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
      const idx = [i, j, k][a];
      const v = i + X * (j + Y * k);
      if (!cur[v]) continue;
      const lo = Math.max(0, idx - m);
      const hi = Math.min(len - 1, idx + m);
      const base = v - idx * st;
      for (let t = lo; t <= hi; t++) next[base + t * st] = 1;
    }
    cur = next;
  }
  return cur;
}

/**
 * Mean entropy over the voxels predicted foreground, dilated by `margin` voxels: whole-image
 * entropy is dominated by the (certain) background of a small structure; this looks where the
 * structure and its boundary are. An image with no predicted foreground scores 0.
 */
export function foregroundEntropyScore(p: ProbMap, margin = 2): number {
  const K = p.numClasses;
  const lab = argmaxMap(p);
  const fg = Uint8Array.from(lab, (l) => (l > 0 ? 1 : 0));
  const region = dilateBox(fg, p.shape, Math.max(0, Math.floor(margin)));
  let t = 0;
  let n = 0;
  for (let v = 0; v < region.length; v++) {
    if (!region[v]) continue;
    t += voxelEntropy(p.data, v * K, K);
    n++;
  }
  return n ? t / n : 0;
}

/** Mean over voxels of the population variance across samples, averaged over classes (as tta.ts). */
export function sampleVarianceScore(samples: readonly ProbMap[]): number {
  const S = samples.length;
  const L = samples[0].data.length;
  const K = samples[0].numClasses;
  let total = 0;
  for (let i = 0; i < L; i++) {
    let m = 0;
    for (let s = 0; s < S; s++) m += samples[s].data[i];
    m /= S;
    let v = 0;
    for (let s = 0; s < S; s++) v += (samples[s].data[i] - m) ** 2;
    total += v / S;
  }
  return total / (L / K) / K;
}

/** BALD: H[mean of samples] - mean of H[sample], averaged over voxels (nats, >= 0). */
export function baldScore(samples: readonly ProbMap[]): number {
  const S = samples.length;
  const K = samples[0].numClasses;
  const n = samples[0].data.length / K;
  const mean = new Float64Array(K);
  let total = 0;
  for (let v = 0; v < n; v++) {
    mean.fill(0);
    let expH = 0;
    for (let s = 0; s < S; s++) {
      const d = samples[s].data;
      for (let c = 0; c < K; c++) mean[c] += d[v * K + c] / S;
      expH += voxelEntropy(d, v * K, K) / S;
    }
    total += voxelEntropy(mean, 0, K) - expH;
  }
  return n ? Math.max(0, total / n) : 0;
}

/** 1 - mean voxel margin between the two most probable classes (higher = less decided). */
export function marginScore(p: ProbMap): number {
  const K = p.numClasses;
  const n = voxels(p);
  let t = 0;
  for (let v = 0; v < n; v++) {
    let a = -Infinity;
    let b = -Infinity;
    for (let c = 0; c < K; c++) {
      const q = p.data[v * K + c];
      if (q > a) {
        b = a;
        a = q;
      } else if (q > b) b = q;
    }
    t += a - b;
  }
  return n ? 1 - t / n : 0;
}

/** Mean over voxels of the fraction of members whose argmax differs from the mean's argmax. */
export function disagreementScore(mean: ProbMap, members: readonly ProbMap[]): number {
  const ref = argmaxMap(mean);
  const votes = members.map(argmaxMap);
  let t = 0;
  for (let v = 0; v < ref.length; v++) {
    let d = 0;
    for (const m of votes) if (m[v] !== ref[v]) d++;
    t += d / votes.length;
  }
  return ref.length ? t / ref.length : 0;
}

const registry = new Map<string, ScoringFunction>();

export function registerScoringFunction(def: ScoringFunction): void {
  registry.set(def.name, def);
}

export function listScoringFunctions(): ScoringFunction[] {
  return [...registry.values()];
}

export function getScoringFunction(name: string): ScoringFunction {
  const def = registry.get(name);
  if (!def) throw new SegloopError('INVALID_ARGUMENT', `Unknown scoring function "${name}". Known: ${[...registry.keys()].join(', ')}.`, { name });
  return def;
}

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

registerScoringFunction({
  name: 'meanEntropy',
  description: 'Mean voxel entropy of the predicted class probabilities (nats).',
  requires: [],
  params: [],
  score: (i) => meanEntropyScore(i.mean),
});
registerScoringFunction({
  name: 'foregroundEntropy',
  description: 'Mean entropy over the predicted foreground dilated by a margin (voxels): uncertainty where the structure is.',
  requires: [],
  params: [{ name: 'margin', type: 'integer', default: 2, description: 'dilation of the predicted foreground, in voxels' }],
  score: (i, p) => foregroundEntropyScore(i.mean, num(p?.margin, 2)),
});
registerScoringFunction({
  name: 'meanTtaVariance',
  description: 'Mean voxel variance of the class probabilities across test-time flips.',
  requires: ['flips'],
  params: [],
  score: (i) => sampleVarianceScore(needSamples(i.flips, 2, 'meanTtaVariance', i.mean)),
});
registerScoringFunction({
  name: 'mcVariance',
  description: 'Mean voxel variance of the class probabilities across MC-dropout samples (models trained with dropout).',
  requires: ['mc'],
  params: [],
  score: (i) => sampleVarianceScore(needSamples(i.mc, 2, 'mcVariance', i.mean)),
});
registerScoringFunction({
  name: 'bald',
  description: 'BALD mutual information between prediction and weights from MC-dropout samples (nats).',
  requires: ['mc'],
  params: [],
  score: (i) => baldScore(needSamples(i.mc, 2, 'bald', i.mean)),
});
registerScoringFunction({
  name: 'margin',
  description: '1 minus the mean margin between the two most probable classes.',
  requires: [],
  params: [],
  score: (i) => marginScore(i.mean),
});
registerScoringFunction({
  name: 'ensembleDisagreement',
  description: 'Mean fraction of ensemble / checkpoint members whose label disagrees with the ensemble label.',
  requires: ['members'],
  params: [],
  score: (i) => disagreementScore(i.mean, needSamples(i.members, 2, 'ensembleDisagreement', i.mean)),
});

/** Per-class predicted voxel counts of the mean map's argmax (index = class; 0 = background). */
export function predictedVoxelsPerClass(p: ProbMap): number[] {
  const counts = new Array<number>(p.numClasses).fill(0);
  for (const l of argmaxMap(p)) counts[l]++;
  return counts;
}
