// Builds the DiagnosticsReport from per-image facts. Shared by the project mode (runDiagnostics)
// and the folder mode (diagnoseFolder) so both report the same sections the same way.
import { axcodes } from '../imaging/nifti';
import type { Mat4 } from '../imaging/volume';
import { jensenShannon, meanHistogram, wasserstein1, type IntensityStats } from './histogram';
import type { LabelQa } from './label-qa';
import { isOutlier, robustSummary, type RobustSummary } from './robust-stats';
import { percentile } from '../base/stats';

export interface DiagnosticsOptions {
  /** Bins of the percentile-normalised histograms (default 64). */
  bins?: number;
  /** Spacing/shape outlier fence: median ± k·IQR per axis (default 3, Tukey's "far out"). */
  outlierK?: number;
  /** Largest/smallest spacing above this is flagged as anisotropic (default 3). */
  anisotropyMax?: number;
  /** Components smaller than this (voxels) count as tiny (default 10). */
  tinyComponentVoxels?: number;
  /** An image whose max is more than this times the median image max (or less than 1/this) is flagged (default 10). */
  rangeSpreadRatio?: number;
  /** Skip reading voxels (geometry, composition and dtypes only). */
  skipVoxels?: boolean;
}

export const DEFAULT_OPTIONS: Required<DiagnosticsOptions> = {
  bins: 64,
  outlierK: 3,
  anisotropyMax: 3,
  tinyComponentVoxels: 10,
  rangeSpreadRatio: 10,
  skipVoxels: false,
};

export type LabelState = 'labelled' | 'pseudo' | 'unlabelled';

/** What the builder needs to know about one image. */
export interface ImageFacts {
  name: string;
  imageId: number | null;
  patient: string | null;
  site: string | null;
  split: string | null;
  /** The original file's data type. */
  dtype: string;
  shape: number[];
  spacing: number[];
  affine: number[][];
  intensity: IntensityStats | null;
  labelState: LabelState;
  labelSource: string | null;
  labelName: string | null;
  label: LabelQa | null;
  /** Reading failed: the reason. */
  error?: string;
}

export interface Finding {
  severity: 'warning' | 'info';
  code: string;
  message: string;
}

export interface CountPair {
  patients: number;
  images: number;
}

export interface GroupCount extends CountPair {
  name: string;
  labelledPatients: number;
  labelledImages: number;
}

export interface Composition {
  total: CountPair;
  byLabelState: Record<LabelState, CountPair>;
  bySource: Record<string, CountPair>;
  bySite: GroupCount[];
  bySplit: GroupCount[];
}

export interface AxisTable {
  axes: RobustSummary[];
  /** Distinct values (as 'a x b x c') with the number of images. */
  values: { value: string; images: number }[];
  outliers: { name: string; value: number[]; axes: number[] }[];
}

export interface GeometrySection {
  spacing: AxisTable;
  shape: AxisTable;
  orientation: { counts: { axcodes: string; images: number }[]; majority: string; outliers: { name: string; axcodes: string }[] };
  anisotropic: { name: string; spacing: number[]; ratio: number }[];
}

export interface IntensityGroup {
  name: string;
  images: number;
  /** Medians over the group's images of each image's percentiles / extremes (raw units). */
  p0_5: number;
  p50: number;
  p99_5: number;
  minOfMin: number;
  maxOfMax: number;
  medianMax: number;
  /** Mean percentile-normalised histogram. */
  histogram: number[];
}

export interface ShiftPair {
  a: string;
  b: string;
  jensenShannon: number;
  wasserstein1: number;
  /** Ratio of the groups' median 99.5th percentiles (raw scale difference), larger/smaller. */
  scaleRatio: number;
}

export interface GroupedIntensity {
  by: 'site' | 'dtype';
  groups: IntensityGroup[];
  shift: ShiftPair[];
}

export interface IntensitySection {
  bins: number;
  perImage: { name: string; dtype: string; min: number; max: number; p0_5: number; p50: number; p99_5: number; nonIntegerFraction: number }[];
  grouped: GroupedIntensity[];
  rangeSpread: { medianMax: number; maxOfMax: number; minOfMax: number; ratio: number; threshold: number; flagged: { name: string; dtype: string; max: number; ratio: number }[] };
}

export interface ClassFrequency {
  index: number;
  name: string | null;
  voxels: number;
  images: number;
  /** Share of all labelled voxels (background included). */
  fraction: number;
}

export interface LabelSection {
  checked: number;
  schema: number[];
  fileDtypes: Record<string, number>;
  nonIntegerFiles: { name: string; dtype: string; nonIntegerVoxels: number; values: number[] }[];
  /** Integer-valued labels stored as a float type (lossless but unusual: the importer converts them). */
  floatFiles: { name: string; dtype: string; values: number[] }[];
  negativeValues: { name: string; voxels: number }[];
  outOfSchema: { name: string; values: { value: number; voxels: number }[] }[];
  empty: string[];
  geometryMismatch: { name: string; reason: string }[];
  tinyComponents: { threshold: number; images: number; perClass: { index: number; images: number; components: number; voxels: number }[]; worst: { name: string; index: number; tinyComponents: number; components: number }[] };
  classFrequency: ClassFrequency[];
}

export interface DiagnosticsReport {
  source: { kind: 'project'; dir: string; name: string } | { kind: 'folder'; imagesDir: string; labelsDir: string | null };
  options: Required<DiagnosticsOptions>;
  findings: Finding[];
  composition: Composition | null;
  dtypes: { images: Record<string, number>; labels: Record<string, number> };
  geometry: GeometrySection;
  intensity: IntensitySection | null;
  labels: LabelSection | null;
  unreadable: { name: string; reason: string }[];
}

const FLOAT_DTYPES = new Set(['float32', 'float64']);
const round = (v: number, d = 4): number => (Number.isFinite(v) ? Number(v.toPrecision(d + 2)) : v);

function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export function composition(facts: readonly ImageFacts[]): Composition {
  const pair = (xs: readonly ImageFacts[]): CountPair => ({ patients: new Set(xs.map((f) => f.patient ?? f.name)).size, images: xs.length });
  const group = (key: (f: ImageFacts) => string): GroupCount[] => {
    const m = new Map<string, ImageFacts[]>();
    for (const f of facts) m.set(key(f), [...(m.get(key(f)) ?? []), f]);
    return [...m.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, xs]) => {
        const lab = xs.filter((f) => f.labelState === 'labelled');
        return { name, ...pair(xs), labelledPatients: pair(lab).patients, labelledImages: lab.length };
      });
  };
  const sources = [...new Set(facts.map((f) => f.labelSource ?? 'none'))].sort();
  return {
    total: pair(facts),
    byLabelState: {
      labelled: pair(facts.filter((f) => f.labelState === 'labelled')),
      pseudo: pair(facts.filter((f) => f.labelState === 'pseudo')),
      unlabelled: pair(facts.filter((f) => f.labelState === 'unlabelled')),
    },
    bySource: Object.fromEntries(sources.map((s) => [s, pair(facts.filter((f) => (f.labelSource ?? 'none') === s))])),
    bySite: group((f) => f.site ?? '(none)'),
    bySplit: group((f) => f.split ?? '(none)'),
  };
}

function axisTable(facts: readonly ImageFacts[], pick: (f: ImageFacts) => number[], k: number): AxisTable {
  const vecs = facts.map(pick);
  const dims = Math.max(0, ...vecs.map((v) => v.length));
  const axes = Array.from({ length: dims }, (_, a) => robustSummary(vecs.map((v) => v[a]).filter((x) => Number.isFinite(x))));
  const outliers: AxisTable['outliers'] = [];
  facts.forEach((f, i) => {
    const bad = axes.map((s, a) => (isOutlier(vecs[i][a], s, k) ? a : -1)).filter((a) => a >= 0);
    if (bad.length) outliers.push({ name: f.name, value: vecs[i].map((x) => round(x)), axes: bad });
  });
  const values = Object.entries(tally(vecs.map((v) => v.map((x) => round(x)).join(' x ')))).map(([value, images]) => ({ value, images }));
  return { axes, values, outliers };
}

export function geometrySection(facts: readonly ImageFacts[], o: Required<DiagnosticsOptions>): GeometrySection {
  const codes = facts.map((f) => axcodes(f.affine as Mat4));
  const counts = Object.entries(tally(codes)).map(([a, images]) => ({ axcodes: a, images }));
  const majority = counts[0]?.axcodes ?? '';
  const anisotropic = facts
    .map((f) => {
      const s = f.spacing.slice(0, 3).filter((x) => x > 0);
      return { name: f.name, spacing: f.spacing.map((x) => round(x)), ratio: s.length ? Math.max(...s) / Math.min(...s) : 1 };
    })
    .filter((a) => a.ratio > o.anisotropyMax)
    .map((a) => ({ ...a, ratio: round(a.ratio, 3) }));
  return {
    spacing: axisTable(facts, (f) => f.spacing.slice(0, 3), o.outlierK),
    shape: axisTable(facts, (f) => f.shape.slice(0, 3), o.outlierK),
    orientation: { counts, majority, outliers: facts.map((f, i) => ({ name: f.name, axcodes: codes[i] })).filter((x) => x.axcodes !== majority) },
    anisotropic,
  };
}

function intensityGroup(name: string, xs: readonly ImageFacts[]): IntensityGroup {
  const st = xs.map((f) => f.intensity as IntensityStats);
  return {
    name,
    images: xs.length,
    p0_5: percentile(st.map((s) => s.p0_5), 50),
    p50: percentile(st.map((s) => s.p50), 50),
    p99_5: percentile(st.map((s) => s.p99_5), 50),
    minOfMin: Math.min(...st.map((s) => s.min)),
    maxOfMax: Math.max(...st.map((s) => s.max)),
    medianMax: percentile(st.map((s) => s.max), 50),
    histogram: meanHistogram(st.map((s) => s.histogram)),
  };
}

function grouped(by: 'site' | 'dtype', facts: readonly ImageFacts[]): GroupedIntensity {
  const m = new Map<string, ImageFacts[]>();
  for (const f of facts) {
    const k = by === 'site' ? (f.site ?? '(none)') : f.dtype;
    m.set(k, [...(m.get(k) ?? []), f]);
  }
  const groups = [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, xs]) => intensityGroup(k, xs));
  const shift: ShiftPair[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i];
      const b = groups[j];
      const hi = Math.max(Math.abs(a.p99_5), Math.abs(b.p99_5));
      const lo = Math.min(Math.abs(a.p99_5), Math.abs(b.p99_5));
      shift.push({
        a: a.name,
        b: b.name,
        jensenShannon: jensenShannon(a.histogram, b.histogram),
        wasserstein1: wasserstein1(a.histogram, b.histogram),
        scaleRatio: lo > 0 ? hi / lo : Infinity,
      });
    }
  }
  return { by, groups, shift };
}

export function intensitySection(facts: readonly ImageFacts[], o: Required<DiagnosticsOptions>): IntensitySection | null {
  const withI = facts.filter((f) => f.intensity !== null);
  if (withI.length === 0) return null;
  const maxes = withI.map((f) => (f.intensity as IntensityStats).max);
  const medianMax = percentile(maxes, 50);
  const flagged = withI
    .map((f) => {
      const max = (f.intensity as IntensityStats).max;
      return { name: f.name, dtype: f.dtype, max, ratio: medianMax !== 0 ? max / medianMax : Infinity };
    })
    .filter((x) => x.ratio > o.rangeSpreadRatio || x.ratio < 1 / o.rangeSpreadRatio)
    .sort((a, b) => b.max - a.max);
  return {
    bins: o.bins,
    perImage: withI.map((f) => {
      const s = f.intensity as IntensityStats;
      return { name: f.name, dtype: f.dtype, min: s.min, max: s.max, p0_5: s.p0_5, p50: s.p50, p99_5: s.p99_5, nonIntegerFraction: s.nonIntegerFraction };
    }),
    grouped: [grouped('site', withI), grouped('dtype', withI)],
    rangeSpread: {
      medianMax,
      maxOfMax: Math.max(...maxes),
      minOfMax: Math.min(...maxes),
      ratio: Math.min(...maxes) !== 0 ? Math.max(...maxes) / Math.min(...maxes) : Infinity,
      threshold: o.rangeSpreadRatio,
      flagged,
    },
  };
}

export function labelSection(facts: readonly ImageFacts[], schema: readonly { index: number; name: string }[], o: Required<DiagnosticsOptions>): LabelSection | null {
  const withL = facts.filter((f) => f.label !== null);
  if (withL.length === 0) return null;
  const nameOf = (f: ImageFacts): string => f.labelName ?? f.name;
  const freq = new Map<number, { voxels: number; images: number }>();
  let total = 0;
  for (const f of withL) {
    const qa = f.label as LabelQa;
    const fg = qa.classes.reduce((a, c) => a + c.voxels, 0);
    const all = f.shape.slice(0, 3).reduce((a, b) => a * b, 1);
    total += all;
    const bg = freq.get(0) ?? { voxels: 0, images: 0 };
    // Background = every voxel that is not a positive integer class (out-of-schema values are listed apart).
    freq.set(0, { voxels: bg.voxels + (all - fg), images: bg.images + 1 });
    for (const c of qa.classes) {
      const e = freq.get(c.index) ?? { voxels: 0, images: 0 };
      freq.set(c.index, { voxels: e.voxels + c.voxels, images: e.images + (c.voxels > 0 ? 1 : 0) });
    }
  }
  for (const s of schema) if (!freq.has(s.index)) freq.set(s.index, { voxels: 0, images: 0 });
  const perClass = new Map<number, { images: number; components: number; voxels: number }>();
  const worst: LabelSection['tinyComponents']['worst'] = [];
  let tinyImages = 0;
  for (const f of withL) {
    const qa = f.label as LabelQa;
    let any = false;
    for (const c of qa.classes) {
      if (c.tinyComponents === 0) continue;
      any = true;
      const e = perClass.get(c.index) ?? { images: 0, components: 0, voxels: 0 };
      perClass.set(c.index, { images: e.images + 1, components: e.components + c.tinyComponents, voxels: e.voxels + c.tinyVoxels });
      worst.push({ name: nameOf(f), index: c.index, tinyComponents: c.tinyComponents, components: c.components });
    }
    if (any) tinyImages++;
  }
  const dtypes = withL.map((f) => (f.label as LabelQa).dtype);
  return {
    checked: withL.length,
    schema: schema.map((s) => s.index),
    fileDtypes: tally(dtypes),
    nonIntegerFiles: withL
      .filter((f) => (f.label as LabelQa).nonIntegerVoxels > 0)
      .map((f) => ({ name: nameOf(f), dtype: (f.label as LabelQa).dtype, nonIntegerVoxels: (f.label as LabelQa).nonIntegerVoxels, values: (f.label as LabelQa).values.slice(0, 10) })),
    floatFiles: withL
      .filter((f) => FLOAT_DTYPES.has((f.label as LabelQa).dtype))
      .map((f) => ({ name: nameOf(f), dtype: (f.label as LabelQa).dtype, values: (f.label as LabelQa).values.slice(0, 10) })),
    negativeValues: withL.filter((f) => (f.label as LabelQa).negativeVoxels > 0).map((f) => ({ name: nameOf(f), voxels: (f.label as LabelQa).negativeVoxels })),
    outOfSchema: withL.filter((f) => (f.label as LabelQa).outOfSchema.length > 0).map((f) => ({ name: nameOf(f), values: (f.label as LabelQa).outOfSchema })),
    empty: withL.filter((f) => (f.label as LabelQa).empty).map(nameOf),
    geometryMismatch: withL.filter((f) => (f.label as LabelQa).geometryMismatch !== null).map((f) => ({ name: nameOf(f), reason: (f.label as LabelQa).geometryMismatch as string })),
    tinyComponents: {
      threshold: o.tinyComponentVoxels,
      images: tinyImages,
      perClass: [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([index, e]) => ({ index, ...e })),
      worst: worst.sort((a, b) => b.tinyComponents - a.tinyComponents).slice(0, 10),
    },
    classFrequency: [...freq.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, e]) => ({ index, name: schema.find((s) => s.index === index)?.name ?? null, voxels: e.voxels, images: e.images, fraction: total ? e.voxels / total : 0 })),
  };
}

/** The short list at the top of the report: everything that was flagged, most important first. */
export function findings(r: Omit<DiagnosticsReport, 'findings'>): Finding[] {
  const out: Finding[] = [];
  const w = (code: string, message: string): void => void out.push({ severity: 'warning', code, message });
  const i = (code: string, message: string): void => void out.push({ severity: 'info', code, message });
  const list = (xs: readonly string[], n = 5): string => xs.slice(0, n).join(', ') + (xs.length > n ? `, … (${xs.length} in all)` : '');
  if (r.unreadable.length) w('UNREADABLE', `${r.unreadable.length} file(s) could not be read: ${list(r.unreadable.map((u) => u.name))}.`);
  const c = r.composition;
  if (c) {
    const lp = c.byLabelState.labelled.patients;
    if (lp < 10) w('FEW_LABELLED_SUBJECTS', `Only ${lp} labelled patient(s): a patient-grouped test set this small gives unstable metrics.`);
    if (c.byLabelState.pseudo.images > 0) i('PSEUDO_LABELS', `${c.byLabelState.pseudo.images} image(s) of ${c.byLabelState.pseudo.patients} patient(s) carry pseudo-labels as their latest version.`);
    for (const s of c.bySite) if (c.bySite.length > 1 && s.labelledPatients === 0) w('SITE_WITHOUT_LABELS', `Site ${s.name} has ${s.patients} patient(s) and no labels: the model never trains on that domain.`);
    if (c.total.images > c.total.patients) i('MULTI_IMAGE_PATIENTS', `${c.total.images} images belong to ${c.total.patients} patients: split by patient, never by image.`);
  }
  const imgD = Object.keys(r.dtypes.images);
  if (imgD.length > 1) w('MIXED_IMAGE_DTYPES', `Images are stored with mixed data types: ${Object.entries(r.dtypes.images).map(([k, v]) => `${v} ${k}`).join(', ')}.`);
  const g = r.geometry;
  if (g.spacing.outliers.length) w('SPACING_OUTLIERS', `${g.spacing.outliers.length} image(s) with outlying voxel spacing: ${list(g.spacing.outliers.map((o) => o.name))}.`);
  if (g.shape.outliers.length) w('SHAPE_OUTLIERS', `${g.shape.outliers.length} image(s) with outlying shape: ${list(g.shape.outliers.map((o) => o.name))}.`);
  if (g.orientation.outliers.length) w('ORIENTATION_MINORITY', `${g.orientation.outliers.length} image(s) not oriented ${g.orientation.majority}: ${list(g.orientation.outliers.map((o) => `${o.name} ${o.axcodes}`))}.`);
  if (g.anisotropic.length) w('ANISOTROPIC', `${g.anisotropic.length} image(s) with spacing ratio above ${r.options.anisotropyMax}: ${list(g.anisotropic.map((a) => a.name))}.`);
  const it = r.intensity;
  if (it) {
    const rs = it.rangeSpread;
    if (rs.flagged.length) {
      w('INTENSITY_RANGE_SPREAD',
        `${rs.flagged.length} image(s) have a max more than ${rs.threshold}x away from the median image max (${round(rs.medianMax)}): ` +
          `${list(rs.flagged.map((f) => `${f.name} max ${round(f.max, 8)}`), 3)}. Normalise by percentiles, not min/max.`);
    }
    for (const grp of it.grouped) {
      for (const s of grp.shift) {
        if (s.jensenShannon > 0.1 || s.scaleRatio > 5) {
          const what = s.jensenShannon > 0.1 ? 'shape (normalised histograms)' : 'raw intensity scale';
          w('DOMAIN_SHIFT', `Intensities differ in ${what} between ${grp.by} ${s.a} and ${s.b}: JSD ${s.jensenShannon.toFixed(3)}, W1 ${s.wasserstein1.toFixed(3)}, scale ratio ${round(s.scaleRatio, 3)} (p99.5 ${round(grp.groups.find((x) => x.name === s.a)?.p99_5 ?? NaN)} vs ${round(grp.groups.find((x) => x.name === s.b)?.p99_5 ?? NaN)}).`);
        }
      }
    }
  }
  const l = r.labels;
  if (l) {
    if (l.nonIntegerFiles.length) w('LABEL_NOT_INTEGER', `${l.nonIntegerFiles.length} label file(s) hold non-integer values: ${list(l.nonIntegerFiles.map((f) => f.name))}.`);
    if (l.floatFiles.length) w('LABEL_FLOAT_DTYPE', `${l.floatFiles.length} label file(s) are stored as floating point: ${list(l.floatFiles.map((f) => `${f.name} (${f.dtype}, values ${f.values.join('/')})`))}.`);
    if (l.negativeValues.length) w('LABEL_NEGATIVE', `${l.negativeValues.length} label file(s) hold negative values: ${list(l.negativeValues.map((f) => f.name))}.`);
    if (l.outOfSchema.length) w('LABEL_OUT_OF_SCHEMA', `${l.outOfSchema.length} label(s) hold values outside the schema {${l.schema.join(',')}}: ${list(l.outOfSchema.map((f) => `${f.name} (${f.values.map((v) => v.value).join(',')})`))}.`);
    if (l.empty.length) w('LABEL_EMPTY', `${l.empty.length} empty mask(s): ${list(l.empty)}.`);
    if (l.geometryMismatch.length) w('LABEL_GEOMETRY_MISMATCH', `${l.geometryMismatch.length} label(s) do not match their image grid: ${list(l.geometryMismatch.map((m) => `${m.name}: ${m.reason}`), 3)}.`);
    if (l.tinyComponents.images) i('TINY_COMPONENTS', `${l.tinyComponents.images} label(s) have disconnected pieces smaller than ${l.tinyComponents.threshold} voxels (26-connectivity).`);
    for (const s of l.schema) {
      const f = l.classFrequency.find((x) => x.index === s);
      if (s !== 0 && (!f || f.images === 0)) w('CLASS_ABSENT', `Class ${s} of the schema appears in no label.`);
    }
  }
  return out;
}
