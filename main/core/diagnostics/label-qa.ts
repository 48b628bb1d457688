// QA of one label volume against its image and the label schema: values outside the schema,
// non-integer or negative values (float label files), empty masks, small disconnected pieces per
// class (26-connectivity), class voxel counts, and geometry (shape/affine) mismatch.
import type { Mat4, VoxelArray } from '../imaging/volume';
import { componentSizes } from './components';

export interface LabelQaOptions {
  /** Class indices of the schema; values outside are reported. Empty = accept every integer >= 0. */
  schema: readonly number[];
  /** Components smaller than this many voxels count as "tiny" (the largest component never does). */
  tinyComponentVoxels: number;
  /** Affine entries may differ by this much (mm) before geometry is called mismatched. */
  affineTolerance?: number;
}

export interface ClassQa {
  index: number;
  voxels: number;
  components: number;
  tinyComponents: number;
  /** Voxels in the tiny components together. */
  tinyVoxels: number;
  largestComponent: number;
}

export interface LabelQa {
  /** Data type of the label as stored on disk. */
  dtype: string;
  /** Distinct values found (at most 64 listed; `distinctValues` counts them all). */
  values: number[];
  distinctValues: number;
  nonIntegerVoxels: number;
  negativeVoxels: number;
  outOfSchema: { value: number; voxels: number }[];
  /** No voxel above 0. */
  empty: boolean;
  classes: ClassQa[];
  /** Why label and image grids differ, or null when they match. */
  geometryMismatch: string | null;
}

export interface LabelGeometry {
  shape: readonly number[];
  affine: readonly (readonly number[])[];
}

export function geometryMismatch(image: LabelGeometry, label: LabelGeometry, tol = 1e-3): string | null {
  const a = image.shape.slice(0, 3).join('x');
  const b = label.shape.slice(0, 3).join('x');
  if (a !== b) return `shape ${b} differs from the image's ${a}`;
  let worst = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs((image.affine[r]?.[c] ?? NaN) - (label.affine[r]?.[c] ?? NaN)));
  if (!(worst <= tol)) return `affine differs from the image's by up to ${Number(worst.toPrecision(4))} mm`;
  return null;
}

export function labelQa(
  label: { data: VoxelArray; shape: [number, number, number]; affine: Mat4; diskDtype: string },
  image: LabelGeometry | null,
  opts: LabelQaOptions,
): LabelQa {
  const counts = new Map<number, number>();
  let nonInteger = 0;
  let negative = 0;
  const d = label.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  for (const [v, n] of counts) {
    if (!Number.isInteger(v)) nonInteger += n;
    if (v < 0) negative += n;
  }
  const values = [...counts.keys()].sort((a, b) => a - b);
  const allowed = new Set(opts.schema);
  const outOfSchema = values
    .filter((v) => (opts.schema.length > 0 ? !allowed.has(v) : !(Number.isInteger(v) && v >= 0)))
    .map((v) => ({ value: v, voxels: counts.get(v) ?? 0 }));
  const classes: ClassQa[] = [];
  for (const v of values) {
    if (v === 0 || !Number.isInteger(v) || v < 0) continue;
    const sizes = componentSizes(d, label.shape, v);
    const tiny = sizes.slice(1).filter((s) => s < opts.tinyComponentVoxels);
    classes.push({
      index: v,
      voxels: counts.get(v) ?? 0,
      components: sizes.length,
      tinyComponents: tiny.length,
      tinyVoxels: tiny.reduce((a, b) => a + b, 0),
      largestComponent: sizes[0] ?? 0,
    });
  }
  return {
    dtype: label.diskDtype,
    values: values.slice(0, 64),
    distinctValues: values.length,
    nonIntegerVoxels: nonInteger,
    negativeVoxels: negative,
    outOfSchema,
    empty: values.every((v) => v <= 0),
    classes,
    geometryMismatch: image ? geometryMismatch(image, label, opts.affineTolerance) : null,
  };
}
