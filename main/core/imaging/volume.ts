// The in-memory image every reader produces and every consumer (import, ML, viewer) takes.
// Voxel order is nibabel's: index [i, j, k] lives at data[i + X*(j + Y*k)] (i fastest), and
// `affine` maps (i, j, k, 1) to RAS+ world millimetres exactly as nibabel's `img.affine` does.

export type Mat4 = [
  [number, number, number, number],
  [number, number, number, number],
  [number, number, number, number],
  [number, number, number, number],
];

export type VoxelArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** On-disk / on-write data types, by nibabel/numpy names. */
export type DType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float32' | 'float64' | 'rgb24' | 'rgba32' | 'complex64';

export interface Volume {
  /** Spatial shape, always 3 entries: a 2D image is [X, Y, 1]. */
  shape: [number, number, number];
  /** Number of values per voxel (1 for scalar images, 3 for RGB24, 4 for RGBA32); interleaved. */
  channels: number;
  /** Voxel values after scl_slope/scl_inter, in nibabel order (see above). */
  data: VoxelArray;
  /** Voxel sizes in mm (norms of the affine's columns, as nibabel's zooms for the spatial axes). */
  spacing: [number, number, number];
  affine: Mat4;
  /** The data type as stored on disk (before scaling). */
  diskDtype: DType;
}
