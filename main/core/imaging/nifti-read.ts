// readNifti: .nii, .nii.gz, .hdr/.img (also gzipped) and Analyze 7.5 into a Volume whose
// voxels, affine and zooms match nibabel. Decompression is Node's zlib (native), not a JS inflate.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { SegloopError } from '../../../shared/errors';
import { NIFTI_DATATYPES, datatypeName, parseNiftiHeader, type NiftiHeader } from './nifti-header';
import type { Mat4, Volume, VoxelArray } from './volume';

const gunzipAsync = promisify(zlib.gunzip) as (buf: Uint8Array, opts: zlib.ZlibOptions) => Promise<Buffer>;
const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';
const SYNC_GUNZIP_MAX = 2 * 1024 * 1024;

export interface NiftiImage extends Volume {
  filePath: string;
  niftiVersion: 1 | 2 | 'analyze';
  /** NIfTI datatype code as stored (2 uint8, 4 int16, 16 float32, ...) */
  datatype: number;
  littleEndian: boolean;
  qformCode: number;
  sformCode: number;
  /** null when the code is 0 (as nibabel's get_qform/get_sform(coded=True)) */
  qform: Mat4 | null;
  sform: Mat4 | null;
  /** slope / intercept actually applied (1 and 0 when the header asks for no scaling) */
  sclSlope: number;
  sclInter: number;
  /** the full array shape nibabel reports, e.g. [64, 64, 21, 1] or [1, 2, 3, 1, 3] */
  fullShape: number[];
  /** pixdim[0..7] as stored */
  pixdim: number[];
  xyztUnits: number;
  description: string;
  /** number of 3D volumes in the file (product of dims 4..7) and which one `data` holds */
  volumeCount: number;
  volumeIndex: number;
  /** NaN voxels in `data` (0 for integer types) */
  nanCount: number;
}

export interface ReadNiftiOptions {
  /** which 3D volume of a 4D+ file to return (0-based, dims 4..7 flattened with dim 4 fastest) */
  volume?: number;
}

function fail(code: 'FILE_NOT_FOUND' | 'FILE_EMPTY' | 'NOT_NIFTI' | 'NIFTI_TRUNCATED', file: string, reason: string): never {
  throw new SegloopError(code, `${file}: ${reason}`, { file });
}

async function readWhole(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') fail('FILE_NOT_FOUND', file, 'file not found.');
    if (e.code === 'EISDIR') fail('NOT_NIFTI', file, 'is a folder, not a NIfTI file.');
    throw err;
  }
  if (bytes.length === 0) fail('FILE_EMPTY', file, 'the file is empty (0 bytes).');
  return bytes;
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * The most bytes of voxel data (and of any one file) a read may hold: 2 GiB, or
 * SEGLOOP_MAX_IMAGE_BYTES. A header asking for more is refused before anything is allocated, and a
 * gzip stream is never inflated past what its header needs (a gzip bomb stops there). Peak memory of
 * one read is bounded by about the file size plus twice this (scaling widens int32 to float64).
 */
export function maxImageBytes(): number {
  const env = Number(process.env.SEGLOOP_MAX_IMAGE_BYTES);
  return Number.isFinite(env) && env > 0 ? env : 2 * 1024 ** 3;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 4) return `${(n / 1024 ** 4).toFixed(1)} TiB`;
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function tooLarge(file: string, what: string, bytes: number): never {
  const limit = maxImageBytes();
  throw new SegloopError(
    'IMAGE_TOO_LARGE',
    `${file}: ${what} needs ${formatBytes(bytes)}, more than the ${formatBytes(limit)} one image may use (set SEGLOOP_MAX_IMAGE_BYTES to raise the limit if the file is genuine).`,
    { file, bytes, limit },
  );
}

function gzipFailure(err: unknown, file: string): never {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message)) {
    fail('NIFTI_TRUNCATED', file, 'the gzip stream ends early: the file is truncated (incomplete download or copy?).');
  }
  fail('NOT_NIFTI', file, `the gzip data is corrupt (${e.message}).`);
}

/**
 * Inflate at most `limit` bytes of a gzip stream and stop there (the rest is never inflated).
 * A stream that ends early yields what it holds; the caller's length check names the truncation.
 */
function inflatePrefix(bytes: Buffer, limit: number, file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunkSize = Math.min(Math.max(limit, 64 * 1024), 256 * 1024 * 1024);
    const gz = zlib.createGunzip({ chunkSize, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const parts: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      gz.destroy();
      const all = parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
      resolve(all.length > limit ? all.subarray(0, limit) : all);
    };
    gz.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      total += chunk.length;
      if (total >= limit) finish();
    });
    gz.on('end', finish);
    gz.on('error', (err) => {
      if (done) return;
      done = true;
      try {
        gzipFailure(err, file);
      } catch (typed) {
        reject(typed as Error);
      }
    });
    gz.end(bytes);
  });
}

/** The first bytes of a gzip stream, enough for a NIfTI header (2 KiB of input inflates to at most ~2 MiB). */
async function gunzipHead(bytes: Buffer, file: string): Promise<Buffer> {
  const slice = bytes.subarray(0, Math.min(bytes.length, 2048));
  try {
    const head = zlib.gunzipSync(slice, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    if (head.length >= 1024 || slice.length === bytes.length) return head;
  } catch (err) {
    if (slice.length === bytes.length) gzipFailure(err, file);
  }
  // long gzip header fields (FEXTRA/FNAME) or an odd encoder: stream just enough instead
  return inflatePrefix(bytes, 64 * 1024, file);
}

/** Gunzip at most `limit` bytes, on libuv's thread pool for big files, sized from the gzip trailer. */
async function gunzip(bytes: Buffer, file: string, limit: number): Promise<Buffer> {
  // ISIZE (uncompressed length mod 2^32) sizes the chunk so inflate runs in one pass; it is a
  // hint only (multi-member or >4 GiB files just take more passes).
  const isize = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  const chunkSize = Math.min(Math.max(Math.min(isize, limit) + 64, 64 * 1024), 256 * 1024 * 1024);
  try {
    // Small files inflate in a few ms: doing it inline beats the thread-pool round trip.
    // Large ones go to the pool so the event loop (UI, server) keeps running.
    if (bytes.length < SYNC_GUNZIP_MAX) return zlib.gunzipSync(bytes, { chunkSize, maxOutputLength: limit });
    return await gunzipAsync(bytes, { chunkSize, maxOutputLength: limit });
  } catch (err) {
    // more data than the header needs (trailing bytes, or a bomb): keep only the needed prefix
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return inflatePrefix(bytes, limit, file);
    gzipFailure(err, file);
  }
}

/** A whole file, refused before reading when it is bigger than one image may be. */
async function readBounded(file: string): Promise<Buffer> {
  let size = 0;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    /* readWhole names the problem */
  }
  if (size > maxImageBytes()) tooLarge(file, 'the file', size);
  return readWhole(file);
}

/** For a pair, the data file that goes with a header path (and the reverse). */
async function pairPaths(filePath: string): Promise<{ hdr: string; img: string } | null> {
  const m = /^(.*)\.(hdr|img)(\.gz)?$/i.exec(filePath);
  if (!m) return null;
  const [, stem, kind, gz] = m;
  const upper = kind === kind.toUpperCase();
  const other = upper ? (kind.toUpperCase() === 'HDR' ? 'IMG' : 'HDR') : kind.toLowerCase() === 'hdr' ? 'img' : 'hdr';
  const candidates = [`${stem}.${other}${gz ?? ''}`, `${stem}.${other}${gz ? '' : '.gz'}`];
  let found = candidates[0];
  for (const c of candidates) {
    try {
      await fs.access(c);
      found = c;
      break;
    } catch {
      /* try the next spelling */
    }
  }
  return kind.toLowerCase() === 'hdr' ? { hdr: filePath, img: found } : { hdr: found, img: filePath };
}

type ArrayCtor = { new (n: number): VoxelArray; new (b: ArrayBuffer, off: number, n: number): VoxelArray; BYTES_PER_ELEMENT: number };

const RAW_CTOR: Record<string, ArrayCtor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  rgb24: Uint8Array,
  rgba32: Uint8Array,
};

/** Decode one volume's bytes into host-order values (no scaling yet). */
function decodeRaw(buf: Buffer, start: number, count: number, hdr: NiftiHeader, canView: boolean): VoxelArray {
  const info = NIFTI_DATATYPES[hdr.datatype];
  const nbytes = count * info.bytes;
  if (info.dtype === 'int64') {
    const out = new Float64Array(count);
    const dv = new DataView(buf.buffer, buf.byteOffset + start, nbytes);
    for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(i * 8, hdr.littleEndian));
    return out;
  }
  const Ctor = RAW_CTOR[info.dtype];
  const elem = Ctor.BYTES_PER_ELEMENT;
  const n = nbytes / elem;
  const needSwap = elem > 1 && hdr.littleEndian !== HOST_LITTLE_ENDIAN;
  const absStart = buf.byteOffset + start;
  if (canView && !needSwap && absStart % elem === 0) return new Ctor(buf.buffer as ArrayBuffer, absStart, n);
  const copy = Buffer.from(buf.buffer.slice(absStart, absStart + nbytes) as ArrayBuffer);
  if (needSwap) {
    if (elem === 2) copy.swap16();
    else if (elem === 4) copy.swap32();
    else copy.swap64();
  }
  return new Ctor(copy.buffer as ArrayBuffer, copy.byteOffset, n);
}

function applyScaling(raw: VoxelArray, hdr: NiftiHeader): VoxelArray {
  const { slope, inter } = hdr;
  if (slope === 1 && inter === 0) return raw;
  const dtype = NIFTI_DATATYPES[hdr.datatype].dtype;
  // float32 holds every int8/int16/uint16/uint8 value exactly, so their scaled values keep
  // ~7 significant digits at half the memory; wider types keep float64 like nibabel.
  const wide = dtype === 'int32' || dtype === 'uint32' || dtype === 'int64' || dtype === 'float64';
  const out = wide ? new Float64Array(raw.length) : new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] * slope + inter;
  return out;
}

function countNaN(data: VoxelArray): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== data[i]) n++;
  return n;
}

export async function readNifti(filePath: string, opts: ReadNiftiOptions = {}): Promise<NiftiImage> {
  const pair = await pairPaths(filePath);
  const hdrFile = pair ? pair.hdr : filePath;
  const hdrRaw = await readBounded(hdrFile);
  const hdrGz = isGzip(hdrRaw);
  const hdr = parseNiftiHeader(hdrGz ? await gunzipHead(hdrRaw, hdrFile) : hdrRaw, hdrFile, pair !== null);

  const info = NIFTI_DATATYPES[hdr.datatype];
  if (!info || info.dtype === 'complex64') {
    // complex data has no meaning for segmentation; taking the magnitude silently would hide
    // that the user picked the wrong series.
    throw new SegloopError(
      'NIFTI_UNSUPPORTED',
      `${filePath}: voxel type ${datatypeName(hdr.datatype)} (datatype ${hdr.datatype}) is not supported; convert it to a real-valued type (e.g. float32 magnitude) first.`,
      { file: filePath, datatype: hdr.datatype },
    );
  }

  const [nx, ny, nz] = [hdr.fullShape[0], hdr.fullShape[1] ?? 1, hdr.fullShape[2] ?? 1];
  const voxels = nx * ny * nz;
  const volumeCount = hdr.fullShape.slice(3).reduce((a, b) => a * b, 1);
  const needed = voxels * volumeCount * info.bytes;
  // refuse before reading or allocating: a corrupt dim can ask for terabytes
  if (needed > maxImageBytes()) tooLarge(filePath, `shape ${hdr.fullShape.join('x')} (${info.dtype})`, needed);

  let dataBytes: Buffer;
  let offset: number;
  if (pair) {
    offset = Math.max(0, Math.round(hdr.voxOffset));
  } else {
    // Some writers leave vox_offset 0 in single files: the data
    // can never start inside the header + extension flag, so clamp like nibabel/FSL do.
    offset = Math.max(Math.round(hdr.voxOffset), hdr.headerSize + 4);
  }
  const dataFile = pair ? pair.img : filePath;
  if (!Number.isFinite(offset) || offset > maxImageBytes()) {
    fail('NIFTI_TRUNCATED', dataFile, `vox_offset ${hdr.voxOffset} points past any data this file can hold.`);
  }
  if (pair) {
    const imgRaw = await readBounded(pair.img);
    dataBytes = isGzip(imgRaw) ? await gunzip(imgRaw, pair.img, offset + needed) : imgRaw;
  } else {
    dataBytes = hdrGz ? await gunzip(hdrRaw, filePath, offset + needed) : hdrRaw;
  }
  if (dataBytes.length < offset + needed) {
    fail(
      'NIFTI_TRUNCATED',
      dataFile,
      `expected ${needed} bytes of voxel data from byte ${offset} (shape ${hdr.fullShape.join('x')}, ${info.dtype}), but the ${pair ? 'data file' : 'file'} holds only ${Math.max(0, dataBytes.length - offset)}.`,
    );
  }

  let volumeIndex = 0;
  if (volumeCount > 1) {
    if (opts.volume === undefined) {
      throw new SegloopError(
        'NIFTI_4D_VOLUME_REQUIRED',
        `${filePath} holds ${volumeCount} volumes (shape ${hdr.fullShape.join('x')}); choose which one to use (0..${volumeCount - 1}).`,
        { file: filePath, volumeCount, shape: hdr.fullShape },
      );
    }
    volumeIndex = opts.volume;
  } else if (opts.volume !== undefined) {
    volumeIndex = opts.volume;
  }
  if (!Number.isInteger(volumeIndex) || volumeIndex < 0 || volumeIndex >= volumeCount) {
    throw new SegloopError(
      'INVALID_ARGUMENT',
      `${filePath} has ${volumeCount} volume(s); volume ${opts.volume} does not exist (valid: 0..${volumeCount - 1}).`,
      { file: filePath, volumeCount, volume: opts.volume },
    );
  }

  const start = offset + volumeIndex * voxels * info.bytes;
  // A view into the decompressed buffer avoids a copy; only when this volume is (nearly) all
  // of it, so one volume of a big 4D file does not pin the rest in memory.
  const canView = volumeCount === 1;
  const raw = decodeRaw(dataBytes, start, voxels, hdr, canView);
  const scaled = info.channels > 1 ? raw : applyScaling(raw, hdr);
  const scalingApplied = info.channels === 1 && !(hdr.slope === 1 && hdr.inter === 0);

  return {
    shape: [nx, ny, nz],
    channels: info.channels,
    data: scaled,
    spacing: hdr.spacing,
    affine: hdr.affine,
    diskDtype: info.dtype,
    filePath,
    niftiVersion: hdr.niftiVersion,
    datatype: hdr.datatype,
    littleEndian: hdr.littleEndian,
    qformCode: hdr.qformCode,
    sformCode: hdr.sformCode,
    qform: hdr.qform,
    sform: hdr.sform,
    sclSlope: scalingApplied ? hdr.slope : 1,
    sclInter: scalingApplied ? hdr.inter : 0,
    fullShape: hdr.fullShape,
    pixdim: hdr.pixdim,
    xyztUnits: hdr.xyztUnits,
    description: hdr.description,
    volumeCount,
    volumeIndex,
    nanCount: countNaN(scaled),
  };
}

/** Throws IMAGE_HAS_NAN when an image holds NaN (or infinite) voxels. */
export function assertFinite(image: Pick<Volume, 'data'>, file: string): void {
  const { data } = image;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) inf++;
  }
  if (nan + inf > 0) {
    throw new SegloopError(
      'IMAGE_HAS_NAN',
      `${path.basename(file)} contains ${nan} NaN and ${inf} infinite voxel(s); fix or mask them before using this image (${file}).`,
      { file, nanCount: nan, infCount: inf },
    );
  }
}
