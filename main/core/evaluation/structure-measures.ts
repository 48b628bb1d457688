// Clinical measurements of each structure, taken from the prediction and from the reference of a
// case, and their error in mm (issue 17): what a clinician reads off a segmentation (a fetal head
// circumference, a hippocampal volume) rather than an overlap score. A 2D image ([X, Y, 1]) gets
// area, contour perimeter, ellipse axes and circumference (the head-circumference measure) and the
// maximum diameter; a 3D volume gets its volume and maximum diameter. Definitions:
// core/imaging/shape-measures.ts (2D) and core/imaging/max-diameter.ts (3D).
import { MEASURE_KEYS, type MeasureKey } from '../../../shared/evaluation-schema';
import { maxDiameterMm } from '../imaging/max-diameter';
import { measureSlice } from '../imaging/shape-measures';
import type { Vec3 } from '../imaging/geometry';

export const MEASURES_2D: readonly MeasureKey[] = ['areaMm2', 'perimeterMm', 'majorAxisMm', 'minorAxisMm', 'circumferenceMm', 'maxDiameterMm'];
export const MEASURES_3D: readonly MeasureKey[] = ['volumeMm3', 'maxDiameterMm'];

export type StructureMeasures = Partial<Record<MeasureKey, number>>;

export interface ClassMeasurement {
  label: number;
  /** Null where the mask holds no voxel of the class (nothing to measure). */
  pred: StructureMeasures | null;
  ref: StructureMeasures | null;
}

export interface CaseMeasurements {
  dims: 2 | 3;
  classes: ClassMeasurement[];
}

export interface MeasurementSummaryRow {
  label: number;
  key: MeasureKey;
  /** Cases where both prediction and reference hold the class. */
  n: number;
  /** Cases where exactly one of them does (the error is undefined there). */
  oneEmpty: number;
  /** Mean absolute error |pred − ref|, in the measure's unit. */
  meanAbsError: number | null;
  /** Mean signed error pred − ref (bias), in the measure's unit. */
  meanError: number | null;
  /** Mean absolute error relative to the reference value (0.05 = 5%). */
  meanAbsRelError: number | null;
  refMean: number | null;
  predMean: number | null;
}

/** Measures each label of `labels` in one mask; null for a label with no voxel. */
export function measureStructures(data: ArrayLike<number>, shape: Vec3, spacing: Vec3, labels: readonly number[]): Map<number, StructureMeasures | null> {
  const out = new Map<number, StructureMeasures | null>();
  const present = new Set<number>();
  for (let i = 0; i < data.length; i++) present.add(data[i]);
  for (const label of labels) {
    if (!present.has(label)) {
      out.set(label, null);
      continue;
    }
    if (shape[2] === 1) {
      const s = measureSlice(data, shape[0], shape[1], [spacing[0], spacing[1]], label);
      out.set(label, {
        areaMm2: s.areaMm2,
        perimeterMm: s.perimeterMm,
        majorAxisMm: 2 * (s.ellipse?.semiMajorMm ?? 0),
        minorAxisMm: 2 * (s.ellipse?.semiMinorMm ?? 0),
        circumferenceMm: s.ellipse?.circumferenceMm ?? 0,
        maxDiameterMm: s.maxDiameterMm,
      });
    } else {
      let n = 0;
      for (let i = 0; i < data.length; i++) if (data[i] === label) n++;
      out.set(label, { volumeMm3: n * spacing[0] * spacing[1] * spacing[2], maxDiameterMm: maxDiameterMm(data, shape, spacing, label) });
    }
  }
  return out;
}

/** The measurements of prediction and reference for each class of a case (same grid, checked by the caller). */
export function caseMeasurements(pred: ArrayLike<number>, ref: ArrayLike<number>, shape: Vec3, spacing: Vec3, classes: readonly number[]): CaseMeasurements {
  const p = measureStructures(pred, shape, spacing, classes);
  const r = measureStructures(ref, shape, spacing, classes);
  return { dims: shape[2] === 1 ? 2 : 3, classes: classes.map((label) => ({ label, pred: p.get(label) ?? null, ref: r.get(label) ?? null })) };
}

/** pred − ref of one measure, or null where either side is absent. */
export function measureError(c: ClassMeasurement, key: MeasureKey): number | null {
  const a = c.pred?.[key];
  const b = c.ref?.[key];
  return a === undefined || b === undefined ? null : a - b;
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);

/** Per class and measure over the cases: MAE, bias and relative error of the prediction's measurement. */
export function summarizeMeasurements(cases: readonly CaseMeasurements[]): MeasurementSummaryRow[] {
  const rows: MeasurementSummaryRow[] = [];
  const labels = [...new Set(cases.flatMap((c) => c.classes.map((k) => k.label)))].sort((a, b) => a - b);
  const keys = MEASURE_KEYS.filter((k) => cases.some((c) => (c.dims === 2 ? MEASURES_2D : MEASURES_3D).includes(k)));
  for (const label of labels) {
    for (const key of keys) {
      const errs: number[] = [];
      const rel: number[] = [];
      const refs: number[] = [];
      const preds: number[] = [];
      let oneEmpty = 0;
      for (const c of cases) {
        if (!(c.dims === 2 ? MEASURES_2D : MEASURES_3D).includes(key)) continue;
        const k = c.classes.find((x) => x.label === label);
        if (!k) continue;
        if ((k.pred === null) !== (k.ref === null)) oneEmpty++;
        const e = measureError(k, key);
        if (e === null) continue;
        const r = k.ref![key]!;
        errs.push(e);
        refs.push(r);
        preds.push(k.pred![key]!);
        if (r > 0) rel.push(Math.abs(e) / r);
      }
      rows.push({
        label,
        key,
        n: errs.length,
        oneEmpty,
        meanAbsError: mean(errs.map(Math.abs)),
        meanError: mean(errs),
        meanAbsRelError: mean(rel),
        refMean: mean(refs),
        predMean: mean(preds),
      });
    }
  }
  return rows;
}
