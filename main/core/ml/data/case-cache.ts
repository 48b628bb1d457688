// The preprocessing cache: one file per case holding the resampled + normalised image channels
// and the resampled label, so a second training on the same data skips decoding and resampling
// (nnU-Net preprocesses offline for the same reason). Layout:
//   <cacheDir>/<plan hash>/<image sha256[0:24]>-<label sha256[0:24]>.case
// The plan hash covers everything that changes the arrays (PreprocessSpec + this format's
// version); the file name covers the image and label bytes. The file is derived data: it is
// written atomically (temp + rename), checked (magic, header, length, payload sha256) on every
// read, and a file that fails any check is recomputed, never trusted.
//
// File format (little-endian):
//   "SLCASE01" | u32 header length | header JSON (utf-8) | zero padding to 8 bytes |
//   payload = channels x float32[n] | label as uint8[n] (uint16[n] when numClasses > 256)
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TEMP_MARKER, defaultIo, diskFullError, isDiskFullError, type AtomicWriteIo } from '../../base/fs';
import type { PreprocessSpec } from './preprocess';
import type { Grid } from './grid';
import type { Vec3 } from './resample';

export const CACHE_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('SLCASE01', 'latin1');
const HEX = /^[0-9a-f]{64}$/;

const Shape = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);
const HeaderSchema = z.strictObject({
  version: z.literal(CACHE_FORMAT_VERSION),
  planHash: z.string(),
  imageSha256: z.string().regex(HEX),
  labelSha256: z.string().regex(HEX),
  shape: Shape,
  channels: z.number().int().positive(),
  labelBytes: z.union([z.literal(1), z.literal(2)]),
  scale: z.tuple([z.number(), z.number(), z.number()]),
  originalShape: Shape,
  payloadBytes: z.number().int().nonnegative(),
  payloadSha256: z.string().regex(HEX),
});
export type CaseHeader = z.infer<typeof HeaderSchema>;

/** A case as the trainer keeps it: model-ready channels + label, and what is needed to map back. */
export interface CachedCase {
  images: Grid[];
  label: Grid;
  scale: Vec3;
  originalShape: Vec3;
}

/** Key order must not change the hash: JSON with sorted keys, recursively. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Hash of everything that changes the cached arrays. The whole PreprocessSpec is hashed (not a
 * hand-picked list), so a field added to it later invalidates old entries by itself.
 */
export function planHash(spec: PreprocessSpec): string {
  return createHash('sha256').update(canonicalJson({ format: CACHE_FORMAT_VERSION, spec })).digest('hex').slice(0, 16);
}

export function caseFileName(imageSha256: string, labelSha256: string): string {
  if (!HEX.test(imageSha256) || !HEX.test(labelSha256)) throw new Error('caseFileName needs two sha256 hex digests');
  return `${imageSha256.slice(0, 24)}-${labelSha256.slice(0, 24)}.case`;
}

/** The cache file of a case; only hex goes into the names, so the path cannot leave cacheDir. */
export function caseFilePath(cacheDir: string, plan: string, imageSha256: string, labelSha256: string): string {
  if (!/^[0-9a-f]{16}$/.test(plan)) throw new Error('plan hash must be 16 hex digits');
  return path.join(cacheDir, plan, caseFileName(imageSha256, labelSha256));
}

/** Bytes the decoded case occupies in memory (label decoded to float32 like every Grid). */
export function decodedBytes(shape: readonly number[], channels: number): number {
  return shape[0] * shape[1] * shape[2] * 4 * (channels + 1);
}

export function encodeCase(c: CachedCase, ids: { planHash: string; imageSha256: string; labelSha256: string; numClasses: number }): Uint8Array {
  const n = c.label.data.length;
  const channels = c.images.length;
  const labelBytes = ids.numClasses > 256 ? 2 : 1;
  const payload = new Uint8Array(channels * n * 4 + n * labelBytes);
  c.images.forEach((g, k) => {
    if (g.data.length !== n) throw new Error('channel and label sizes differ');
    payload.set(new Uint8Array(g.data.buffer, g.data.byteOffset, g.data.byteLength), k * n * 4);
  });
  const lab = labelBytes === 1 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) lab[i] = c.label.data[i];
  payload.set(new Uint8Array(lab.buffer), channels * n * 4);
  const header: CaseHeader = {
    version: CACHE_FORMAT_VERSION,
    planHash: ids.planHash,
    imageSha256: ids.imageSha256,
    labelSha256: ids.labelSha256,
    shape: [...c.label.shape],
    channels,
    labelBytes,
    scale: [...c.scale],
    originalShape: [...c.originalShape],
    payloadBytes: payload.byteLength,
    payloadSha256: createHash('sha256').update(payload).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align8(MAGIC.length + 4 + json.length);
  const out = new Uint8Array(start + payload.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length, true);
  out.set(json, MAGIC.length + 4);
  out.set(payload, start);
  return out;
}

const align8 = (v: number): number => Math.ceil(v / 8) * 8;

export type DecodeResult = { ok: true; header: CaseHeader; value: CachedCase } | { ok: false; reason: string };

/**
 * Checks and decodes a cache file's bytes against what the caller expects. Any mismatch or
 * damage is a reason string (the caller recomputes), never an exception and never a partial case.
 */
export function decodeCase(bytes: Uint8Array, expect: { planHash: string; imageSha256: string; labelSha256: string }, opts: { verifyPayload?: boolean } = {}): DecodeResult {
  const fail = (reason: string): DecodeResult => ({ ok: false, reason });
  if (bytes.byteLength < MAGIC.length + 4 || !MAGIC.equals(bytes.subarray(0, MAGIC.length))) return fail('not a cache file (bad magic)');
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length, true);
  if (MAGIC.length + 4 + headerLen > bytes.byteLength) return fail('truncated header');
  let header: CaseHeader;
  try {
    const parsed = HeaderSchema.safeParse(JSON.parse(Buffer.from(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLen)).toString('utf8')));
    if (!parsed.success) return fail(`bad header: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    header = parsed.data;
  } catch {
    return fail('header is not JSON');
  }
  if (header.planHash !== expect.planHash) return fail('written for another plan');
  if (header.imageSha256 !== expect.imageSha256 || header.labelSha256 !== expect.labelSha256) return fail('written for other image/label bytes');
  const n = header.shape[0] * header.shape[1] * header.shape[2];
  if (header.payloadBytes !== header.channels * n * 4 + n * header.labelBytes) return fail('header sizes disagree');
  const start = align8(MAGIC.length + 4 + headerLen);
  if (bytes.byteLength !== start + header.payloadBytes) return fail(`length ${bytes.byteLength} bytes, expected ${start + header.payloadBytes} (truncated or padded)`);
  const payload = bytes.subarray(start);
  if (opts.verifyPayload !== false && createHash('sha256').update(payload).digest('hex') !== header.payloadSha256) return fail('payload checksum mismatch');
  const images: Grid[] = [];
  for (let k = 0; k < header.channels; k++) {
    // A copy: aligned, and independent of the file buffer (which can then be collected).
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(payload.subarray(k * n * 4, (k + 1) * n * 4));
    images.push({ shape: [...header.shape], data });
  }
  const labBuf = payload.slice(header.channels * n * 4);
  const lab = header.labelBytes === 1 ? labBuf : new Uint16Array(labBuf.buffer, 0, n);
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) label[i] = lab[i];
  return { ok: true, header, value: { images, label: { shape: [...header.shape], data: label }, scale: [...header.scale], originalShape: [...header.originalShape] } };
}

/** Synchronous read + full check, for the sampler's on-demand loads (the step loop is synchronous). */
export function readCaseFileSync(file: string, expect: { planHash: string; imageSha256: string; labelSha256: string }): DecodeResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { ok: false, reason: `cannot read (${(err as { code?: string }).code ?? String(err)})` };
  }
  return decodeCase(bytes, expect);
}

/**
 * Removes temp files that crashed writes left in one plan folder (only names of our own
 * `.<x>.case<TEMP_MARKER>…` form, only older than `minAgeMs`, so a concurrent writer's file is
 * safe). Returns the removed names. Nothing outside <cacheDir>/<plan> is touched.
 */
export async function removeStaleTempFiles(cacheDir: string, plan: string, minAgeMs = 3_600_000): Promise<string[]> {
  if (!/^[0-9a-f]{16}$/.test(plan)) throw new Error('plan hash must be 16 hex digits');
  const dir = path.join(cacheDir, plan);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!/^\.[0-9a-f]{24}-[0-9a-f]{24}\.case/.test(name) || !name.includes(TEMP_MARKER)) continue;
    const file = path.join(dir, name);
    const st = await fsp.lstat(file).catch(() => null);
    if (!st?.isFile() || Date.now() - st.mtimeMs < minAgeMs) continue;
    await fsp.rm(file, { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Atomic write of a cache file: temp file in the same folder + rename, like base/fs
 * writeFileAtomic but without its fsyncs. The file is derived data and checked on every read,
 * so a file torn by a power cut is recomputed; two fsyncs per case cost more than the case on a
 * busy disk. A full disk is DISK_FULL and leaves no temp file behind.
 */
export async function writeCaseFile(file: string, bytes: Uint8Array, io: AtomicWriteIo = defaultIo): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  try {
    await fsp.mkdir(dir, { recursive: true });
    const handle = await fsp.open(tmp, 'wx');
    try {
      await io.write(handle, bytes);
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (isDiskFullError(err)) throw diskFullError(file, err);
    throw err;
  }
}
