// Aggregation of per-case metrics for error analysis: overall mean/median/std per class, per patient,
// by site, by structure size (terciles of the reference volume), and the worst cases by mean Dice.
// Null distances (one mask empty, see metrics.ts) are left out of distance summaries and counted in
// `emptyCounts`; Dice/IoU summaries include every case.
import { SegloopError } from '../../../shared/errors';
import type { ClassMetrics, EmptyCase, SegmentationMetrics } from './metrics';
import { meanOf, percentile, summarize, type Summary } from '../base/stats';

export type MetricKey = 'dice' | 'iou' | 'hd95' | 'hd' | 'assd';
export const METRIC_KEYS: readonly MetricKey[] = ['dice', 'iou', 'hd95', 'hd', 'assd'];
export const HIGHER_IS_BETTER: Readonly<Record<MetricKey, boolean>> = { dice: true, iou: true, hd95: false, hd: false, assd: false };

/** A class label, or 'mean' for the per-case mean over foreground classes. */
export type ClassKey = number | 'mean';

export interface CaseRecord {
  caseId: string;
  /** Defaults to caseId (one case per patient). */
  patientId?: string;
  /** Acquisition site / domain; defaults to 'unknown'. */
  site?: string;
  metrics: SegmentationMetrics;
}

export interface ClassSummary {
  label: ClassKey;
  metrics: Record<MetricKey, Summary>;
  /** How many cases fell in each empty-mask case for this class ('mean' row: all zero). */
  emptyCounts: Record<EmptyCase, number>;
}

export interface PatientRow {
  patientId: string;
  sites: string[];
  caseIds: string[];
  /** Per class: mean of the patient's cases (nulls left out). */
  perClass: Array<{ label: ClassKey } & Record<MetricKey, number | null>>;
}

export interface SiteStratum {
  site: string;
  caseIds: string[];
  overall: ClassSummary[];
}

export interface SizeStratum {
  stratum: 'small' | 'medium' | 'large' | 'absent';
  caseIds: string[];
  summary: ClassSummary;
}

export interface SizeStrata {
  label: number;
  /** Tercile cut points of the reference volume (mm^3) over cases where the class is present. */
  cutsMm3: [number, number] | null;
  strata: SizeStratum[];
}

export interface WorstCase {
  caseId: string;
  patientId: string;
  site: string;
  meanDice: number | null;
  dice: Array<{ label: number; dice: number }>;
}

export interface EvaluationSummary {
  cases: number;
  labels: number[];
  overall: ClassSummary[];
  patients: PatientRow[];
  bySite: SiteStratum[];
  bySize: SizeStrata[];
  worst: WorstCase[];
}

export interface SummarizeOptions {
  /** Length of the worst-cases list (default 10). */
  worstN?: number;
}

export function metricOf(m: SegmentationMetrics, label: ClassKey, key: MetricKey): number | null {
  if (label === 'mean') return m.mean[key];
  const c = m.classes.find((x) => x.label === label);
  return c ? c[key] : null;
}

function classOf(m: SegmentationMetrics, label: number): ClassMetrics | undefined {
  return m.classes.find((x) => x.label === label);
}

function labelsOf(cases: readonly CaseRecord[]): number[] {
  const s = new Set<number>();
  for (const c of cases) for (const k of c.metrics.classes) s.add(k.label);
  return [...s].sort((a, b) => a - b);
}

function checkUnique(cases: readonly CaseRecord[], what: string): void {
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.caseId)) throw new SegloopError('INVALID_ARGUMENT', `Case ${c.caseId} appears twice in ${what}: each case must be scored once.`, { caseId: c.caseId });
    seen.add(c.caseId);
  }
}

export function summarizeClass(cases: readonly CaseRecord[], label: ClassKey): ClassSummary {
  const metrics = {} as Record<MetricKey, Summary>;
  for (const key of METRIC_KEYS) metrics[key] = summarize(cases.map((c) => metricOf(c.metrics, label, key)));
  const emptyCounts: Record<EmptyCase, number> = { none: 0, both: 0, pred: 0, ref: 0 };
  if (label !== 'mean') for (const c of cases) {
    const k = classOf(c.metrics, label);
    if (k) emptyCounts[k.empty]++;
  }
  return { label, metrics, emptyCounts };
}

function overallOf(cases: readonly CaseRecord[], labels: readonly number[]): ClassSummary[] {
  return [...labels.map((l) => summarizeClass(cases, l)), summarizeClass(cases, 'mean')];
}

export function summarizeEvaluation(cases: readonly CaseRecord[], options: SummarizeOptions = {}): EvaluationSummary {
  checkUnique(cases, 'the evaluation');
  const labels = labelsOf(cases);
  const keys: ClassKey[] = [...labels, 'mean'];

  const byPatient = groupBy(cases, (c) => c.patientId ?? c.caseId);
  const patients: PatientRow[] = [...byPatient].map(([patientId, cs]) => ({
    patientId,
    sites: [...new Set(cs.map((c) => c.site ?? 'unknown'))].sort(),
    caseIds: cs.map((c) => c.caseId),
    perClass: keys.map((label) => {
      const row = { label } as { label: ClassKey } & Record<MetricKey, number | null>;
      for (const key of METRIC_KEYS) row[key] = meanOf(cs.map((c) => metricOf(c.metrics, label, key)));
      return row;
    }),
  }));

  const bySite: SiteStratum[] = [...groupBy(cases, (c) => c.site ?? 'unknown')]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([site, cs]) => ({ site, caseIds: cs.map((c) => c.caseId), overall: overallOf(cs, labels) }));

  const bySize: SizeStrata[] = labels.map((label) => {
    const present = cases.filter((c) => (classOf(c.metrics, label)?.refVoxels ?? 0) > 0);
    const absent = cases.filter((c) => !present.includes(c));
    const vol = (c: CaseRecord): number => classOf(c.metrics, label)?.refVolumeMm3 ?? 0;
    const strata: SizeStratum[] = [];
    let cutsMm3: [number, number] | null = null;
    if (present.length) {
      const vs = present.map(vol);
      cutsMm3 = [percentile(vs, 100 / 3), percentile(vs, 200 / 3)];
      const [c1, c2] = cutsMm3;
      const groups = {
        small: present.filter((c) => vol(c) <= c1),
        medium: present.filter((c) => vol(c) > c1 && vol(c) <= c2),
        large: present.filter((c) => vol(c) > c2),
      };
      for (const stratum of ['small', 'medium', 'large'] as const) {
        strata.push({ stratum, caseIds: groups[stratum].map((c) => c.caseId), summary: summarizeClass(groups[stratum], label) });
      }
    }
    if (absent.length) strata.push({ stratum: 'absent', caseIds: absent.map((c) => c.caseId), summary: summarizeClass(absent, label) });
    return { label, cutsMm3, strata };
  });

  const worst: WorstCase[] = cases
    .map((c) => ({
      caseId: c.caseId,
      patientId: c.patientId ?? c.caseId,
      site: c.site ?? 'unknown',
      meanDice: c.metrics.mean.dice,
      dice: c.metrics.classes.filter((k) => k.label !== 0).map((k) => ({ label: k.label, dice: k.dice })),
    }))
    .sort((a, b) => (a.meanDice ?? Infinity) - (b.meanDice ?? Infinity) || a.caseId.localeCompare(b.caseId))
    .slice(0, options.worstN ?? 10);

  return { cases: cases.length, labels, overall: overallOf(cases, labels), patients, bySite, bySize, worst };
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
}
