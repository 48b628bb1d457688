// 3D editing operations on one segment of a labelmap (Slicer's Segment Editor "Islands",
// "Smoothing", "Margin" and "Logical operators"): connected components, margins and morphology with a
// ball whose radius is in mm (anisotropic voxels give an ellipsoid in voxels), majority (median)
// smoothing, hole filling and merging. Each returns a new labelmap and leaves other segments alone
// unless the operation says otherwise. Results equal scipy.ndimage (see label-edit-ops.test.ts).
import { squaredEdt } from '../base/edt';
import { SegloopError } from '../../../shared/errors';
import { connectedComponents, type Connectivity } from './connected-components';

export type Shape3 = readonly [number, number, number];
export type Spacing3 = readonly [number, number, number];

function checkShape(labels: ArrayLike<number>, shape: Shape3): void {
  if (labels.length !== shape[0] * shape[1] * shape[2]) {
    throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The labelmap has ${labels.length} voxels but the image is ${shape.join('×')}.`);
  }
}

/** Islands: keep only the largest connected piece of `segment` (ties: the first found). */
export function keepLargestIsland(labels: Uint8Array, shape: Shape3, segment: number, connectivity: Connectivity = 6): Uint8Array {
  checkShape(labels, shape);
  const { labels: ids, count, sizes } = connectedComponents((i) => labels[i] === segment, shape, connectivity);
  if (count <= 1) return labels.slice();
  let best = 1;
  for (let k = 2; k <= count; k++) if (sizes[k] > sizes[best]) best = k;
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (ids[i] !== 0 && ids[i] !== best) out[i] = 0;
  return out;
}

/** Islands: remove the pieces of `segment` smaller than `minVoxels`. */
export function removeSmallIslands(labels: Uint8Array, shape: Shape3, segment: number, minVoxels: number, connectivity: Connectivity = 6): Uint8Array {
  checkShape(labels, shape);
  const { labels: ids, sizes } = connectedComponents((i) => labels[i] === segment, shape, connectivity);
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (ids[i] !== 0 && sizes[ids[i]] < minVoxels) out[i] = 0;
  return out;
}

/** Islands: keep the piece of `segment` that holds voxel `index` (the one clicked). */
export function keepIslandAt(labels: Uint8Array, shape: Shape3, segment: number, index: number, connectivity: Connectivity = 6): Uint8Array {
  checkShape(labels, shape);
  if (!(index >= 0 && index < labels.length) || labels[index] !== segment) {
    throw new SegloopError('INVALID_ARGUMENT', `The clicked voxel is not part of segment ${segment}: click inside the piece to keep.`);
  }
  const { labels: ids } = connectedComponents((i) => labels[i] === segment, shape, connectivity);
  const keep = ids[index];
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (ids[i] !== 0 && ids[i] !== keep) out[i] = 0;
  return out;
}

function checkRadius(mm: number): void {
  if (!(Number.isFinite(mm) && mm > 0 && mm <= 100)) throw new SegloopError('INVALID_ARGUMENT', `A radius of ${mm} mm is not usable: give a positive number up to 100 mm.`);
}

/** Squared mm distance from each voxel to the nearest voxel where `mask` is set. */
function distanceTo(mask: Uint8Array, shape: Shape3, spacing: Spacing3): Float64Array {
  return squaredEdt(mask, shape as [number, number, number], spacing as [number, number, number]);
}

/**
 * Margin grow: every voxel within `mm` of `segment` joins it — only background voxels, or any
 * voxel when `overwrite` (then other segments lose what the margin covers). Same as
 * scipy.ndimage.binary_dilation with the ball {|offset|mm <= r}.
 */
export function growMargin(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, mm: number, overwrite = false): Uint8Array {
  checkShape(labels, shape);
  checkRadius(mm);
  const inSeg = Uint8Array.from(labels, (v) => (v === segment ? 1 : 0));
  const d2 = distanceTo(inSeg, shape, spacing);
  const r2 = mm * mm * (1 + 1e-9);
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (d2[i] <= r2 && (overwrite || out[i] === 0)) out[i] = segment;
  return out;
}

/**
 * Margin shrink: `segment` keeps only voxels farther than `mm` from any voxel outside it (the image
 * border does not erode). Same as scipy binary_erosion with the ball and border_value=1.
 */
export function shrinkMargin(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, mm: number): Uint8Array {
  checkShape(labels, shape);
  checkRadius(mm);
  const outside = Uint8Array.from(labels, (v) => (v === segment ? 0 : 1));
  const d2 = distanceTo(outside, shape, spacing);
  const r2 = mm * mm * (1 + 1e-9);
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (out[i] === segment && d2[i] <= r2) out[i] = 0;
  return out;
}

/** Smoothing by opening (shrink then grow back into what the segment had): removes spurs and bridges. */
export function openingSmooth(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, mm: number): Uint8Array {
  const shrunk = shrinkMargin(labels, shape, spacing, segment, mm);
  const grown = growMargin(shrunk, shape, spacing, segment, mm, true);
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (out[i] === segment && grown[i] !== segment) out[i] = 0;
  return out;
}

/** Smoothing by closing (grow then shrink): fills gaps and notches narrower than the ball, into background only. */
export function closingSmooth(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, mm: number): Uint8Array {
  const inSeg = Uint8Array.from(labels, (v) => (v === segment ? segment : 0));
  const grown = growMargin(inSeg, shape, spacing, segment, mm, true);
  const closed = shrinkMargin(grown, shape, spacing, segment, mm);
  const out = labels.slice();
  for (let i = 0; i < out.length; i++) if (out[i] === 0 && closed[i] === segment) out[i] = segment;
  return out;
}

/** The ball's voxel offsets (dx, dy, dz) for a radius in mm. */
function ballOffsets(spacing: Spacing3, mm: number): [number, number, number][] {
  const r = [0, 1, 2].map((d) => Math.floor(mm / spacing[d] + 1e-9));
  const out: [number, number, number][] = [];
  for (let dz = -r[2]; dz <= r[2]; dz++) {
    for (let dy = -r[1]; dy <= r[1]; dy++) {
      for (let dx = -r[0]; dx <= r[0]; dx++) {
        if ((dx * spacing[0]) ** 2 + (dy * spacing[1]) ** 2 + (dz * spacing[2]) ** 2 <= mm * mm * (1 + 1e-9)) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/** Voxel visits a median smoothing may cost before it is refused (a few seconds of CPU). */
export const MEDIAN_MAX_WORK = 3e9;

/**
 * Median (majority) smoothing of `segment` over a ball of `mm`: a voxel is in the segment when more
 * than half of the ball around it is (the image edge repeats its border voxels, like scipy's
 * median_filter(mode='nearest')). Only `segment` and background voxels change.
 */
export function medianSmooth(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, mm: number): Uint8Array {
  checkShape(labels, shape);
  checkRadius(mm);
  const [X, Y, Z] = shape;
  const offs = ballOffsets(spacing, mm);
  if (labels.length * offs.length > MEDIAN_MAX_WORK) {
    throw new SegloopError('INVALID_ARGUMENT', `Median smoothing with ${mm} mm on this image would take too long (${offs.length} voxels per ball): use a smaller radius or the closing/opening smoothing.`);
  }
  const half = offs.length / 2;
  const out = labels.slice();
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const i = x + X * (y + Y * z);
        const v = labels[i];
        if (v !== segment && v !== 0) continue;
        let count = 0;
        for (const [dx, dy, dz] of offs) if (labels[clamp(x + dx, X) + X * (clamp(y + dy, Y) + Y * clamp(z + dz, Z))] === segment) count++;
        out[i] = count > half ? segment : v === segment ? 0 : v;
      }
    }
  }
  return out;
}

/** Fills the holes of `segment`: background pieces (6-connected) that do not touch the image border. */
export function fillHoles(labels: Uint8Array, shape: Shape3, segment: number): Uint8Array {
  checkShape(labels, shape);
  const [X, Y, Z] = shape;
  const { labels: ids, sizes } = connectedComponents((i) => labels[i] !== segment, shape, 6);
  const touches = new Uint8Array(sizes.length);
  // an axis of size 1 (a 2D image) has no border along it: holes are found in the plane
  const edge = (v: number, n: number) => n > 1 && (v === 0 || v === n - 1);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        if (edge(x, X) || edge(y, Y) || edge(z, Z)) touches[ids[x + X * (y + Y * z)]] = 1;
      }
    }
  }
  const out = labels.slice();
  // only holes made of background: a hole holding another segment is that segment's, not a gap
  const holeIsBackground = new Uint8Array(sizes.length).fill(1);
  for (let i = 0; i < out.length; i++) if (ids[i] !== 0 && labels[i] !== 0) holeIsBackground[ids[i]] = 0;
  for (let i = 0; i < out.length; i++) if (ids[i] !== 0 && !touches[ids[i]] && holeIsBackground[ids[i]]) out[i] = segment;
  return out;
}

/** Logical "add": every voxel of segment `from` becomes `into` (merging two segments). */
export function mergeSegment(labels: Uint8Array, into: number, from: number): Uint8Array {
  if (into === from) throw new SegloopError('INVALID_ARGUMENT', 'Choose two different segments to merge.');
  return Uint8Array.from(labels, (v) => (v === from ? into : v));
}

/** Logical "clear": every voxel of `segment` becomes background. */
export function clearSegment(labels: Uint8Array, segment: number): Uint8Array {
  return Uint8Array.from(labels, (v) => (v === segment ? 0 : v));
}
