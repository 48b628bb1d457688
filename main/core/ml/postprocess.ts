// Post-processing of label maps: connected components per class (imaging/connected-components),
// then "keep the largest component" and/or "remove components smaller than N voxels" (removed
// voxels become background). Connectivity is 3D: 6 (faces), 18 or 26 (faces, edges and corners;
// the default, as scipy.ndimage.generate_binary_structure(3, 3) and nnU-Net's choice for its LCC step).
// Labels use Volume order (i fastest), shape [X, Y, Z].
import { SegloopError } from '../../../shared/errors';
import { connectedComponents, type Connectivity } from '../imaging/connected-components';

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

/** Parses the CLI form: "none" | "lcc" | "min:N" | "lcc,min:N" (connectivity 26 unless ",c6" or ",c18"). */
export function parsePostprocess(spec: string | undefined): PostprocessOptions | null {
  if (!spec || spec === 'none') return null;
  const opts: PostprocessOptions = {};
  for (const part of spec.split(',')) {
    if (part === 'lcc') opts.largestComponent = true;
    else if (/^min:\d+$/.test(part)) opts.minComponentVoxels = Number(part.slice(4));
    else if (part === 'c6' || part === 'c18' || part === 'c26') opts.connectivity = Number(part.slice(1)) as Connectivity;
    else throw new SegloopError('INVALID_ARGUMENT', `Unknown post-processing "${part}": use none, lcc, min:N, optionally with c6, c18 or c26 (e.g. "lcc,min:20,c26").`);
  }
  return opts;
}
