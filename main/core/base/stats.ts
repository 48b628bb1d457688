// Small descriptive statistics used by metrics, diagnostics, splits and their aggregation. Conventions follow numpy
// so that numbers can be checked against a Python reference: percentile = numpy's default 'linear'
// interpolation; std = sample standard deviation (ddof = 1, null below two values).

/** numpy.percentile(values, q) with the default linear method. `values` need not be sorted. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return percentileSorted(sorted, q);
}

export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  // numpy's lerp form, so results match bit-for-bit in the common cases.
  const a = sorted[lo];
  const b = sorted[hi];
  return frac === 0 ? a : a + (b - a) * frac;
}

export interface Summary {
  n: number;
  mean: number | null;
  median: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

/** Summary of the finite, non-null values; `n` counts what was used. */
export function summarize(values: ReadonlyArray<number | null>): Summary {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, median: null, std: null, min: null, max: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sorted = Float64Array.from(xs).sort();
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return {
    n,
    mean,
    median: percentileSorted(sorted, 50),
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : null,
    min: sorted[0],
    max: sorted[n - 1],
  };
}

export function meanOf(values: ReadonlyArray<number | null>): number | null {
  let s = 0;
  let n = 0;
  for (const v of values) {
    if (v !== null && Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n ? s / n : null;
}
