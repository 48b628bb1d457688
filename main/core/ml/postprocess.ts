// Post-processing of label maps: connected components per class, then "keep the largest
// component" and/or "remove components smaller than N voxels" (removed voxels become
// background). Connectivity is 3D: 6 (faces) or 26 (faces, edges and corners; the default, as
// scipy.ndimage.generate_binary_structure(3, 3) and nnU-Net's choice for its LCC step).
// Labels use Volume order (i fastest), shape [X, Y, Z].
import { SegloopError } from '../../../shared/errors';

export type Connectivity = 6 | 26;

export interface Components {
  /** 0 = not in the mask; 1..count = component id, numbered in scan order of first voxel (as scipy). */
  labels: Int32Array;
  count: number;
  /** sizes[id] = voxel count (sizes[0] unused). */
  sizes: number[];
}

function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    const m = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
    if (m === 0) continue;
    if (connectivity === 6 && m !== 1) continue;
    out.push([dx, dy, dz]);
  }
  return out;
}

/** Connected components of a binary mask (non-zero = inside), by breadth-first flood fill. */
export function connectedComponents(mask: ArrayLike<number>, shape: readonly [number, number, number], connectivity: Connectivity = 26): Components {
  if (connectivity !== 6 && connectivity !== 26) throw new SegloopError('INVALID_ARGUMENT', `Connectivity must be 6 or 26, got ${String(connectivity)}.`);
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  if (mask.length !== n) throw new SegloopError('INVALID_ARGUMENT', `Mask has ${mask.length} voxels, shape ${shape.join('x')} needs ${n}.`);
  const labels = new Int32Array(n);
  const sizes = [0];
  const offs = neighbourOffsets(connectivity);
  const queue = new Int32Array(n);
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || labels[start]) continue;
    const id = ++count;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    labels[start] = id;
    while (head < tail) {
      const v = queue[head++];
      const i = v % X;
      const j = Math.floor(v / X) % Y;
      const k = Math.floor(v / (X * Y));
      for (const [dx, dy, dz] of offs) {
        const a = i + dx, b = j + dy, c = k + dz;
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

export interface PostprocessOptions {
  /** Classes for which only the largest component is kept (true = every foreground class). */
  largestComponent?: boolean | readonly number[];
  /** Components smaller than this many voxels are removed (per class, or one value for all). */
  minComponentVoxels?: number | Readonly<Record<number, number>>;
  connectivity?: Connectivity;
}

export interface PostprocessReport {
  /** Removed voxels per class index. */
  removedVoxels: Record<number, number>;
}

/** Applies the options to each foreground class of `labels` (returns a new array). */
export function postprocessLabels(
  labels: Uint8Array,
  shape: readonly [number, number, number],
  numClasses: number,
  opts: PostprocessOptions,
): { labels: Uint8Array; report: PostprocessReport } {
  const out = labels.slice();
  const removedVoxels: Record<number, number> = {};
  const conn = opts.connectivity ?? 26;
  for (let cls = 1; cls < numClasses; cls++) {
    const lcc = opts.largestComponent === true || (Array.isArray(opts.largestComponent) && opts.largestComponent.includes(cls));
    const minV = typeof opts.minComponentVoxels === 'number' ? opts.minComponentVoxels : (opts.minComponentVoxels?.[cls] ?? 0);
    if (!lcc && !(minV > 0)) continue;
    const mask = new Uint8Array(out.length);
    let any = false;
    for (let v = 0; v < out.length; v++) {
      if (out[v] === cls) {
        mask[v] = 1;
        any = true;
      }
    }
    if (!any) continue;
    const cc = connectedComponents(mask, shape, conn);
    let largest = 1;
    for (let id = 2; id <= cc.count; id++) if (cc.sizes[id] > cc.sizes[largest]) largest = id;
    const keep = cc.sizes.map((s, id) => id > 0 && (!lcc || id === largest) && s >= minV);
    let removed = 0;
    for (let v = 0; v < out.length; v++) {
      const id = cc.labels[v];
      if (id && !keep[id]) {
        out[v] = 0;
        removed++;
      }
    }
    removedVoxels[cls] = removed;
  }
  return { labels: out, report: { removedVoxels } };
}

/** Parses the CLI form: "none" | "lcc" | "min:N" | "lcc,min:N" (connectivity 26 unless ",c6"). */
export function parsePostprocess(spec: string | undefined): PostprocessOptions | null {
  if (!spec || spec === 'none') return null;
  const opts: PostprocessOptions = {};
  for (const part of spec.split(',')) {
    if (part === 'lcc') opts.largestComponent = true;
    else if (/^min:\d+$/.test(part)) opts.minComponentVoxels = Number(part.slice(4));
    else if (part === 'c6' || part === 'c26') opts.connectivity = part === 'c6' ? 6 : 26;
    else throw new SegloopError('INVALID_ARGUMENT', `Unknown post-processing "${part}": use none, lcc, min:N, optionally with c6 or c26 (e.g. "lcc,min:20,c26").`);
  }
  return opts;
}
