// Robust summaries used to flag outliers: median and IQR with numpy's default (linear) percentile,
// so numbers can be checked against numpy.
import { percentile } from '../base/stats';

export interface RobustSummary {
  n: number;
  min: number;
  median: number;
  max: number;
  q1: number;
  q3: number;
  iqr: number;
}

export function robustSummary(values: readonly number[]): RobustSummary {
  if (values.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN, q1: NaN, q3: NaN, iqr: NaN };
  const q1 = percentile(values, 25);
  const q3 = percentile(values, 75);
  return { n: values.length, min: Math.min(...values), median: percentile(values, 50), max: Math.max(...values), q1, q3, iqr: q3 - q1 };
}

/**
 * True when `v` lies outside median ± k·IQR. A zero IQR (e.g. every image 1 mm isotropic) would flag
 * any rounding difference, so the fence is at least `relTol` of the median.
 */
export function isOutlier(v: number, s: RobustSummary, k: number, relTol = 1e-3): boolean {
  const fence = Math.max(k * s.iqr, relTol * Math.abs(s.median));
  return Math.abs(v - s.median) > fence;
}
