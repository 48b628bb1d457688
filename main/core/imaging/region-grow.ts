// Region growing from seeds (Slicer's "Flood filling", ITK-SNAP's region competition without the
// snake): every voxel connected to a seed whose intensity lies within ± tolerance of the seed's
// intensity joins the segment. The same set as skimage.segmentation.flood (region-grow.test.ts).
// The tolerance is given in image units, or derived from the seed's neighbourhood ("auto": a
// multiple of the intensity spread around the click), so one click works on any scanner's scale.
import { SegloopError } from '../../../shared/errors';

export type Shape3 = readonly [number, number, number];
export type Connectivity = 6 | 18 | 26;

/**
 * Auto tolerance = AUTO_K × the standard deviation of the seed's 3×3×3 neighbourhood (clipped at the
 * border). Small on purpose: on the hippocampus MR crops a plain flood leaks into most of the volume
 * from k = 1 (10-50 k of 78 k voxels from seeds inside the structure) — start small, type more.
 */
export const AUTO_K = 0.75;

export interface RegionGrowOptions {
  /** voxel indices (x fastest) of the seeds */
  seeds: readonly number[];
  segment: number;
  /** in image intensity units, or 'auto' (AUTO_K × neighbourhood standard deviation, per seed) */
  tolerance: number | 'auto';
  connectivity?: Connectivity;
  /** false: only background voxels (and the segment's own) change; true: other segments too */
  overwrite?: boolean;
}

function offsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const m = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (m === 0 || (connectivity === 6 && m > 1) || (connectivity === 18 && m > 2)) continue;
        out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

function checkSeed(seed: number, n: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= n) {
    throw new SegloopError('INVALID_ARGUMENT', `Seed voxel ${seed} is outside the image (0…${n - 1}).`);
  }
}

/** AUTO_K × the (population) standard deviation of the intensities in the seed's 3×3×3 neighbourhood. */
export function autoTolerance(image: ArrayLike<number>, shape: Shape3, seed: number): number {
  const [X, Y, Z] = shape;
  checkSeed(seed, X * Y * Z);
  const x = seed % X;
  const y = Math.floor(seed / X) % Y;
  const z = Math.floor(seed / (X * Y));
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let k = Math.max(0, z - 1); k <= Math.min(Z - 1, z + 1); k++) {
    for (let j = Math.max(0, y - 1); j <= Math.min(Y - 1, y + 1); j++) {
      for (let i = Math.max(0, x - 1); i <= Math.min(X - 1, x + 1); i++) {
        const v = image[i + X * (j + Y * k)];
        s += v;
        s2 += v * v;
        n++;
      }
    }
  }
  const mean = s / n;
  return AUTO_K * Math.sqrt(Math.max(0, s2 / n - mean * mean));
}

/** The voxels connected to `seed` with |value − value(seed)| ≤ tolerance (1 = in), like skimage's flood. */
export function floodMask(image: ArrayLike<number>, shape: Shape3, seed: number, tolerance: number, connectivity: Connectivity = 6): Uint8Array {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  if (image.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The image has ${image.length} voxels, expected ${X}×${Y}×${Z}.`);
  checkSeed(seed, n);
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new SegloopError('INVALID_ARGUMENT', `The tolerance must be a finite number ≥ 0 (got ${tolerance}).`);
  const v0 = image[seed];
  const lo = v0 - tolerance;
  const hi = v0 + tolerance;
  const mask = new Uint8Array(n);
  const queue = new Int32Array(n);
  const offs = offsets(connectivity);
  let head = 0;
  let tail = 0;
  mask[seed] = 1;
  queue[tail++] = seed;
  while (head < tail) {
    const i = queue[head++];
    const x = i % X;
    const y = Math.floor(i / X) % Y;
    const z = Math.floor(i / (X * Y));
    for (const [dx, dy, dz] of offs) {
      const nx = x + dx;
      const ny = y + dy;
      const nz = z + dz;
      if (nx < 0 || ny < 0 || nz < 0 || nx >= X || ny >= Y || nz >= Z) continue;
      const j = nx + X * (ny + Y * nz);
      if (mask[j]) continue;
      const v = image[j];
      if (v >= lo && v <= hi) {
        mask[j] = 1;
        queue[tail++] = j;
      }
    }
  }
  return mask;
}

/** The labelmap with the grown region(s) set to `segment`, and the tolerance used per seed. */
export function regionGrow(labels: Uint8Array, image: ArrayLike<number>, shape: Shape3, opts: RegionGrowOptions): { labels: Uint8Array; tolerances: number[] } {
  const n = shape[0] * shape[1] * shape[2];
  if (labels.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The labelmap has ${labels.length} voxels but the image is ${shape.join('×')}.`);
  if (opts.seeds.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'Region growing needs at least one seed.');
  const out = labels.slice();
  const tolerances: number[] = [];
  for (const seed of opts.seeds) {
    const tol = opts.tolerance === 'auto' ? autoTolerance(image, shape, seed) : opts.tolerance;
    tolerances.push(tol);
    const mask = floodMask(image, shape, seed, tol, opts.connectivity ?? 6);
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      // other segments' voxels are kept unless the user asked to overwrite them
      if (opts.overwrite || labels[i] === 0 || labels[i] === opts.segment) out[i] = opts.segment;
    }
  }
  return { labels: out, tolerances };
}
