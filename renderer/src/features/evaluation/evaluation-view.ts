// Pure helpers of the evaluation screen (flattened per-case rows, sorting, learning-curve
// geometry), kept out of the component so they can be tested without a browser.
import { niceTicks } from '../../../../shared/chart-ticks';
import { MEASURES, type EvaluationReportView, type LearningCurveView, type MeasureKey } from '../../../../shared/evaluation-schema';

export type SortDir = 'asc' | 'desc';
export type CellValue = string | number | null;
export type FlatCase = Record<string, CellValue> & { imageId: string; image: string };

export interface Column {
  key: string;
  label: string;
  num: boolean;
  /** Lower is better (distances): sorted ascending first. */
  lowerIsBetter?: boolean;
  digits?: number;
}

/** One row per case: per-class Dice and HD95, the foreground mean, and the compared model's mean. */
export function flattenCases(view: EvaluationReportView): { columns: Column[]; rows: FlatCase[] } {
  const classes = view.classes;
  const columns: Column[] = [
    { key: 'image', label: 'Image', num: false },
    { key: 'patient', label: 'Patient', num: false },
    { key: 'site', label: 'Site', num: false },
    ...classes.flatMap((c): Column[] => [
      { key: `dice_${c.label}`, label: `${c.name} Dice`, num: true, digits: 3 },
      { key: `hd95_${c.label}`, label: `${c.name} HD95 mm`, num: true, lowerIsBetter: true, digits: 2 },
    ]),
    { key: 'meanDice', label: `Mean Dice v${view.primary.model.version}`, num: true, digits: 3 },
    { key: 'meanHd95', label: 'Mean HD95 mm', num: true, lowerIsBetter: true, digits: 2 },
  ];
  if (view.secondary) {
    columns.push(
      { key: 'meanDiceB', label: `Mean Dice v${view.secondary.model.version}`, num: true, digits: 3 },
      { key: 'deltaDice', label: `Δ Dice (v${view.secondary.model.version} − v${view.primary.model.version})`, num: true, digits: 3 },
    );
  }
  columns.push({ key: 'flags', label: 'Notes', num: false });
  const other = new Map((view.secondary?.cases ?? []).map((c) => [c.imageId, c]));
  const rows = view.primary.cases.map((c): FlatCase => {
    const row: FlatCase = { imageId: c.imageId, image: c.image, patient: c.patient, site: c.site, meanDice: c.meanDice, meanHd95: c.meanHd95 };
    const flags: string[] = [];
    for (const k of c.classes) {
      row[`dice_${k.label}`] = k.dice;
      row[`hd95_${k.label}`] = k.hd95;
      if (k.empty === 'pred') flags.push(`${classes.find((x) => x.label === k.label)?.name ?? k.label}: prediction empty`);
      if (k.empty === 'ref') flags.push(`${classes.find((x) => x.label === k.label)?.name ?? k.label}: reference empty`);
    }
    if (c.referenceFromModel) flags.push('reference from this model');
    if (c.patientInTraining) flags.push('patient in training data');
    if (view.secondary) {
      const b = other.get(c.imageId);
      row.meanDiceB = b?.meanDice ?? null;
      row.deltaDice = b && b.meanDice !== null && c.meanDice !== null ? b.meanDice - c.meanDice : null;
    }
    row.flags = flags.join('; ');
    return row;
  });
  return { columns, rows };
}

export function sortCases(rows: readonly FlatCase[], key: string, dir: SortDir): FlatCase[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = a[key];
    const vb = b[key];
    // Undefined distances (one mask empty) sort last in both directions: they are not "best".
    if (va == null && vb == null) return a.image.localeCompare(b.image);
    if (va == null) return 1;
    if (vb == null) return -1;
    if (typeof va === 'number' && typeof vb === 'number') return sign * (va - vb) || a.image.localeCompare(b.image);
    return sign * String(va).localeCompare(String(vb), undefined, { numeric: true });
  });
}

export function fmt(v: CellValue | undefined, digits = 3): string {
  if (v === null || v === undefined || v === '') return '—';
  return typeof v === 'number' ? v.toFixed(digits) : v;
}

export { niceTicks };

export interface CurveGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  series: Array<{ source: string; colour: string; dashed: boolean; points: Array<{ x: number; y: number; label: string; title: string }>; path: string }>;
  xTicks: Array<{ x: number; text: string }>;
  yTicks: Array<{ y: number; text: string }>;
  xLabel: string;
  /** Points left off this axis (no recorded minutes). */
  missing: number;
}

export function curveGeometry(curve: LearningCurveView, axis: 'images' | 'minutes', width = 460, height = 240): CurveGeometry {
  const plot = { left: 48, top: 14, right: width - 14, bottom: height - 38 };
  const usable = curve.points.filter((p) => p.meanDice !== null && (axis === 'images' || p.annotationMinutes !== null));
  const xOf = (p: LearningCurveView['points'][number]): number => (axis === 'images' ? p.labelledImages : (p.annotationMinutes as number));
  const xmax = Math.max(1, ...usable.map(xOf)) * 1.08;
  const ys = usable.map((p) => p.meanDice as number);
  const ymin = ys.length ? Math.max(0, Math.floor((Math.min(...ys) - 0.05) * 10) / 10) : 0;
  const ymax = ys.length ? Math.min(1, Math.ceil((Math.max(...ys) + 0.02) * 10) / 10) : 1;
  const sx = (v: number): number => plot.left + (v / xmax) * (plot.right - plot.left);
  const sy = (v: number): number => plot.top + (1 - (v - ymin) / (ymax - ymin || 1)) * (plot.bottom - plot.top);
  const series = (['test-predictions', 'stored-validation'] as const).map((source) => {
    const pts = usable
      .filter((p) => p.diceSource === source)
      .sort((a, b) => xOf(a) - xOf(b))
      .map((p) => ({
        x: sx(xOf(p)),
        y: sy(p.meanDice as number),
        label: `v${p.version}`,
        title: `v${p.version}: Dice ${(p.meanDice as number).toFixed(3)} (${source === 'test-predictions' ? `test, ${p.evaluatedCases} cases` : 'stored validation'}), ${p.labelledImages} labelled images, ${
          p.annotationMinutes === null ? 'annotation time unknown' : `${p.annotationMinutes.toFixed(1)} min${p.minutesComplete ? '' : ' (lower bound)'}`
        }`,
      }));
    return {
      source,
      colour: source === 'test-predictions' ? '#4aa3ff' : '#d29922',
      dashed: source === 'stored-validation',
      points: pts,
      path: pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '),
    };
  });
  const xTicks = niceTicks(xmax, axis === 'images' ? 5 : 4, axis === 'images').map((v) => ({ x: sx(v), text: String(v) }));
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((t) => ({ y: sy(ymin + t * (ymax - ymin)), text: (ymin + t * (ymax - ymin)).toFixed(2) }));
  return {
    width,
    height,
    plot,
    series,
    xTicks,
    yTicks,
    xLabel: axis === 'images' ? 'labelled images in training snapshot' : 'annotation minutes (recorded)',
    missing: curve.points.filter((p) => p.meanDice !== null).length - usable.length,
  };
}

/** Volumes are shown in ml (1 ml = 1000 mm³), every other measure in its own unit. */
export function measureUnit(key: MeasureKey): string {
  return key === 'volumeMm3' ? 'ml' : MEASURES[key].unit;
}

export function measureValue(key: MeasureKey, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return key === 'volumeMm3' ? (v / 1000).toFixed(3) : v.toFixed(2);
}

export function signedMeasure(key: MeasureKey, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return `${v >= 0 ? '+' : ''}${measureValue(key, v)}`;
}

export interface MeasurementCaseRow {
  imageId: string;
  image: string;
  label: number;
  /** One cell per measure of the summary, in its order. */
  cells: { key: MeasureKey; pred: number | null; ref: number | null; error: number | null }[];
}

/** Per case and class: each measure of the prediction and the reference, and the error pred − ref. */
export function measurementCases(view: EvaluationReportView): { keys: MeasureKey[]; rows: MeasurementCaseRow[] } {
  const keys = [...new Set(view.primary.measurements.map((r) => r.key))];
  const rows = view.primary.cases.flatMap((c) =>
    c.measurements.classes.map((k) => ({
      imageId: c.imageId,
      image: c.image,
      label: k.label,
      cells: keys.map((key) => {
        const pred = k.pred?.[key] ?? null;
        const ref = k.ref?.[key] ?? null;
        return { key, pred, ref, error: pred !== null && ref !== null ? pred - ref : null };
      }),
    })),
  );
  return { keys, rows };
}
