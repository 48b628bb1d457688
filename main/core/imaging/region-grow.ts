// Region growing from seeds (Slicer's "Flood filling", ITK's connected threshold).
// - A typed tolerance: every voxel connected to a seed whose intensity lies within ± tolerance of
//   that seed's intensity joins the segment, seed by seed: the same set as
//   skimage.segmentation.flood (region-grow.test.ts).
// - "auto": one intensity interval for all seeds, centre ± t, from robust statistics of the seeds'
//   neighbourhoods (median and MAD: a seed next to an edge has a two-valued neighbourhood whose
//   standard deviation is that of the edge, not of the tissue), and t chosen where the grown region
//   is most stable as t changes (the maximally stable region, as in MSER): inside a structure a
//   wider interval adds little; at the tolerance where the region breaks through a wall it jumps.
// - A leak guard for both: a region that passes `maxVoxels` stops there; nothing is applied and the
//   result says so (an explosion into the surroundings is never a useful preview).
// - Masking: walls where the editable area or the intensity range forbid a change.
import { SegloopError } from '../../../shared/errors';

export type Shape3 = readonly [number, number, number];
export type Connectivity = 6 | 18 | 26;

/**
 * Leak guard default: a region may cover at most this fraction of the image. One click grows one
 * structure, and the hippocampus crops are cut around a structure that fills a small part of them,
 * so a region past a quarter of the image has leaked into the surroundings. (The largest labelled
 * fraction over ../shared/data/hippocampus has NOT been measured yet: do so before tuning.)
 * Grow-anyway (maxVoxels: null) lifts it for a deliberate large fill.
 */
export const MAX_REGION_FRACTION = 0.25;
/** Half-width of the cube sampled around each seed for the auto interval (5×5×5 voxels). */
export const AUTO_RADIUS = 2;
/** Auto tolerances tried, in robust standard deviations of the seed sample. */
export const AUTO_KS: readonly number[] = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.5, 4];
/** An auto region smaller than this is not a candidate (a handful of voxels is always "stable"). */
export const AUTO_MIN_VOXELS = 27;
/** σ from the median absolute deviation of a normal sample. */
const MAD_TO_SIGMA = 1.4826;

export interface RegionGrowOptions {
  /** voxel indices (x fastest) of the seeds */
  seeds: readonly number[];
  segment: number;
  /** in image intensity units, or 'auto' (see the file comment) */
  tolerance: number | 'auto';
  connectivity?: Connectivity;
  /** false: only background voxels (and the segment's own) change; true: other segments too */
  overwrite?: boolean;
  /** masking: grow only through voxels of this segment (editable area "inside segment X") */
  insideSegment?: number | null;
  /** masking: grow only through voxels whose intensity lies in [lower, upper] */
  range?: readonly [number, number] | null;
  /** leak guard: stop once the region passes this many voxels; null: no limit; default MAX_REGION_FRACTION of the image */
  maxVoxels?: number | null;
}

export interface RegionGrowResult {
  labels: Uint8Array;
  /** the tolerance used for each seed (auto: the same for all) */
  tolerances: number[];
  /** auto: the intensity interval grown through, [centre − t, centre + t] */
  interval?: [number, number];
  /** voxels in the grown region (before overwrite rules) */
  regionVoxels: number;
  /** set when the leak guard stopped the growth: nothing was applied */
  leak?: { bound: number; reachedVoxels: number };
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

function checkTolerance(tolerance: number): void {
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new SegloopError('INVALID_ARGUMENT', `The tolerance must be a finite number ≥ 0 (got ${tolerance}).`);
}

/** Calls fn(j) for each in-image neighbour j of voxel i. */
function neighbours(shape: Shape3, offs: readonly [number, number, number][], i: number, fn: (j: number) => void): void {
  const [X, Y, Z] = shape;
  const x = i % X;
  const y = Math.floor(i / X) % Y;
  const z = Math.floor(i / (X * Y));
  for (const [dx, dy, dz] of offs) {
    const nx = x + dx;
    const ny = y + dy;
    const nz = z + dz;
    if (nx < 0 || ny < 0 || nz < 0 || nx >= X || ny >= Y || nz >= Z) continue;
    fn(nx + X * (ny + Y * nz));
  }
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * Robust centre and spread of the intensities around the seeds: the median and 1.4826 × the median
 * absolute deviation of the (passable) voxels of each seed's (2·AUTO_RADIUS+1)³ cube, pooled (a
 * voxel in two cubes counts once). A sample with MAD 0 (a flat image, or a plateau) uses its
 * standard deviation, which is 0 only when the sample is flat.
 */
export function seedStatistics(image: ArrayLike<number>, shape: Shape3, seeds: readonly number[], passable: (i: number) => boolean = () => true): { centre: number; sigma: number; samples: number } {
  const [X, Y, Z] = shape;
  const seen = new Set<number>();
  for (const seed of seeds) {
    checkSeed(seed, X * Y * Z);
    const x = seed % X;
    const y = Math.floor(seed / X) % Y;
    const z = Math.floor(seed / (X * Y));
    for (let k = Math.max(0, z - AUTO_RADIUS); k <= Math.min(Z - 1, z + AUTO_RADIUS); k++) {
      for (let j = Math.max(0, y - AUTO_RADIUS); j <= Math.min(Y - 1, y + AUTO_RADIUS); j++) {
        for (let i = Math.max(0, x - AUTO_RADIUS); i <= Math.min(X - 1, x + AUTO_RADIUS); i++) {
          const v = i + X * (j + Y * k);
          if (passable(v) || v === seed) seen.add(v);
        }
      }
    }
  }
  const values = Float64Array.from(seen, (i) => image[i]).sort();
  const centre = median(values);
  const mad = median(Float64Array.from(values, (v) => Math.abs(v - centre)).sort());
  let sigma = MAD_TO_SIGMA * mad;
  if (sigma === 0) {
    let s2 = 0;
    for (const v of values) s2 += (v - centre) ** 2;
    sigma = Math.sqrt(s2 / values.length);
  }
  return { centre, sigma, samples: values.length };
}

/** The voxels connected to `seed` with |value − value(seed)| ≤ tolerance (1 = in), like skimage's flood. */
export function floodMask(image: ArrayLike<number>, shape: Shape3, seed: number, tolerance: number, connectivity: Connectivity = 6): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  if (image.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The image has ${image.length} voxels, expected ${shape.join('×')}.`);
  checkSeed(seed, n);
  checkTolerance(tolerance);
  const mask = new Uint8Array(n);
  floodInto(image, shape, seed, image[seed] - tolerance, image[seed] + tolerance, offsets(connectivity), () => true, mask, 1, Infinity);
  return mask;
}

/**
 * Marks (mask[i] = stamp) the voxels connected to `seed` through passable voxels with intensity in
 * [lo, hi]; the seed itself joins as skimage's flood does. Returns the number marked, or -1 once it
 * would pass `limit`.
 */
function floodInto(image: ArrayLike<number>, shape: Shape3, seed: number, lo: number, hi: number, offs: readonly [number, number, number][], passable: (i: number) => boolean, mask: Uint8Array | Int32Array, stamp: number, limit: number, onAdd?: (i: number) => boolean): number {
  const queue: number[] = [seed];
  mask[seed] = stamp;
  let count = 1;
  if (onAdd?.(seed) === false) return -1;
  let head = 0;
  let over = false;
  while (head < queue.length && !over) {
    neighbours(shape, offs, queue[head++], (j) => {
      if (over || mask[j] === stamp || !passable(j)) return;
      const v = image[j];
      if (v >= lo && v <= hi) {
        mask[j] = stamp;
        queue.push(j);
        count++;
        if (count > limit || onAdd?.(j) === false) over = true;
      }
    });
  }
  return over ? -1 : count;
}

/** A binary min-heap of voxel indices by key (the auto growth order). */
class MinHeap {
  private idx: number[] = [];
  private key: number[] = [];
  get size(): number {
    return this.idx.length;
  }
  push(i: number, k: number): void {
    const a = this.idx;
    const b = this.key;
    let c = a.length;
    a.push(i);
    b.push(k);
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (b[p] <= k) break;
      a[c] = a[p];
      b[c] = b[p];
      c = p;
    }
    a[c] = i;
    b[c] = k;
  }
  pop(): [number, number] {
    const a = this.idx;
    const b = this.key;
    const top: [number, number] = [a[0], b[0]];
    const li = a.pop()!;
    const lk = b.pop()!;
    const n = a.length;
    if (n > 0) {
      let c = 0;
      for (;;) {
        let m = 2 * c + 1;
        if (m >= n) break;
        if (m + 1 < n && b[m + 1] < b[m]) m++;
        if (b[m] >= lk) break;
        a[c] = a[m];
        b[c] = b[m];
        c = m;
      }
      a[c] = li;
      b[c] = lk;
    }
    return top;
  }
}

/**
 * Auto region: the tolerance t at which the region {voxels connected to a seed through voxels with
 * |value − centre| ≤ t} is most stable. One priority flood from all seeds gives the region for every
 * t at once: a voxel's key is the largest |value − centre| on its best path from a seed, and the
 * region at t is exactly the voxels with key ≤ t. The flood stops past `limit` voxels.
 */
function autoRegion(
  image: ArrayLike<number>,
  shape: Shape3,
  seeds: readonly number[],
  offs: readonly [number, number, number][],
  passable: (i: number) => boolean,
  limit: number,
): { region: number[]; tolerance: number; centre: number; leak: { reachedVoxels: number } | null } {
  const { centre, sigma } = seedStatistics(image, shape, seeds, passable);
  const tMax = AUTO_KS[AUTO_KS.length - 1] * sigma;
  const n = shape[0] * shape[1] * shape[2];
  const done = new Uint8Array(n);
  const heap = new MinHeap();
  for (const s of seeds) heap.push(s, Math.abs(image[s] - centre));
  const order: number[] = [];
  const keys: number[] = [];
  let stoppedAt = Infinity; // the key at which the limit was passed (regions at t ≥ it are too big)
  while (heap.size > 0) {
    const [i, k] = heap.pop();
    if (done[i]) continue;
    if (k > tMax) break;
    if (order.length >= limit) {
      stoppedAt = k;
      break;
    }
    done[i] = 1;
    order.push(i);
    keys.push(k);
    neighbours(shape, offs, i, (j) => {
      if (!done[j] && passable(j)) heap.push(j, Math.max(k, Math.abs(image[j] - centre)));
    });
  }
  // keys are non-decreasing: n(t) = the number of keys ≤ t
  const sizeAt = (t: number): number => {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (keys[m] <= t) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  const ts = AUTO_KS.map((k) => k * sigma);
  const sizes = ts.map((t) => (t >= stoppedAt ? Infinity : sizeAt(t)));
  // stability: relative growth of the region between the neighbouring tolerances
  let best = -1;
  let bestQ = Infinity;
  for (let j = 0; j < ts.length; j++) {
    if (!Number.isFinite(sizes[j]) || sizes[j] === 0) continue;
    const prev = sizes[Math.max(0, j - 1)];
    const next = sizes[Math.min(ts.length - 1, j + 1)];
    if (!Number.isFinite(next)) continue; // the next tolerance leaks: this one is not known to be stable
    const big = sizes[j] >= Math.min(AUTO_MIN_VOXELS, sizes[sizes.length - 1]);
    const q = (next - prev) / sizes[j] + (big ? 0 : 1e6);
    if (q <= bestQ) {
      bestQ = q;
      best = j;
    }
  }
  if (best < 0) {
    // even the narrowest interval passes the bound (or every candidate is next to one that does)
    const firstOk = sizes.findIndex((s) => Number.isFinite(s) && s > 0);
    if (firstOk < 0) return { region: [], tolerance: ts[0], centre, leak: { reachedVoxels: order.length } };
    best = firstOk;
  }
  const size = sizes[best];
  return { region: order.slice(0, size), tolerance: ts[best], centre, leak: null };
}

/** The labelmap with the grown region set to `segment` (unchanged when the leak guard stopped it). */
export function regionGrow(labels: Uint8Array, image: ArrayLike<number>, shape: Shape3, opts: RegionGrowOptions): RegionGrowResult {
  const n = shape[0] * shape[1] * shape[2];
  if (labels.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The labelmap has ${labels.length} voxels but the image is ${shape.join('×')}.`);
  if (image.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The image has ${image.length} voxels, expected ${shape.join('×')}.`);
  if (opts.seeds.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'Region growing needs at least one seed.');
  for (const s of opts.seeds) checkSeed(s, n);
  if (opts.tolerance !== 'auto') checkTolerance(opts.tolerance);
  const range = opts.range ? ([Math.min(...opts.range), Math.max(...opts.range)] as const) : null;
  const inside = opts.insideSegment ?? null;
  const passable = (i: number): boolean => (inside === null || labels[i] === inside) && (range === null || (image[i] >= range[0] && image[i] <= range[1]));
  const bound = opts.maxVoxels === null ? Infinity : (opts.maxVoxels ?? Math.ceil(n * MAX_REGION_FRACTION));
  const offs = offsets(opts.connectivity ?? 6);
  const inRegion = new Uint8Array(n);
  const region: number[] = [];
  let tolerances: number[];
  let interval: [number, number] | undefined;
  let leak: RegionGrowResult['leak'];
  // seeds the mask forbids grow nothing (a wall cannot be a seed)
  const seeds = opts.seeds.filter(passable);
  if (seeds.length === 0) {
    tolerances = opts.seeds.map(() => (opts.tolerance === 'auto' ? 0 : (opts.tolerance as number)));
  } else if (opts.tolerance === 'auto') {
    const auto = autoRegion(image, shape, seeds, offs, passable, bound);
    tolerances = opts.seeds.map(() => auto.tolerance);
    interval = [auto.centre - auto.tolerance, auto.centre + auto.tolerance];
    if (auto.leak) leak = { bound, reachedVoxels: auto.leak.reachedVoxels };
    else for (const i of auto.region) region.push(i);
  } else {
    const tol = opts.tolerance;
    tolerances = opts.seeds.map(() => tol);
    // seed by seed as skimage does (each around its own intensity); the union is what is guarded
    const visited = new Int32Array(n);
    let stamp = 0;
    for (const seed of seeds) {
      const added = floodInto(image, shape, seed, image[seed] - tol, image[seed] + tol, offs, passable, visited, ++stamp, Infinity, (i) => {
        if (!inRegion[i]) {
          inRegion[i] = 1;
          region.push(i);
        }
        return region.length <= bound;
      });
      if (added < 0) {
        leak = { bound, reachedVoxels: region.length };
        break;
      }
    }
  }
  const out = labels.slice();
  if (leak) return { labels: out, tolerances, ...(interval ? { interval } : {}), regionVoxels: region.length, leak };
  for (const i of region) {
    // other segments' voxels are kept unless the user asked to overwrite them (or paints inside one)
    if (opts.overwrite || inside !== null || labels[i] === 0 || labels[i] === opts.segment) out[i] = opts.segment;
  }
  return { labels: out, tolerances, ...(interval ? { interval } : {}), regionVoxels: region.length };
}
