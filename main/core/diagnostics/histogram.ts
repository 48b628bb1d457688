// Intensity summaries and the domain-shift scores between groups of images.
//
// Each image is normalised by its OWN 0.5th and 99.5th percentiles (values clipped to [0, 1]) and
// binned into `bins` equal bins; a group's histogram is the mean of its images' (each image weighs
// the same, whatever its size). Normalising per image removes scale (uint8 0..255 vs float 0..1e6)
// so the score compares the SHAPE of the distributions (contrast, skew, background share); the raw
// scale difference is reported separately as raw percentiles and a range-spread flag.
//
// Shift scores between two group histograms P and Q (both sum to 1):
//   - Jensen–Shannon divergence, base-2 logarithm: JSD = ½KL(P‖M) + ½KL(Q‖M), M = ½(P+Q); 0 (same) .. 1 (disjoint).
//   - Wasserstein-1 (earth mover's) distance on the normalised axis [0, 1]: Σ|CDF_P − CDF_Q|·binWidth; 0 .. 1.
import { percentileSorted } from '../base/stats';
import type { VoxelArray } from '../imaging/volume';

export const RAW_PERCENTILES = [0.5, 50, 99.5] as const;

export interface IntensityStats {
  min: number;
  max: number;
  mean: number;
  /** numpy.percentile (linear) at 0.5, 50, 99.5 over every voxel. */
  p0_5: number;
  p50: number;
  p99_5: number;
  /** Share of voxels with a non-integer value (0 for integer dtypes). */
  nonIntegerFraction: number;
  /** Percentile-normalised histogram (sums to 1). */
  histogram: number[];
}

export function intensityStats(data: VoxelArray | Float32Array, bins: number): IntensityStats {
  const sorted = Float32Array.from(data).sort();
  const n = sorted.length;
  let sum = 0;
  let nonInt = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i];
    sum += v;
    if (v !== Math.floor(v)) nonInt++;
  }
  const lo = percentileSorted(sorted, RAW_PERCENTILES[0]);
  const hi = percentileSorted(sorted, RAW_PERCENTILES[2]);
  const histogram = new Array<number>(bins).fill(0);
  const width = hi - lo;
  for (let i = 0; i < n; i++) {
    const t = width > 0 ? (sorted[i] - lo) / width : 0;
    const b = t <= 0 ? 0 : t >= 1 ? bins - 1 : Math.min(bins - 1, Math.floor(t * bins));
    histogram[b]++;
  }
  for (let b = 0; b < bins; b++) histogram[b] /= n || 1;
  return {
    min: n ? sorted[0] : NaN,
    max: n ? sorted[n - 1] : NaN,
    mean: n ? sum / n : NaN,
    p0_5: lo,
    p50: percentileSorted(sorted, 50),
    p99_5: hi,
    nonIntegerFraction: n ? nonInt / n : 0,
    histogram,
  };
}

/** Mean of equally long histograms (each sums to 1, so the mean does too). */
export function meanHistogram(hists: readonly number[][]): number[] {
  if (hists.length === 0) return [];
  const out = new Array<number>(hists[0].length).fill(0);
  for (const h of hists) for (let i = 0; i < out.length; i++) out[i] += h[i] / hists.length;
  return out;
}

/** Jensen–Shannon divergence with log base 2 (0..1). */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((a, b) => a + b, 0) || 1;
  const sq = q.reduce((a, b) => a + b, 0) || 1;
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  return Math.max(0, js);
}

/** Wasserstein-1 distance between two histograms over [0, 1] with equal bins. */
export function wasserstein1(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((a, b) => a + b, 0) || 1;
  const sq = q.reduce((a, b) => a + b, 0) || 1;
  let cp = 0;
  let cq = 0;
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i] / sp;
    cq += q[i] / sq;
    d += Math.abs(cp - cq);
  }
  return d / p.length;
}
