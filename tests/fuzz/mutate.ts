// Hostile-file generator for the fuzzer: from a real seed file (../shared/data) and a case seed,
// one mutated file set that a reader must refuse with a typed SegloopError (or read correctly).
// Pure and deterministic: the same (seed files, case index, run seed) gives the same bytes, so any
// failure the fuzzer reports can be replayed with `npm run fuzz -- --replay <case>`.
import zlib from 'node:zlib';
import { createRng, type Rng } from '../../main/core/base/rng';

export type ReaderKind = 'nifti' | 'dicom-file' | 'dicom-series';

export interface SeedFile {
  /** name as on disk, e.g. "x.nii.gz", "a.hdr" (the pair's partner is in `partner`) */
  name: string;
  bytes: Buffer;
  kind: 'nifti' | 'dicom';
  /** for .hdr/.img pairs: the other file of the pair */
  partner?: { name: string; bytes: Buffer };
}

export interface FuzzFile {
  name: string;
  bytes: Buffer;
}

export interface FuzzCase {
  index: number;
  seedName: string;
  mutation: string;
  reader: ReaderKind;
  /** files to write into the case folder; the reader opens files[0] (DICOM series: all of them) */
  files: FuzzFile[];
}

const EXTREME_INTS = [0, -1, 1, 2, 3, 7, 255, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1];
const EXTREME_FLOATS = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e38, -1e38, 1e-38, 3.4e38, 2 ** 31, 352, 348, 1e9];
const NIFTI_DATATYPE_CODES = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 3, 5, 9999, -1];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** NIfTI-1 / NIfTI-2 header fields (offset, type) a hostile file sets to extremes. */
type FieldType = 'i16' | 'i32' | 'i64' | 'f32' | 'f64';
const NIFTI1_FIELDS: [string, number, FieldType, number][] = [
  ['sizeof_hdr', 0, 'i32', 1],
  ['dim', 40, 'i16', 8],
  ['datatype', 70, 'i16', 1],
  ['bitpix', 72, 'i16', 1],
  ['pixdim', 76, 'f32', 8],
  ['vox_offset', 108, 'f32', 1],
  ['scl_slope', 112, 'f32', 1],
  ['scl_inter', 116, 'f32', 1],
  ['qform_code', 252, 'i16', 1],
  ['sform_code', 254, 'i16', 1],
  ['quatern', 256, 'f32', 6],
  ['srow', 280, 'f32', 12],
];
const NIFTI2_FIELDS: [string, number, FieldType, number][] = [
  ['sizeof_hdr', 0, 'i32', 1],
  ['datatype', 12, 'i16', 1],
  ['bitpix', 14, 'i16', 1],
  ['dim', 16, 'i64', 8],
  ['pixdim', 104, 'f64', 8],
  ['vox_offset', 168, 'i64', 1],
  ['scl_slope', 176, 'f64', 1],
  ['scl_inter', 184, 'f64', 1],
  ['qform_code', 344, 'i32', 1],
  ['sform_code', 348, 'i32', 1],
  ['quatern', 352, 'f64', 6],
  ['srow', 400, 'f64', 12],
];

function niftiLayout(b: Buffer): { version: 1 | 2; le: boolean } | null {
  if (b.length < 4) return null;
  for (const le of [true, false]) {
    const n = le ? b.readInt32LE(0) : b.readInt32BE(0);
    if (n === 348) return { version: 1, le };
    if (n === 540) return { version: 2, le };
  }
  return null;
}

function writeNum(b: Buffer, off: number, type: FieldType, v: number, le: boolean): void {
  const size = type === 'i16' ? 2 : type === 'i32' || type === 'f32' ? 4 : 8;
  if (off + size > b.length) return;
  const iv = Number.isFinite(v) ? Math.trunc(v) : 0;
  if (type === 'i16') {
    const x = ((iv + 32768) & 0xffff) - 32768;
    if (le) b.writeInt16LE(x, off);
    else b.writeInt16BE(x, off);
  } else if (type === 'i32') {
    if (le) b.writeInt32LE(iv | 0, off);
    else b.writeInt32BE(iv | 0, off);
  } else if (type === 'f32') {
    if (le) b.writeFloatLE(v, off);
    else b.writeFloatBE(v, off);
  } else if (type === 'f64') {
    if (le) b.writeDoubleLE(v, off);
    else b.writeDoubleBE(v, off);
  } else {
    const big = BigInt.asIntN(64, BigInt(iv));
    if (le) b.writeBigInt64LE(big, off);
    else b.writeBigInt64BE(big, off);
  }
}

function bitflips(rng: Rng, b: Buffer, headerBias: number): Buffer {
  const out = Buffer.from(b);
  const n = 1 + rng.int(32);
  for (let i = 0; i < n; i++) {
    const inHeader = rng.chance(headerBias) && out.length > 0;
    const at = inHeader ? rng.int(Math.min(out.length, 352)) : rng.int(Math.max(1, out.length));
    if (at < out.length) out[at] ^= 1 << rng.int(8);
  }
  return out;
}

function truncate(rng: Rng, b: Buffer): Buffer {
  const cut = rng.chance(0.5) ? rng.int(Math.min(b.length, 600)) : rng.int(Math.max(1, b.length));
  return b.subarray(0, cut);
}

function splice(rng: Rng, b: Buffer): Buffer {
  if (b.length < 8) return Buffer.from(b);
  const out = Buffer.from(b);
  const at = rng.int(out.length);
  const len = 1 + rng.int(Math.min(256, out.length - at));
  if (rng.chance(0.5)) for (let i = 0; i < len; i++) out[at + i] = rng.int(256);
  else out.fill(rng.chance(0.5) ? 0xff : 0, at, at + len);
  return out;
}

/** A header field set to an extreme value (dims, datatype, vox_offset, pixdim, scaling, NaN/Inf). */
function niftiField(rng: Rng, raw: Buffer): { bytes: Buffer; what: string } {
  const out = Buffer.from(raw);
  const lay = niftiLayout(out);
  if (!lay) return { bytes: bitflips(rng, out, 1), what: 'bitflip(no header)' };
  const fields = lay.version === 1 ? NIFTI1_FIELDS : NIFTI2_FIELDS;
  const [name, off, type, count] = pick(rng, fields);
  const k = rng.int(count);
  const size = type === 'i16' ? 2 : type === 'i32' || type === 'f32' ? 4 : 8;
  const isFloat = type === 'f32' || type === 'f64';
  let v: number;
  if (name === 'datatype') v = pick(rng, NIFTI_DATATYPE_CODES);
  else if (name === 'dim' && k === 0) v = pick(rng, [-1, 0, 1, 2, 3, 4, 5, 7, 8, 32767]);
  else v = isFloat ? pick(rng, EXTREME_FLOATS) : pick(rng, EXTREME_INTS);
  writeNum(out, off + k * size, type, v, lay.le);
  return { bytes: out, what: `${name}[${k}]=${v}` };
}

/** Every spatial dim set huge: the file cannot hold the data it claims (terabytes). */
function hugeDims(rng: Rng, raw: Buffer): { bytes: Buffer; what: string } {
  const out = Buffer.from(raw);
  const lay = niftiLayout(out);
  if (!lay) return { bytes: out, what: 'hugeDims(no header)' };
  const v = lay.version === 1 ? pick(rng, [32767, 20000, 4096]) : pick(rng, [2 ** 31, 1e6, 2 ** 40]);
  const fields = lay.version === 1 ? NIFTI1_FIELDS : NIFTI2_FIELDS;
  const [, off, type] = fields.find((f) => f[0] === 'dim')!;
  const size = type === 'i16' ? 2 : 8;
  writeNum(out, off, type, 3, lay.le);
  for (let d = 1; d <= 3; d++) writeNum(out, off + d * size, type, v, lay.le);
  return { bytes: out, what: `dims=${v}^3` };
}

let zerosMember: Buffer | null = null;
/** One gzip member inflating to 64 MiB of zeros (~64 KiB compressed), made once per process. */
function zeros64MiB(): Buffer {
  zerosMember ??= zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return zerosMember;
}

/**
 * Gzip bombs: a valid header (small or huge dims) followed by concatenated members of zeros that
 * inflate to gigabytes. The reader must stop at what the header needs or refuse the header.
 */
function gzipBomb(rng: Rng, rawHeaderFile: Buffer): { bytes: Buffer; what: string } {
  const lay = niftiLayout(rawHeaderFile);
  const headerLen = lay?.version === 2 ? 544 : 352;
  let head: Buffer = Buffer.from(rawHeaderFile.subarray(0, Math.min(rawHeaderFile.length, headerLen)));
  let what = 'bomb(small dims)';
  if (rng.chance(0.5)) {
    head = hugeDims(rng, head).bytes;
    what = 'bomb(huge dims)';
  }
  const members = 8 + rng.int(57); // 0.5 .. 4 GiB of zeros
  const parts: Buffer[] = [zlib.gzipSync(head)];
  for (let i = 0; i < members; i++) parts.push(zeros64MiB());
  return { bytes: Buffer.concat(parts), what: `${what} x${members * 64} MiB` };
}

const DICOM_TAGS: Record<string, [number, number]> = {
  TransferSyntax: [0x0002, 0x0010],
  GroupLength: [0x0002, 0x0000],
  Rows: [0x0028, 0x0010],
  Columns: [0x0028, 0x0011],
  BitsAllocated: [0x0028, 0x0100],
  BitsStored: [0x0028, 0x0101],
  PixelRepresentation: [0x0028, 0x0103],
  SamplesPerPixel: [0x0028, 0x0002],
  NumberOfFrames: [0x0028, 0x0008],
  PixelSpacing: [0x0028, 0x0030],
  ImagePosition: [0x0020, 0x0032],
  ImageOrientation: [0x0020, 0x0037],
  RescaleSlope: [0x0028, 0x1053],
  PixelData: [0x7fe0, 0x0010],
};
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'OV', 'SV', 'UV']);
const TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.5',
  '9.9.9',
  '',
];

/** Byte offset of an explicit-VR little-endian element with this tag, or -1. */
function findElement(b: Buffer, [group, element]: [number, number]): number {
  const needle = Buffer.alloc(4);
  needle.writeUInt16LE(group, 0);
  needle.writeUInt16LE(element, 2);
  let at = b.indexOf(needle, 132);
  while (at >= 0) {
    const vr = b.toString('latin1', at + 4, at + 6);
    if (/^[A-Z]{2}$/.test(vr)) return at;
    at = b.indexOf(needle, at + 1);
  }
  return -1;
}

function dicomMutation(rng: Rng, raw: Buffer): { bytes: Buffer; what: string } {
  const kind = pick(rng, ['bitflip', 'truncate', 'splice', 'length', 'vr', 'value', 'syntax'] as const);
  if (kind === 'bitflip') return { bytes: bitflips(rng, raw, 0.3), what: 'bitflip:' };
  if (kind === 'truncate') return { bytes: truncate(rng, raw), what: 'truncate:' };
  if (kind === 'splice') return { bytes: splice(rng, raw), what: 'splice:' };
  const tagName = pick(rng, Object.keys(DICOM_TAGS));
  const at = findElement(raw, DICOM_TAGS[tagName]);
  if (at < 0) return { bytes: bitflips(rng, raw, 0.3), what: `bitflip:(no ${tagName})` };
  const out = Buffer.from(raw);
  const vr = out.toString('latin1', at + 4, at + 6);
  const long = LONG_VRS.has(vr);
  if (kind === 'length') {
    const v = pick(rng, [0, 1, 3, 0xffff, 0x7fff, 0xfffffffe, 0xffffffff, 0x7fffffff, out.length * 4]);
    if (long) out.writeUInt32LE(v >>> 0, at + 8);
    else out.writeUInt16LE(v & 0xffff, at + 6);
    return { bytes: out, what: `length:${tagName}=${v}` };
  }
  if (kind === 'vr') {
    const nv = pick(rng, ['OB', 'SQ', 'UN', 'US', 'DS', 'XX', 'ow', 'UT']);
    out.write(nv, at + 4, 'latin1');
    return { bytes: out, what: `vr:${tagName}=${nv}` };
  }
  const valueAt = at + (long ? 12 : 8);
  const len = long ? out.readUInt32LE(at + 8) : out.readUInt16LE(at + 6);
  if (kind === 'syntax' || tagName === 'TransferSyntax') {
    const uidAt = findElement(out, DICOM_TAGS.TransferSyntax);
    if (uidAt < 0) return { bytes: out, what: 'syntax:(missing)' };
    const uidLen = out.readUInt16LE(uidAt + 6);
    const uid = pick(rng, TRANSFER_SYNTAXES);
    const padded = uid.length % 2 ? `${uid}\0` : uid;
    // rewrite the element with the new length (the group length then lies: also hostile)
    const el = Buffer.alloc(8 + padded.length);
    out.copy(el, 0, uidAt, uidAt + 6);
    el.writeUInt16LE(padded.length, 6);
    el.write(padded, 8, 'latin1');
    return { bytes: Buffer.concat([out.subarray(0, uidAt), el, out.subarray(uidAt + 8 + uidLen)]), what: `syntax:${uid || '(empty)'}` };
  }
  if (vr === 'US' && len >= 2 && valueAt + 2 <= out.length) {
    const v = pick(rng, [0, 1, 7, 8, 12, 16, 24, 32, 33, 64, 0xffff]);
    out.writeUInt16LE(v, valueAt);
    return { bytes: out, what: `value:${tagName}=${v}` };
  }
  if ((vr === 'DS' || vr === 'IS') && len > 0 && valueAt + len <= out.length) {
    const s = pick(rng, ['NaN', 'Inf', '-1e308', '999999999', '0', '1e400', '\\\\\\', 'abc']).padEnd(len, ' ').slice(0, len);
    out.write(s, valueAt, 'latin1');
    return { bytes: out, what: `value:${tagName}="${s.trim()}"` };
  }
  return { bytes: splice(rng, out), what: `splice:${tagName}` };
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** One fuzz case: case `index` of a run with seed `runSeed` over `seeds`. */
export function makeCase(seeds: SeedFile[], index: number, runSeed: number): FuzzCase {
  const rng = createRng((runSeed * 1_000_003 + index * 7919) >>> 0);
  // a third of the cases go to DICOM (3 seed slices among ~50 NIfTI seeds would starve it)
  const dicom = seeds.filter((s) => s.kind === 'dicom');
  const nifti = seeds.filter((s) => s.kind === 'nifti');
  const seed = dicom.length && rng.chance(1 / 3) ? pick(rng, dicom) : pick(rng, nifti);
  if (seed.kind === 'dicom') {
    const m = dicomMutation(rng, seed.bytes);
    const series = rng.chance(0.4);
    return {
      index,
      seedName: seed.name,
      mutation: m.what,
      reader: series ? 'dicom-series' : 'dicom-file',
      files: [{ name: 'case.dcm', bytes: m.bytes }, ...(series ? seedPartners(seeds, seed) : [])],
    };
  }
  const gz = isGzip(seed.bytes);
  // finishFlush: the negative seeds include a truncated .nii.gz
  const plain = gz ? zlib.gunzipSync(seed.bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : seed.bytes;
  const kind = pick(rng, ['bitflip', 'truncate', 'splice', 'field', 'field', 'field', 'hugeDims', 'gzipRaw', 'bomb'] as const);
  let bytes: Buffer;
  let what: string;
  let keepGz = gz ? rng.chance(0.8) : rng.chance(0.2);
  switch (kind) {
    case 'bitflip':
      bytes = bitflips(rng, plain, 0.7);
      what = 'bitflip';
      break;
    case 'truncate':
      bytes = truncate(rng, plain);
      what = 'truncate';
      break;
    case 'splice':
      bytes = splice(rng, plain);
      what = 'splice';
      break;
    case 'field':
      ({ bytes, what } = niftiField(rng, plain));
      if (rng.chance(0.3)) ({ bytes } = niftiField(rng, bytes));
      break;
    case 'hugeDims':
      ({ bytes, what } = hugeDims(rng, plain));
      break;
    case 'gzipRaw': {
      // damage the compressed stream itself (deflate blocks, CRC, ISIZE)
      const z = gz ? seed.bytes : zlib.gzipSync(plain);
      bytes = rng.chance(0.5) ? bitflips(rng, z, 0.1) : truncate(rng, z);
      what = 'gzip-damage';
      keepGz = false;
      break;
    }
    case 'bomb':
      ({ bytes, what } = gzipBomb(rng, plain));
      keepGz = false;
      break;
  }
  if (keepGz) bytes = zlib.gzipSync(bytes, { level: 1 });
  const isPair = /\.(hdr|img)(\.gz)?$/i.test(seed.name);
  const ext = isPair ? (keepGz || kind === 'bomb' || kind === 'gzipRaw' ? '.hdr.gz' : '.hdr') : keepGz || kind === 'bomb' || kind === 'gzipRaw' ? '.nii.gz' : '.nii';
  const files: FuzzFile[] = [{ name: `case${ext}`, bytes }];
  if (isPair && seed.partner) {
    // half the time damage the data file of the pair instead of (as well as) the header
    const img = rng.chance(0.5) ? truncate(rng, seed.partner.bytes) : seed.partner.bytes;
    files.push({ name: `case${isGzip(img) ? '.img.gz' : '.img'}`, bytes: img });
  }
  return { index, seedName: seed.name, mutation: `${kind}:${what}${keepGz ? '+gz' : ''}`, reader: 'nifti', files };
}

/** Two unmutated files of the same series, so the series reader meets one bad file among good ones. */
function seedPartners(seeds: SeedFile[], self: SeedFile): FuzzFile[] {
  return seeds
    .filter((s) => s.kind === 'dicom' && s !== self)
    .slice(0, 2)
    .map((s, i) => ({ name: `good${i}.dcm`, bytes: s.bytes }));
}
