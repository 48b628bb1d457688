// NIfTI-1 writer: little-endian single file (.nii or .nii.gz), vox_offset 352, sform and qform
// both set from the affine, written atomically (temp file in the same folder, fsync, rename).
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { SegloopError } from '../../../shared/errors';
import { writeFileAtomic } from '../base/fs';
import { affineToQform } from './geometry';
import { DTYPE_TO_CODE, NIFTI_DATATYPES } from './nifti-header';
import type { DType, Mat4, VoxelArray } from './volume';

const gzipAsync = promisify(zlib.gzip) as (buf: Uint8Array, opts: zlib.ZlibOptions) => Promise<Buffer>;

export interface WritableVolume {
  data: VoxelArray;
  shape: [number, number, number];
  affine: Mat4;
  /** 1 for scalar images; 3/4 only with dtype rgb24/rgba32 */
  channels?: number;
  /** kept from a NiftiImage if present: the written xform codes follow the source's */
  sformCode?: number;
  qformCode?: number;
}

export interface WriteNiftiOptions {
  /** on-disk type; default follows the array type (Uint8Array -> uint8, Float32Array -> float32, ...) */
  dtype?: DType;
  description?: string;
  /** NIfTI xform code for sform and qform (1 scanner, 2 aligned, ...); default: the source's, else 2 */
  xformCode?: number;
  /** gzip level for .nii.gz (default 6) */
  gzipLevel?: number;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function defaultDtype(data: VoxelArray): DType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

function invalid(message: string, details?: unknown): never {
  throw new SegloopError('INVALID_ARGUMENT', message, details);
}

function encodeVoxels(data: VoxelArray, dtype: DType): Uint8Array {
  const info = NIFTI_DATATYPES[DTYPE_TO_CODE[dtype]];
  const out = Buffer.alloc(data.length * (info.bytes / info.channels));
  const range = INT_RANGE[dtype];
  if (range) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        invalid(`Cannot store value ${v} (voxel ${i}) as ${dtype}: it is not an integer in [${range[0]}, ${range[1]}].`, {
          dtype,
          index: i,
          value: v,
        });
      }
    }
  }
  switch (dtype) {
    case 'uint8':
    case 'rgb24':
    case 'rgba32':
      out.set(data);
      break;
    case 'int8':
      new Int8Array(out.buffer, out.byteOffset, data.length).set(data);
      break;
    case 'int16':
      for (let i = 0; i < data.length; i++) out.writeInt16LE(data[i], i * 2);
      break;
    case 'uint16':
      for (let i = 0; i < data.length; i++) out.writeUInt16LE(data[i], i * 2);
      break;
    case 'int32':
      for (let i = 0; i < data.length; i++) out.writeInt32LE(data[i], i * 4);
      break;
    case 'uint32':
      for (let i = 0; i < data.length; i++) out.writeUInt32LE(data[i], i * 4);
      break;
    case 'int64':
      for (let i = 0; i < data.length; i++) out.writeBigInt64LE(BigInt(data[i]), i * 8);
      break;
    case 'float32':
      for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], i * 4);
      break;
    case 'float64':
      for (let i = 0; i < data.length; i++) out.writeDoubleLE(data[i], i * 8);
      break;
    default:
      invalid(`Writing ${dtype} NIfTI files is not supported.`);
  }
  return out;
}

/** The uncompressed NIfTI-1 bytes (header + extension flag + voxels) of a volume. */
export function encodeNifti(vol: WritableVolume, opts: WriteNiftiOptions = {}): Buffer {
  const channels = vol.channels ?? 1;
  const dtype = opts.dtype ?? (channels === 3 ? 'rgb24' : channels === 4 ? 'rgba32' : defaultDtype(vol.data));
  const info = NIFTI_DATATYPES[DTYPE_TO_CODE[dtype]];
  if (!info || dtype === 'complex64') invalid(`Writing ${dtype} NIfTI files is not supported.`);
  if (info.channels !== channels) {
    invalid(`dtype ${dtype} stores ${info.channels} value(s) per voxel but the volume has ${channels} channel(s).`);
  }
  const [nx, ny, nz] = vol.shape;
  if (![nx, ny, nz].every((n) => Number.isInteger(n) && n >= 1 && n <= 32767)) {
    invalid(`Invalid shape (${vol.shape.join(', ')}) for NIfTI-1: each size must be an integer in 1..32767.`);
  }
  if (vol.data.length !== nx * ny * nz * channels) {
    invalid(`Data length ${vol.data.length} does not match shape (${vol.shape.join(', ')}) x ${channels} channel(s).`);
  }
  if (!vol.affine.every((row) => row.every((v) => Number.isFinite(v)))) invalid('The affine holds non-finite values.');

  const h = Buffer.alloc(352);
  h.writeInt32LE(348, 0);
  h.write('r', 38, 'latin1');
  h.writeInt16LE(3, 40);
  h.writeInt16LE(nx, 42);
  h.writeInt16LE(ny, 44);
  h.writeInt16LE(nz, 46);
  for (let d = 4; d < 8; d++) h.writeInt16LE(1, 40 + 2 * d);
  h.writeInt16LE(DTYPE_TO_CODE[dtype], 70);
  h.writeInt16LE(info.bytes * 8, 72);

  const q = affineToQform(vol.affine);
  const code = opts.xformCode ?? (vol.sformCode && vol.sformCode > 0 ? vol.sformCode : vol.qformCode && vol.qformCode > 0 ? vol.qformCode : 2);
  h.writeFloatLE(q.qfac, 76);
  for (let d = 0; d < 3; d++) h.writeFloatLE(q.pixdim[d], 80 + 4 * d);
  for (let d = 4; d < 8; d++) h.writeFloatLE(1, 76 + 4 * d);
  h.writeFloatLE(352, 108);
  h.writeFloatLE(1, 112);
  h.writeFloatLE(0, 116);
  h.writeUInt8(2 | 8, 123); // mm, seconds
  h.write((opts.description ?? 'segloop').slice(0, 79), 148, 'latin1');
  // A sheared affine has no exact qform: leave qform unset so readers take the sform.
  h.writeInt16LE(q.exact ? code : 0, 252);
  h.writeInt16LE(code, 254);
  h.writeFloatLE(q.b, 256);
  h.writeFloatLE(q.c, 260);
  h.writeFloatLE(q.d, 264);
  for (let d = 0; d < 3; d++) h.writeFloatLE(q.offset[d], 268 + 4 * d);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) h.writeFloatLE(vol.affine[r][c], 280 + 16 * r + 4 * c);
  h.write('n+1\0', 344, 'latin1');
  // bytes 348..351: extension flag 0 (no extensions)

  return Buffer.concat([h, encodeVoxels(vol.data, dtype)]);
}

// One atomic-write implementation for the whole app: its temp files carry the marker that project
// recovery cleans up after a crash.
export { writeFileAtomic };

/** Write a 3D volume as NIfTI-1 (.nii.gz compressed, .nii plain). */
export async function writeNifti(filePath: string, vol: WritableVolume, opts: WriteNiftiOptions = {}): Promise<void> {
  const lower = filePath.toLowerCase();
  const gz = lower.endsWith('.nii.gz');
  if (!gz && !lower.endsWith('.nii')) invalid(`Cannot write ${filePath}: the name must end in .nii or .nii.gz.`, { file: filePath });
  const raw = encodeNifti(vol, opts);
  const bytes = gz ? await gzipAsync(raw, { level: opts.gzipLevel ?? 6 }) : raw;
  await writeFileAtomic(filePath, bytes);
}
