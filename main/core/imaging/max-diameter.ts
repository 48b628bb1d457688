// Maximum diameter (maximum Feret diameter) of one structure in a 3D label mask, in mm. The
// structure's surface is taken as the points halfway between each inside voxel and each outside
// face neighbour — the vertices of the binary iso-surface at 0.5, and in 2D exactly the
// marching-squares contour points that shape-measures.ts measures on a slice — so a structure one
// voxel long along x measures one voxel, and a [X, Y, 1] mask gives the slice's value.
import type { Vec3 } from './geometry';

/**
 * Largest distance between two surface points of `label`. Exact: the diameter is attained at
 * convex-hull vertices, and a point strictly between two others on a line parallel to an axis is
 * never one, so only line ends are kept (then thinned by three more passes over the candidates),
 * and every remaining pair is measured, skipping points that cannot beat the best pair.
 */
export function maxDiameterMm(mask: ArrayLike<number>, shape: Vec3, spacing: Vec3, label: number): number {
  const [X, Y, Z] = shape;
  // A surface point strictly inside an axis-parallel line of the structure lies between that
  // line's two end points: only the ends (the outermost face of the first and last voxel of each
  // row, column and pillar) can be hull vertices. Points in half-voxel units (integers).
  const rowLo = new Int32Array(Y * Z).fill(-1);
  const rowHi = new Int32Array(Y * Z).fill(-1);
  const colLo = new Int32Array(X * Z).fill(-1);
  const colHi = new Int32Array(X * Z).fill(-1);
  const pilLo = new Int32Array(X * Y).fill(-1);
  const pilHi = new Int32Array(X * Y).fill(-1);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      const base = X * (y + Y * z);
      for (let x = 0; x < X; x++) {
        if (mask[base + x] !== label) continue;
        const r = y + Y * z;
        if (rowLo[r] < 0) rowLo[r] = x;
        rowHi[r] = x;
        const c = x + X * z;
        if (colLo[c] < 0) colLo[c] = y;
        colHi[c] = y;
        const q = x + X * y;
        if (pilLo[q] < 0) pilLo[q] = z;
        pilHi[q] = z;
      }
    }
  }
  let pts: number[][] = [];
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      const r = y + Y * z;
      if (rowLo[r] >= 0) pts.push([2 * rowLo[r] - 1, 2 * y, 2 * z], [2 * rowHi[r] + 1, 2 * y, 2 * z]);
    }
    for (let x = 0; x < X; x++) {
      const c = x + X * z;
      if (colLo[c] >= 0) pts.push([2 * x, 2 * colLo[c] - 1, 2 * z], [2 * x, 2 * colHi[c] + 1, 2 * z]);
    }
  }
  // a single slice (a 2D image) is measured in its plane
  if (Z > 1) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const q = x + X * y;
        if (pilLo[q] >= 0) pts.push([2 * x, 2 * y, 2 * pilLo[q] - 1], [2 * x, 2 * y, 2 * pilHi[q] + 1]);
      }
    }
  }
  if (pts.length < 2) return 0;
  for (let axis = 0; axis < 3; axis++) pts = extremesAlong(pts, axis);
  const mm = pts.map((p) => [(p[0] * spacing[0]) / 2, (p[1] * spacing[1]) / 2, (p[2] * spacing[2]) / 2]);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const p of mm) {
    for (let d = 0; d < 3; d++) {
      lo[d] = Math.min(lo[d], p[d]);
      hi[d] = Math.max(hi[d], p[d]);
    }
  }
  let best2 = 0;
  for (let i = 0; i < mm.length; i++) {
    const p = mm[i];
    // the farthest any point can be from p is the farthest corner of the bounding box
    let reach2 = 0;
    for (let d = 0; d < 3; d++) reach2 += Math.max(p[d] - lo[d], hi[d] - p[d]) ** 2;
    if (reach2 <= best2) continue;
    for (let j = i + 1; j < mm.length; j++) {
      const q = mm[j];
      const d2 = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2;
      if (d2 > best2) best2 = d2;
    }
  }
  return Math.sqrt(best2);
}

/** Of the points on each line parallel to `axis`, keeps the two extremes. */
function extremesAlong(pts: number[][], axis: number): number[][] {
  const [a, b] = [0, 1, 2].filter((d) => d !== axis);
  const lines = new Map<string, [number[], number[]]>();
  for (const p of pts) {
    const key = `${p[a]},${p[b]}`;
    const line = lines.get(key);
    if (!line) lines.set(key, [p, p]);
    else {
      if (p[axis] < line[0][axis]) line[0] = p;
      if (p[axis] > line[1][axis]) line[1] = p;
    }
  }
  const out: number[][] = [];
  for (const [first, last] of lines.values()) {
    out.push(first);
    if (last !== first) out.push(last);
  }
  return out;
}
