// Per-class overlap and surface-distance metrics between a predicted and a reference label map.
//
// Definitions (the MONAI convention; tests check them against scipy on real hippocampus labels):
// - Surface voxel of a mask: a voxel of the mask with at least one of its 6 face-neighbours outside
//   the mask. Neighbours beyond the volume border count as outside, so a mask touching the border
//   has a surface there (= mask & ~scipy.ndimage.binary_erosion(mask, 6-connectivity, border 0)).
// - Directed distances A->B: for every surface voxel of A, the Euclidean distance in mm (anisotropic
//   spacing respected) to the nearest surface voxel of B
//   (= distance_transform_edt(~surfaceB, sampling=spacing)[surfaceA]).
// - HD = max of both directed sets; HD95 = max of the two directed 95th percentiles (numpy linear
//   interpolation); ASSD = mean over the union (concatenation) of both directed sets. (medpy's
//   `assd` instead averages the two directed means; it differs when the surfaces differ in size.)
// Empty masks (exposed per class as `empty`, and `bothEmpty` for convenience):
// - both empty ('both'): Dice = IoU = 1 and HD = HD95 = ASSD = 0: nothing to find, nothing found.
// - one empty ('pred' = prediction empty, 'ref' = reference empty): Dice = IoU = 0 and the
//   distances are undefined, reported as null. Aggregates count such classes in Dice/IoU means but
//   leave them out of distance means (and say how many were left out); no max-diagonal penalty.
import { SegloopError } from '../../../shared/errors';
import { edt } from './edt';
import { percentileSorted } from '../base/stats';
import type { ReadonlyVec3 } from '../base/vec3';

export type { Vec3 } from '../base/vec3';

export interface LabelMap {
  /** Integer labels in nibabel order: [i, j, k] at data[i + X*(j + Y*k)]. */
  data: ArrayLike<number>;
  shape: ReadonlyVec3;
}

export type EmptyCase = 'none' | 'both' | 'pred' | 'ref';

export interface ClassMetrics {
  label: number;
  dice: number;
  iou: number;
  /** Voxel counts: true positives, false positives, false negatives. */
  tp: number;
  fp: number;
  fn: number;
  predVoxels: number;
  refVoxels: number;
  predVolumeMm3: number;
  refVolumeMm3: number;
  /** Millimetres; null when exactly one of the two masks is empty. */
  hd95: number | null;
  hd: number | null;
  assd: number | null;
  /** Which mask is empty: 'pred' means the prediction is empty while the reference is not. */
  empty: EmptyCase;
  bothEmpty: boolean;
}

export interface ForegroundMean {
  /** Means over the classes with label != 0; Dice/IoU include one-empty classes (as 0). */
  dice: number | null;
  iou: number | null;
  /** Means over classes whose distances are defined; `distanceClasses` says how many. */
  hd95: number | null;
  hd: number | null;
  assd: number | null;
  distanceClasses: number;
  classes: number;
}

export interface SegmentationMetrics {
  spacing: [number, number, number];
  classes: ClassMetrics[];
  mean: ForegroundMean;
}

export interface SegmentationMetricsOptions {
  /** Voxel size in mm per axis (i, j, k). */
  spacing: ReadonlyVec3;
  /**
   * Labels to score. Default: every non-zero label present in either map. Pass the schema's
   * foreground labels to make a class missing from both maps count (as bothEmpty, Dice 1).
   */
  classes?: readonly number[];
  /** false skips HD/HD95/ASSD (they come back null) for cheap per-epoch validation. Default true. */
  distances?: boolean;
  /** File or case names used in error messages. */
  names?: { pred: string; ref: string };
}

const MAX_LABEL = 65535;

export function segmentationMetrics(pred: LabelMap, ref: LabelMap, options: SegmentationMetricsOptions): SegmentationMetrics {
  const names = options.names ?? { pred: 'prediction', ref: 'reference' };
  const shape = ref.shape;
  if (pred.shape.length !== 3 || pred.shape.some((n, a) => n !== shape[a])) {
    throw new SegloopError(
      'LABEL_GEOMETRY_MISMATCH',
      `${names.pred} has shape (${pred.shape.join(', ')}) but ${names.ref} has shape (${shape.join(', ')}): both label maps must be on the same voxel grid.`,
      { pred: names.pred, ref: names.ref, predShape: [...pred.shape], refShape: [...shape] },
    );
  }
  const n = shape[0] * shape[1] * shape[2];
  for (const [m, name] of [[pred, names.pred], [ref, names.ref]] as const) {
    if (m.data.length !== n) {
      throw new SegloopError('INVALID_ARGUMENT', `${name} holds ${m.data.length} voxels, expected ${n} for shape (${shape.join(', ')}).`, { name });
    }
  }
  const spacing: [number, number, number] = [options.spacing[0], options.spacing[1], options.spacing[2]];
  if (!spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new SegloopError('INVALID_ARGUMENT', `Voxel spacing must be positive millimetres, got (${spacing.join(', ')}).`, { spacing });
  }
  const voxelMm3 = spacing[0] * spacing[1] * spacing[2];

  const maxLabel = Math.max(checkLabels(pred.data, names.pred), checkLabels(ref.data, names.ref));
  const size = maxLabel + 1;
  const predCount = new Float64Array(size);
  const refCount = new Float64Array(size);
  const tpCount = new Float64Array(size);
  // Bounding box of (pred == c) | (ref == c) per label: distances are computed inside it only.
  const lo = new Int32Array(size * 3).fill(2147483647);
  const hi = new Int32Array(size * 3).fill(-1);
  const [nx, ny] = shape;
  let idx = 0;
  for (let k = 0; k < shape[2]; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, idx++) {
        const p = pred.data[idx];
        const r = ref.data[idx];
        if (p === r) {
          if (p === 0) continue;
          tpCount[p]++;
        }
        if (p !== 0) {
          predCount[p]++;
          grow(lo, hi, p, i, j, k);
        }
        if (r !== 0) {
          refCount[r]++;
          if (r !== p) grow(lo, hi, r, i, j, k);
        }
      }
    }
  }
  // Background counts are never needed for the box, but are for an explicit class 0.
  let bg = 0;
  let bgPred = 0;
  let bgRef = 0;
  for (let t = 0; t < n; t++) {
    const p = pred.data[t];
    const r = ref.data[t];
    if (p === 0) bgPred++;
    if (r === 0) bgRef++;
    if (p === 0 && r === 0) bg++;
  }
  predCount[0] = bgPred;
  refCount[0] = bgRef;
  tpCount[0] = bg;

  let classes: number[];
  if (options.classes) {
    classes = [...options.classes];
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 0 || c > MAX_LABEL) throw new SegloopError('INVALID_ARGUMENT', `Class ${c} is not a label index (integer 0..${MAX_LABEL}).`, { class: c });
    }
  } else {
    classes = [];
    for (let c = 1; c < size; c++) if (predCount[c] > 0 || refCount[c] > 0) classes.push(c);
  }

  const wantDistances = options.distances !== false;
  const out: ClassMetrics[] = classes.map((c) => {
    const pc = c < size ? predCount[c] : 0;
    const rc = c < size ? refCount[c] : 0;
    const tp = c < size ? tpCount[c] : 0;
    const empty: EmptyCase = pc === 0 && rc === 0 ? 'both' : pc === 0 ? 'pred' : rc === 0 ? 'ref' : 'none';
    const base = {
      label: c,
      dice: empty === 'both' ? 1 : (2 * tp) / (pc + rc),
      iou: empty === 'both' ? 1 : tp / (pc + rc - tp),
      tp,
      fp: pc - tp,
      fn: rc - tp,
      predVoxels: pc,
      refVoxels: rc,
      predVolumeMm3: pc * voxelMm3,
      refVolumeMm3: rc * voxelMm3,
      empty,
      bothEmpty: empty === 'both',
    };
    if (empty === 'both') return { ...base, hd95: 0, hd: 0, assd: 0 };
    if (empty !== 'none' || !wantDistances) return { ...base, hd95: null, hd: null, assd: null };
    const box =
      c === 0
        ? { lo: [0, 0, 0] as const, hi: [shape[0] - 1, shape[1] - 1, shape[2] - 1] as const }
        : { lo: [lo[3 * c], lo[3 * c + 1], lo[3 * c + 2]] as const, hi: [hi[3 * c], hi[3 * c + 1], hi[3 * c + 2]] as const };
    return { ...base, ...surfaceDistances(pred.data, ref.data, shape, spacing, c, box) };
  });

  return { spacing, classes: out, mean: foregroundMean(out) };
}

export function foregroundMean(classes: readonly ClassMetrics[]): ForegroundMean {
  const fg = classes.filter((c) => c.label !== 0);
  const avg = (xs: Array<number | null>): number | null => {
    const ok = xs.filter((x): x is number => x !== null);
    return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
  };
  return {
    dice: avg(fg.map((c) => c.dice)),
    iou: avg(fg.map((c) => c.iou)),
    hd95: avg(fg.map((c) => c.hd95)),
    hd: avg(fg.map((c) => c.hd)),
    assd: avg(fg.map((c) => c.assd)),
    distanceClasses: fg.filter((c) => c.hd95 !== null).length,
    classes: fg.length,
  };
}

export interface DirectedDistances {
  /** For each surface voxel of the prediction: mm to the nearest reference surface voxel. */
  predToRef: Float64Array;
  refToPred: Float64Array;
}

/** The two directed surface-distance sets for one label (both masks must be non-empty). */
export function directedSurfaceDistances(pred: LabelMap, ref: LabelMap, spacing: ReadonlyVec3, label: number): DirectedDistances {
  const s = ref.shape;
  return directedInBox(pred.data, ref.data, s, spacing, label, { lo: [0, 0, 0], hi: [s[0] - 1, s[1] - 1, s[2] - 1] });
}

interface Box {
  lo: readonly [number, number, number];
  hi: readonly [number, number, number];
}

function surfaceDistances(
  pred: ArrayLike<number>,
  ref: ArrayLike<number>,
  shape: ReadonlyVec3,
  spacing: ReadonlyVec3,
  label: number,
  box: Box,
): { hd95: number; hd: number; assd: number } {
  const { predToRef, refToPred } = directedInBox(pred, ref, shape, spacing, label, box);
  predToRef.sort();
  refToPred.sort();
  let sum = 0;
  for (const d of predToRef) sum += d;
  for (const d of refToPred) sum += d;
  return {
    hd95: Math.max(percentileSorted(predToRef, 95), percentileSorted(refToPred, 95)),
    hd: Math.max(predToRef[predToRef.length - 1], refToPred[refToPred.length - 1]),
    assd: sum / (predToRef.length + refToPred.length),
  };
}

// Works on the bounding box of both masks: every surface voxel lies inside it, so the nearest
// surface voxel (and hence the EDT value at every query point) is the same as on the full grid.
// Outside the box neither mask has voxels, so "outside the box" correctly counts as "outside".
function directedInBox(pred: ArrayLike<number>, ref: ArrayLike<number>, shape: ReadonlyVec3, spacing: ReadonlyVec3, label: number, box: Box): DirectedDistances {
  const bx = box.hi[0] - box.lo[0] + 1;
  const by = box.hi[1] - box.lo[1] + 1;
  const bz = box.hi[2] - box.lo[2] + 1;
  const bshape: [number, number, number] = [bx, by, bz];
  const m = bx * by * bz;
  const pm = new Uint8Array(m);
  const rm = new Uint8Array(m);
  const [nx, ny] = shape;
  let t = 0;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      let src = box.lo[0] + nx * (box.lo[1] + j + ny * (box.lo[2] + k));
      for (let i = 0; i < bx; i++, t++, src++) {
        if (pred[src] === label) pm[t] = 1;
        if (ref[src] === label) rm[t] = 1;
      }
    }
  }
  const ps = surface(pm, bshape);
  const rs = surface(rm, bshape);
  const dToRef = edt(rs, bshape, spacing);
  const dToPred = edt(ps, bshape, spacing);
  return { predToRef: gather(dToRef, ps), refToPred: gather(dToPred, rs) };
}

/** 1 where the mask has a 6-neighbour outside it (out of the grid counts as outside). */
export function surface(mask: Uint8Array, shape: ReadonlyVec3): Uint8Array {
  const [nx, ny, nz] = shape;
  const sx = 1;
  const sy = nx;
  const sz = nx * ny;
  const out = new Uint8Array(mask.length);
  let t = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, t++) {
        if (!mask[t]) continue;
        if (
          i === 0 || i === nx - 1 || j === 0 || j === ny - 1 || k === 0 || k === nz - 1 ||
          !mask[t - sx] || !mask[t + sx] || !mask[t - sy] || !mask[t + sy] || !mask[t - sz] || !mask[t + sz]
        ) {
          out[t] = 1;
        }
      }
    }
  }
  return out;
}

function gather(dist: Float64Array, where: Uint8Array): Float64Array {
  let count = 0;
  for (let t = 0; t < where.length; t++) if (where[t]) count++;
  const out = new Float64Array(count);
  let o = 0;
  for (let t = 0; t < where.length; t++) if (where[t]) out[o++] = dist[t];
  return out;
}

function grow(lo: Int32Array, hi: Int32Array, c: number, i: number, j: number, k: number): void {
  const b = 3 * c;
  if (i < lo[b]) lo[b] = i;
  if (i > hi[b]) hi[b] = i;
  if (j < lo[b + 1]) lo[b + 1] = j;
  if (j > hi[b + 1]) hi[b + 1] = j;
  if (k < lo[b + 2]) lo[b + 2] = k;
  if (k > hi[b + 2]) hi[b + 2] = k;
}

/** Returns the largest label; throws when a value is not a non-negative integer label. */
function checkLabels(data: ArrayLike<number>, name: string): number {
  let max = 0;
  for (let t = 0; t < data.length; t++) {
    const v = data[t];
    if (v > max) max = v;
    if (!(Number.isInteger(v) && v >= 0 && v <= MAX_LABEL)) {
      throw new SegloopError(
        'LABEL_NOT_INTEGER',
        `${name} contains the value ${v} at voxel ${t}: a label map must hold integer labels 0..${MAX_LABEL}.`,
        { name, value: v, voxel: t },
      );
    }
  }
  return max;
}
