// Connected-component labelling of a 3D mask: the one implementation behind the label editor's
// "Islands" tools and the prediction post-processing (largest component, minimum size).
// Connectivity is that of scipy.ndimage.generate_binary_structure(3, r): 6 (faces, r=1), 18
// (faces and edges, r=2) or 26 (faces, edges and corners, r=3). Volume order (x fastest),
// shape [X, Y, Z]; a 2D image is [X, Y, 1] and then 6 gives 4- and 26 gives 8-connectivity.
import { SegloopError } from '../../../shared/errors';

export type Connectivity = 6 | 18 | 26;
export type Shape3 = readonly [number, number, number];

export interface Components {
  /** 0 = not in the mask; 1..count = component id, numbered in scan order of first voxel (as scipy). */
  labels: Int32Array;
  count: number;
  /** sizes[id] = voxel count of component id (sizes[0] = 0, unused). */
  sizes: number[];
}

/** Neighbour offsets (dx, dy, dz) of a connectivity. */
function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  const maxSteps = connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3;
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const m = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (m !== 0 && m <= maxSteps) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/**
 * Connected components of a mask, by breadth-first flood fill. `inside` is either an array
 * (non-zero = inside) or a predicate on the voxel index (evaluated once per voxel).
 */
export function connectedComponents(
  inside: ArrayLike<number> | ((i: number) => boolean),
  shape: Shape3,
  connectivity: Connectivity,
): Components {
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) {
    throw new SegloopError('INVALID_ARGUMENT', `Connectivity must be 6, 18 or 26, got ${String(connectivity)}.`);
  }
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  let mask: ArrayLike<number>;
  if (typeof inside === 'function') {
    const m = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (inside(i)) m[i] = 1;
    mask = m;
  } else {
    if (inside.length !== n) throw new SegloopError('INVALID_ARGUMENT', `Mask has ${inside.length} voxels, shape ${shape.join('x')} needs ${n}.`);
    mask = inside;
  }
  const labels = new Int32Array(n);
  const sizes = [0];
  const offs = neighbourOffsets(connectivity);
  const queue = new Int32Array(n);
  let count = 0;
  for (let seed = 0; seed < n; seed++) {
    if (!mask[seed] || labels[seed]) continue;
    const id = ++count;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    labels[seed] = id;
    while (head < tail) {
      const v = queue[head++];
      const x = v % X;
      const y = Math.floor(v / X) % Y;
      const z = Math.floor(v / (X * Y));
      for (const [dx, dy, dz] of offs) {
        const a = x + dx;
        const b = y + dy;
        const c = z + dz;
        if (a < 0 || b < 0 || c < 0 || a >= X || b >= Y || c >= Z) continue;
        const u = a + X * (b + Y * c);
        if (mask[u] && !labels[u]) {
          labels[u] = id;
          queue[tail++] = u;
        }
      }
    }
    sizes.push(tail);
  }
  return { labels, count, sizes };
}
