// What the reader makes of one image file, in nibabel's terms (`segloop read`): the full array
// shape, the voxel->RAS affine, and statistics of the scaled voxels over every volume.
import { SegloopError } from '../../../shared/errors';
import { axcodes, readNifti, type NiftiImage } from './nifti';

export interface ReadSummary {
  file: string;
  /** The array shape nibabel reports (e.g. [64, 64, 21, 1]), channels not included. */
  shape: number[];
  channels: number;
  diskDtype: string;
  niftiVersion: NiftiImage['niftiVersion'];
  spacing: number[];
  affine: number[][];
  axcodes: string;
  /** Volumes in the file; statistics cover all of them unless --volume picks one. */
  volumes: number;
  volume: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  sum: number | null;
  nanCount: number;
  infCount: number;
  voxels: { index: number[]; value: number | number[] }[];
}

interface Accumulator {
  min: number;
  max: number;
  sum: number;
  n: number;
  nan: number;
  inf: number;
}

function accumulate(acc: Accumulator, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) acc.nan++;
    else if (v === Infinity || v === -Infinity) acc.inf++;
    else {
      if (v < acc.min) acc.min = v;
      if (v > acc.max) acc.max = v;
      acc.sum += v;
      acc.n++;
    }
  }
}

function parseIndex(text: string): number[] {
  const idx = text.split(',').map((s) => Number(s.trim()));
  if (!idx.length || idx.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new SegloopError('INVALID_ARGUMENT', `--voxel expects comma-separated non-negative integers like 3,4,5 (got "${text}")`);
  }
  return idx;
}

/** Flattened index of dims 4..7 (dim 4 fastest), as readNifti numbers its volumes. */
function volumeOf(index: number[], fullShape: number[]): number {
  let v = 0;
  let stride = 1;
  for (let d = 3; d < fullShape.length; d++) {
    v += (index[d] ?? 0) * stride;
    stride *= fullShape[d];
  }
  return v;
}

export async function readSummary(file: string, opts: { volume?: number; voxels?: string[] } = {}): Promise<ReadSummary> {
  const first = await readNifti(file, { volume: opts.volume ?? 0 });
  const volumes = opts.volume === undefined ? [...Array(first.volumeCount).keys()] : [opts.volume];
  const acc: Accumulator = { min: Infinity, max: -Infinity, sum: 0, n: 0, nan: 0, inf: 0 };
  const loaded = new Map<number, NiftiImage>();
  for (const v of volumes) {
    const img = v === first.volumeIndex ? first : await readNifti(file, { volume: v });
    loaded.set(v, img);
    accumulate(acc, img.data);
  }
  const [X, Y] = first.shape;
  const voxels = (opts.voxels ?? []).map((text) => {
    const index = parseIndex(text);
    if (index.length !== first.fullShape.length || index.some((v, d) => v >= first.fullShape[d])) {
      throw new SegloopError('INVALID_ARGUMENT', `--voxel ${text} is outside the array shape (${first.fullShape.join(', ')})`);
    }
    const vol = volumeOf(index, first.fullShape);
    const img = loaded.get(vol);
    if (!img) throw new SegloopError('INVALID_ARGUMENT', `--voxel ${text} lies in volume ${vol}, not in the volume chosen with --volume`);
    const flat = index[0] + X * ((index[1] ?? 0) + Y * (index[2] ?? 0));
    const c = img.channels;
    const value = c === 1 ? img.data[flat] : Array.from(img.data.subarray(flat * c, flat * c + c));
    return { index, value };
  });
  return {
    file,
    shape: [...first.fullShape],
    channels: first.channels,
    diskDtype: first.diskDtype,
    niftiVersion: first.niftiVersion,
    spacing: [...first.spacing],
    affine: first.affine.map((r) => [...r]),
    axcodes: axcodes(first.affine),
    volumes: first.volumeCount,
    volume: opts.volume ?? null,
    min: acc.n ? acc.min : null,
    max: acc.n ? acc.max : null,
    mean: acc.n ? acc.sum / acc.n : null,
    sum: acc.n ? acc.sum : null,
    nanCount: acc.nan,
    infCount: acc.inf,
    voxels,
  };
}

