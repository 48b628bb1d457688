// NIfTI-1 / NIfTI-2 / Analyze 7.5 header parsing. Field decoding is nifti-reader-js's; the
// choices that decide what the voxels mean (affine selection, quaternion, scaling, data offset)
// are ours and follow nibabel, because the library differs from it (see nifti-reader-js quirks
// in the comments below).
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import { SegloopError } from '../../../shared/errors';
import { fallbackAffine, identity4, qformToAffine } from './geometry';
import type { DType, Mat4 } from './volume';

export interface DatatypeInfo {
  dtype: DType;
  /** bytes per voxel on disk (all channels) */
  bytes: number;
  channels: number;
}

/** NIfTI datatype codes we decode. complex64 is known but refused (see readNifti). */
export const NIFTI_DATATYPES: Record<number, DatatypeInfo> = {
  2: { dtype: 'uint8', bytes: 1, channels: 1 },
  4: { dtype: 'int16', bytes: 2, channels: 1 },
  8: { dtype: 'int32', bytes: 4, channels: 1 },
  16: { dtype: 'float32', bytes: 4, channels: 1 },
  32: { dtype: 'complex64', bytes: 8, channels: 2 },
  64: { dtype: 'float64', bytes: 8, channels: 1 },
  128: { dtype: 'rgb24', bytes: 3, channels: 3 },
  256: { dtype: 'int8', bytes: 1, channels: 1 },
  512: { dtype: 'uint16', bytes: 2, channels: 1 },
  768: { dtype: 'uint32', bytes: 4, channels: 1 },
  1024: { dtype: 'int64', bytes: 8, channels: 1 },
  2304: { dtype: 'rgba32', bytes: 4, channels: 4 },
};

export const DTYPE_TO_CODE: Record<DType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  complex64: 32,
  float64: 64,
  rgb24: 128,
  int8: 256,
  uint16: 512,
  uint32: 768,
  int64: 1024,
  rgba32: 2304,
};

const DATATYPE_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'binary (1 bit)',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
};

export function datatypeName(code: number): string {
  return NIFTI_DATATYPES[code]?.dtype ?? DATATYPE_NAMES[code] ?? `code ${code}`;
}

export interface NiftiHeader {
  niftiVersion: 1 | 2 | 'analyze';
  /** true for .hdr/.img pairs (magic ni1/ni2, or Analyze) */
  pair: boolean;
  littleEndian: boolean;
  headerSize: number;
  /** dim[0..7] as stored */
  dim: number[];
  /** the array shape nibabel reports: dim[1..dim[0]] */
  fullShape: number[];
  /** pixdim[0..7] as stored */
  pixdim: number[];
  datatype: number;
  bitpix: number;
  voxOffset: number;
  /** raw scl_slope / scl_inter */
  rawSlope: number;
  rawInter: number;
  /** what nibabel applies: [1, 0] when the header says "no scaling" */
  slope: number;
  inter: number;
  qformCode: number;
  sformCode: number;
  qform: Mat4 | null;
  sform: Mat4 | null;
  /** the affine nibabel reports (sform, else qform, else its fallback) */
  affine: Mat4;
  /** nibabel's zooms for the spatial axes */
  spacing: [number, number, number];
  xyztUnits: number;
  description: string;
  intentCode: number;
}

const NIFTI1_HEADER = 348;
const NIFTI2_HEADER = 540;

function magicAt(bytes: Uint8Array, at: number): string {
  let s = '';
  for (let i = at; i < at + 4 && i < bytes.length; i++) s += bytes[i] === 0 ? '\\0' : String.fromCharCode(bytes[i]);
  return s;
}

/**
 * Parse the header at the start of `bytes` (already decompressed).
 * `pairFile`: the header came from a .hdr file, so Analyze 7.5 (no magic) and ni1/ni2 are valid.
 */
export function parseNiftiHeader(bytes: Uint8Array, fileName: string, pairFile: boolean): NiftiHeader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeof = (le: boolean) => (bytes.length >= 4 ? dv.getInt32(0, le) : -1);
  let version: 1 | 2;
  let littleEndian: boolean;
  if (sizeof(true) === NIFTI1_HEADER || sizeof(false) === NIFTI1_HEADER) {
    version = 1;
    littleEndian = sizeof(true) === NIFTI1_HEADER;
  } else if (sizeof(true) === NIFTI2_HEADER || sizeof(false) === NIFTI2_HEADER) {
    version = 2;
    littleEndian = sizeof(true) === NIFTI2_HEADER;
  } else {
    throw new SegloopError(
      'NOT_NIFTI',
      `${fileName} is not a NIfTI file: its first 4 bytes are not the header size 348 (NIfTI-1) or 540 (NIfTI-2).`,
      { file: fileName },
    );
  }
  const headerSize = version === 1 ? NIFTI1_HEADER : NIFTI2_HEADER;
  if (bytes.length < headerSize) {
    throw new SegloopError(
      'NIFTI_TRUNCATED',
      `${fileName} is truncated: it ends after ${bytes.length} bytes, inside the ${headerSize}-byte NIfTI header.`,
      { file: fileName, bytes: bytes.length },
    );
  }
  const magic = version === 1 ? magicAt(bytes, 344) : magicAt(bytes, 4);
  let niftiVersion: 1 | 2 | 'analyze' = version;
  let pair: boolean;
  if (magic === `n+${version}\\0`) pair = pairFile;
  else if (magic === `ni${version}\\0`) pair = true;
  else if (version === 1 && pairFile) {
    niftiVersion = 'analyze';
    pair = true;
  } else {
    throw new SegloopError(
      'NOT_NIFTI',
      `${fileName} is not a valid NIfTI-${version} file: its magic string is "${magic}" instead of "n+${version}\\0".`,
      { file: fileName, magic },
    );
  }
  if (pair && !pairFile) {
    throw new SegloopError(
      'NOT_NIFTI',
      `${fileName} holds only the header of a .hdr/.img pair (magic "${magic}"); rename it to .hdr and keep its .img beside it.`,
      { file: fileName, magic },
    );
  }

  // nifti-reader-js quirk: given more than the bare header, NIFTI1/NIFTI2.readHeader also parse
  // extensions and throw on malformed ones; we pass exactly the header bytes and skip extensions
  // by seeking to vox_offset.
  const hdrBuf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + headerSize) as ArrayBuffer;
  const h = version === 1 ? new NIFTI1() : new NIFTI2();
  h.littleEndian = littleEndian;
  h.readHeader(hdrBuf);

  const dim = h.dims.slice(0, 8).map(Number);
  const ndim = dim[0];
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new SegloopError('NOT_NIFTI', `${fileName} has an invalid dim[0] = ${ndim} (must be 1..7).`, { file: fileName, dim });
  }
  const fullShape = dim.slice(1, ndim + 1);
  if (fullShape.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new SegloopError(
      'NIFTI_UNSUPPORTED',
      `${fileName} has an empty or negative dimension: dim = [${dim.join(', ')}].`,
      { file: fileName, dim },
    );
  }
  const pixdim = h.pixDims.slice(0, 8).map(Number);
  const datatype = h.datatypeCode;

  // Scaling exactly as nibabel: slope 0, NaN or Inf means no scaling. (nibabel refuses a valid
  // slope with a non-finite intercept; we take the intercept as 0 so such a file still opens.)
  let rawSlope = h.scl_slope;
  let rawInter = h.scl_inter;
  let slope = 1;
  let inter = 0;
  if (niftiVersion === 'analyze') {
    // SPM2 Analyze: funused1 (offset 112) is the scale factor, funused2 (116) the intercept,
    // else the glmax/glmin + cal_max/cal_min pair (nibabel's Spm2AnalyzeHeader).
    rawSlope = dv.getFloat32(112, littleEndian);
    rawInter = dv.getFloat32(116, littleEndian);
    if (Number.isFinite(rawSlope) && rawSlope !== 0) {
      slope = rawSlope;
      inter = Number.isFinite(rawInter) ? rawInter : 0;
    } else {
      const glmax = dv.getInt32(140, littleEndian);
      const glmin = dv.getInt32(144, littleEndian);
      const calMax = dv.getFloat32(124, littleEndian);
      const calMin = dv.getFloat32(128, littleEndian);
      if (glmax - glmin !== 0 && calMax - calMin !== 0) {
        slope = (calMax - calMin) / (glmax - glmin);
        inter = calMin - slope * glmin;
      }
    }
  } else if (Number.isFinite(rawSlope) && rawSlope !== 0) {
    slope = rawSlope;
    inter = Number.isFinite(rawInter) ? rawInter : 0;
  }

  // nibabel fixes pixdim on load: negative zooms -> abs, qfac not in {-1, 1} -> 1.
  const zoom = (d: number) => (ndim >= d ? Math.abs(pixdim[d]) : 1);
  const spacing: [number, number, number] = [zoom(1), zoom(2), zoom(3)];
  const qfac = pixdim[0] === -1 ? -1 : 1;

  let qformCode = 0;
  let sformCode = 0;
  let qform: Mat4 | null = null;
  let sform: Mat4 | null = null;
  let affine: Mat4;
  if (niftiVersion === 'analyze') {
    const origin = [0, 1, 2].map((i) => dv.getInt16(253 + 2 * i, littleEndian));
    const dims3 = [dim[1], dim[2], dim[3]];
    const useOrigin = origin.some((o) => o !== 0) && origin.every((o, i) => o > -dims3[i] && o < dims3[i] * 2);
    affine = fallbackAffine(
      dims3,
      [Math.abs(pixdim[1]), Math.abs(pixdim[2]), Math.abs(pixdim[3])],
      useOrigin ? origin.map((o) => o - 1) : undefined,
    );
  } else {
    qformCode = h.qform_code;
    sformCode = h.sform_code;
    // nifti-reader-js quirk: its `affine` prefers the qform whenever qform_code > sform_code
    // (nibabel: sform whenever sform_code > 0), and its quatern_a is NaN when b²+c²+d² rounds
    // above 1. So both transforms are rebuilt here from the raw fields.
    if (qformCode > 0) {
      qform = qformToAffine(
        h.quatern_b,
        h.quatern_c,
        h.quatern_d,
        [h.qoffset_x, h.qoffset_y, h.qoffset_z],
        [pixdim[1], pixdim[2], pixdim[3]],
        qfac,
      );
    }
    if (sformCode > 0) {
      const s = identity4();
      const base = version === 1 ? 280 : 400;
      const size = version === 1 ? 4 : 8;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          const at = base + (r * 4 + c) * size;
          s[r][c] = size === 4 ? dv.getFloat32(at, littleEndian) : dv.getFloat64(at, littleEndian);
        }
      }
      sform = s;
    }
    affine =
      sform ??
      qform ??
      fallbackAffine(
        ndim >= 3 ? [dim[1], dim[2], dim[3]] : [dim[1], ndim >= 2 ? dim[2] : 1, 1],
        [spacing[0], spacing[1], spacing[2]],
      );
  }

  return {
    niftiVersion,
    pair,
    littleEndian,
    headerSize,
    dim,
    fullShape,
    pixdim,
    datatype,
    bitpix: h.numBitsPerVoxel,
    voxOffset: Number(h.vox_offset),
    rawSlope,
    rawInter,
    slope,
    inter,
    qformCode,
    sformCode,
    qform,
    sform,
    affine,
    spacing,
    xyztUnits: h.xyzt_units,
    description: niftiVersion === 'analyze' ? '' : (h.description ?? '').replace(/\0+$/, ''),
    intentCode: niftiVersion === 'analyze' ? 0 : h.intent_code,
  };
}
