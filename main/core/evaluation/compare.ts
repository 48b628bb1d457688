// Paired comparison of two models scored on the same cases: per class, the mean of the paired
// differences (B - A), a percentile bootstrap 95% CI (seeded, reproducible), and wins/losses/ties
// counted as "B better than A" with the metric's direction (higher Dice, lower HD95 is better).
// Cases whose metric is null in either model (one-empty distances) are left out of that class and
// counted in `excluded`. Resampling by patient keeps correlated cases of a patient together.
import { SegloopError } from '../../../shared/errors';
import { HIGHER_IS_BETTER, metricOf, type CaseRecord, type ClassKey, type MetricKey } from './aggregate';
import { mulberry32 } from '../base/rng';
import { percentileSorted } from '../base/stats';

export interface PairedComparisonOptions {
  metric?: MetricKey;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  seed?: number;
  /** Default 0.95. */
  confidence?: number;
  /** Unit of resampling (default 'case'). */
  resampleBy?: 'case' | 'patient';
  /** |B - A| at or below this is a tie (default 1e-12). */
  tieTolerance?: number;
}

export interface PairedClassComparison {
  label: ClassKey;
  /** Cases used (metric defined in both models). */
  n: number;
  excluded: number;
  meanA: number | null;
  meanB: number | null;
  /** Mean of (B - A) over the paired cases. */
  meanDiff: number | null;
  ci: [number, number] | null;
  /** B better than A / B worse / equal, in the metric's direction. */
  wins: number;
  losses: number;
  ties: number;
}

export interface PairedComparison {
  metric: MetricKey;
  higherIsBetter: boolean;
  resamples: number;
  seed: number;
  confidence: number;
  resampleBy: 'case' | 'patient';
  matched: number;
  onlyA: string[];
  onlyB: string[];
  classes: PairedClassComparison[];
}

export function comparePaired(a: readonly CaseRecord[], b: readonly CaseRecord[], options: PairedComparisonOptions = {}): PairedComparison {
  const metric = options.metric ?? 'dice';
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? 0;
  const confidence = options.confidence ?? 0.95;
  const resampleBy = options.resampleBy ?? 'case';
  const tie = options.tieTolerance ?? 1e-12;
  if (!Number.isInteger(resamples) || resamples < 1) throw new SegloopError('INVALID_ARGUMENT', `Bootstrap resamples must be a positive integer, got ${resamples}.`);
  if (!(confidence > 0 && confidence < 1)) throw new SegloopError('INVALID_ARGUMENT', `Confidence must be between 0 and 1, got ${confidence}.`);
  const mapA = indexCases(a, 'model A');
  const mapB = indexCases(b, 'model B');
  const ids = [...mapA.keys()].filter((id) => mapB.has(id)).sort();
  const onlyA = [...mapA.keys()].filter((id) => !mapB.has(id)).sort();
  const onlyB = [...mapB.keys()].filter((id) => !mapA.has(id)).sort();
  for (const id of ids) {
    const pa = mapA.get(id)?.patientId ?? id;
    const pb = mapB.get(id)?.patientId ?? id;
    if (pa !== pb) throw new SegloopError('INVALID_ARGUMENT', `Case ${id} belongs to patient ${pa} in model A but ${pb} in model B.`, { caseId: id });
  }

  const labels = new Set<number>();
  for (const id of ids) for (const r of [mapA.get(id), mapB.get(id)]) for (const c of r?.metrics.classes ?? []) labels.add(c.label);
  const keys: ClassKey[] = [...[...labels].sort((x, y) => x - y), 'mean'];
  const higher = HIGHER_IS_BETTER[metric];

  const classes = keys.map((label): PairedClassComparison => {
    const rows: Array<{ patient: string; a: number; b: number }> = [];
    for (const id of ids) {
      const ra = mapA.get(id) as CaseRecord;
      const va = metricOf(ra.metrics, label, metric);
      const vb = metricOf((mapB.get(id) as CaseRecord).metrics, label, metric);
      if (va !== null && vb !== null && Number.isFinite(va) && Number.isFinite(vb)) rows.push({ patient: ra.patientId ?? id, a: va, b: vb });
    }
    const n = rows.length;
    const excluded = ids.length - n;
    if (n === 0) return { label, n, excluded, meanA: null, meanB: null, meanDiff: null, ci: null, wins: 0, losses: 0, ties: 0 };
    let wins = 0;
    let losses = 0;
    let ties = 0;
    let sa = 0;
    let sb = 0;
    for (const r of rows) {
      sa += r.a;
      sb += r.b;
      const d = r.b - r.a;
      if (Math.abs(d) <= tie) ties++;
      else if (d > 0 === higher) wins++;
      else losses++;
    }
    const diffs = rows.map((r) => r.b - r.a);
    const ci = bootstrapMeanCi(diffs, rows.map((r) => (resampleBy === 'patient' ? r.patient : '')), resampleBy, resamples, seed, confidence);
    return { label, n, excluded, meanA: sa / n, meanB: sb / n, meanDiff: (sb - sa) / n, ci, wins, losses, ties };
  });

  return { metric, higherIsBetter: higher, resamples, seed, confidence, resampleBy, matched: ids.length, onlyA, onlyB, classes };
}

/**
 * Percentile bootstrap CI of the mean. In 'patient' mode whole patients are drawn with
 * replacement and the statistic is the mean over all their cases.
 */
export function bootstrapMeanCi(
  values: readonly number[],
  groups: readonly string[],
  by: 'case' | 'patient',
  resamples: number,
  seed: number,
  confidence: number,
): [number, number] {
  const rng = mulberry32(seed);
  const clusters: number[][] = [];
  if (by === 'patient') {
    const m = new Map<string, number[]>();
    values.forEach((v, i) => {
      const g = m.get(groups[i]);
      if (g) g.push(v);
      else m.set(groups[i], [v]);
    });
    for (const [, vs] of [...m].sort(([x], [y]) => x.localeCompare(y))) clusters.push(vs);
  } else {
    for (const v of values) clusters.push([v]);
  }
  const k = clusters.length;
  const sums = clusters.map((c) => c.reduce((s, v) => s + v, 0));
  const counts = clusters.map((c) => c.length);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    let c = 0;
    for (let t = 0; t < k; t++) {
      const pick = Math.floor(rng() * k);
      s += sums[pick];
      c += counts[pick];
    }
    stats[r] = s / c;
  }
  stats.sort();
  const alpha = (1 - confidence) / 2;
  return [percentileSorted(stats, 100 * alpha), percentileSorted(stats, 100 * (1 - alpha))];
}

function indexCases(cases: readonly CaseRecord[], what: string): Map<string, CaseRecord> {
  const m = new Map<string, CaseRecord>();
  for (const c of cases) {
    if (m.has(c.caseId)) throw new SegloopError('INVALID_ARGUMENT', `Case ${c.caseId} appears twice in ${what}: each case must be scored once.`, { caseId: c.caseId });
    m.set(c.caseId, c);
  }
  return m;
}
