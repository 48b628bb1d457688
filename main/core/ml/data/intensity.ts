// Intensity preprocessing (nnU-Net style): CT -> clip to a HU window (dataset foreground
// percentiles or explicit) then z-score with dataset statistics; other modalities ->
// per-image percentile clipping (0.5/99.5 by default) then per-image z-score, over the
// foreground (voxels > 0 / a mask) or the whole image.

import { SegloopError } from '../../../../shared/errors';
import type { Grid } from './grid';

export type Normalisation =
  | { kind: 'zscore'; clipPercentiles?: [number, number]; region: 'whole' | 'nonzero' }
  | { kind: 'ct'; lower: number; upper: number; mean: number; std: number };

/** Percentiles (0..100) by linear interpolation between order statistics, like numpy's default. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) throw new SegloopError('INVALID_ARGUMENT', 'Cannot take percentiles of an empty set of voxels.');
  return ps.map((p) => {
    const r = (p / 100) * (n - 1);
    const lo = Math.floor(r);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo] + (r - lo) * (sorted[hi] - sorted[lo]);
  });
}

function assertFiniteGrid(g: Grid): void {
  for (let i = 0; i < g.data.length; i++) {
    if (!Number.isFinite(g.data[i])) {
      throw new SegloopError('IMAGE_HAS_NAN', `The image has a non-finite voxel value (${g.data[i]}) at index ${i}; fix or re-export the scan before training.`, { index: i });
    }
  }
}

export function normaliseGrid(g: Grid, scheme: Normalisation, mask?: Uint8Array): Grid {
  assertFiniteGrid(g);
  const d = g.data;
  const out = new Float32Array(d.length);
  if (scheme.kind === 'ct') {
    const std = Math.max(scheme.std, 1e-8);
    for (let i = 0; i < d.length; i++) out[i] = (Math.min(scheme.upper, Math.max(scheme.lower, d[i])) - scheme.mean) / std;
    return { shape: [...g.shape], data: out };
  }
  let region: Uint8Array | null = mask ?? null;
  if (!region && scheme.region === 'nonzero') {
    region = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) region[i] = d[i] !== 0 ? 1 : 0;
  }
  const sel: number[] = [];
  for (let i = 0; i < d.length; i++) if (!region || region[i]) sel.push(d[i]);
  const values = sel.length > 0 ? sel : Array.from(d);
  let lo = -Infinity;
  let hi = Infinity;
  if (scheme.clipPercentiles) [lo, hi] = percentiles(values, scheme.clipPercentiles);
  let sum = 0;
  let sum2 = 0;
  for (const v0 of values) {
    const v = Math.min(hi, Math.max(lo, v0));
    sum += v;
    sum2 += v * v;
  }
  const mean = sum / values.length;
  const std = Math.sqrt(Math.max(sum2 / values.length - mean * mean, 0));
  const s = std > 1e-8 ? std : 1;
  for (let i = 0; i < d.length; i++) {
    const v = Math.min(hi, Math.max(lo, d[i]));
    out[i] = region && !region[i] && scheme.region === 'nonzero' ? 0 : (v - mean) / s;
  }
  return { shape: [...g.shape], data: out };
}
