// One case's preprocessing as the pool runs it (in a worker thread, or in-process as the
// fallback): hash the image and label files, take the cache file when it is valid for those
// bytes and this plan, else read + preprocessCase + write the cache file atomically (temp + rename). The same
// function runs in both places, so the pool's arrays are bitwise the sequential ones.
import { promises as fsp } from 'node:fs';
import { SegloopError, type ErrorData } from '../../../../shared/errors';
import { sha256File, type AtomicWriteIo } from '../../base/fs';
import { readNifti } from '../../imaging/nifti';
import { caseFilePath, decodeCase, decodedBytes, encodeCase, writeCaseFile } from './case-cache';
import { preprocessCase, type PreprocessSpec } from './preprocess';
import type { Vec3 } from './resample';

export interface PoolJob {
  index: number;
  id: string;
  imagePath: string;
  labelPath: string;
  spec: PreprocessSpec;
  planHash: string;
  /** null: no cache, the arrays come back in memory. */
  cacheDir: string | null;
  /** false after the disk filled up: read hits, but do not try to write. */
  writeCache: boolean;
  /** Set when the caller already hashed the files and found no valid cache file. */
  known?: CacheMiss;
}

export interface CaseMeta {
  shape: Vec3;
  channels: number;
  /** Bytes of the decoded case in memory. */
  bytes: number;
  scale: Vec3;
  originalShape: Vec3;
}

/** What a job sends back. 'hit'/'miss'/'recomputed' have a valid cache file; 'memory' carries the arrays. */
export type PoolResult =
  | { index: number; kind: 'file'; status: 'hit' | 'miss' | 'recomputed'; file: string; imageSha256: string; labelSha256: string; meta: CaseMeta; reason?: string }
  | { index: number; kind: 'memory'; images: Float32Array[]; label: Float32Array; meta: CaseMeta; warning?: ErrorData; reason?: string };

/** What checkCache found out about a case that is not a hit (so the pool does not hash it again). */
export interface CacheMiss {
  file: string;
  imageSha256: string;
  labelSha256: string;
  reason?: string;
}

/**
 * The cheap half of a job, run in the calling thread before any worker starts: hash the two
 * files and check their cache file. A warm cache is thus read without starting a thread.
 */
export async function checkCache(job: Pick<PoolJob, 'index' | 'imagePath' | 'labelPath' | 'planHash'> & { cacheDir: string }): Promise<PoolResult | CacheMiss> {
  const [imageSha256, labelSha256] = await Promise.all([sha256File(job.imagePath), sha256File(job.labelPath)]);
  const file = caseFilePath(job.cacheDir, job.planHash, imageSha256, labelSha256);
  let reason: string | undefined;
  const bytes = await fsp.readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') reason = `cannot read (${err.code ?? String(err)})`;
    return null;
  });
  if (bytes) {
    const d = decodeCase(bytes, { planHash: job.planHash, imageSha256, labelSha256 });
    if (d.ok) {
      const h = d.header;
      return { index: job.index, kind: 'file', status: 'hit', file, imageSha256, labelSha256, meta: { shape: h.shape, channels: h.channels, bytes: decodedBytes(h.shape, h.channels), scale: h.scale, originalShape: h.originalShape } };
    }
    reason = d.reason;
  }
  return { file, imageSha256, labelSha256, reason };
}

export async function runPoolJob(job: PoolJob, io?: AtomicWriteIo): Promise<PoolResult> {
  let miss: CacheMiss | null = job.known ?? null;
  if (job.cacheDir && !miss) {
    const checked = await checkCache({ ...job, cacheDir: job.cacheDir });
    if ('kind' in checked) return checked;
    miss = checked;
  }
  const reason = miss?.reason;
  const [img, lab] = await Promise.all([readNifti(job.imagePath), readNifti(job.labelPath)]);
  const pre = preprocessCase([img], lab, job.spec, job.id);
  if (!pre.label) throw new SegloopError('INTERNAL_ERROR', `${job.id}: label missing after preprocessing.`);
  const meta: CaseMeta = { shape: [...pre.label.shape], channels: pre.images.length, bytes: decodedBytes(pre.label.shape, pre.images.length), scale: pre.scale, originalShape: pre.originalShape };
  const inMemory = (warning?: ErrorData): PoolResult => ({ index: job.index, kind: 'memory', images: pre.images.map((g) => g.data), label: pre.label!.data, meta, warning, reason });
  if (!miss || !job.writeCache) return inMemory();
  try {
    await writeCaseFile(miss.file, encodeCase({ images: pre.images, label: pre.label, scale: pre.scale, originalShape: pre.originalShape }, { planHash: job.planHash, imageSha256: miss.imageSha256, labelSha256: miss.labelSha256, numClasses: job.spec.numClasses }), io);
  } catch (err) {
    // The cache is an optimisation: a full disk keeps this case in memory and says so (the pool
    // stops writing), it does not fail the training.
    if (err instanceof SegloopError && err.code === 'DISK_FULL') return inMemory(err.toData());
    throw err;
  }
  return { index: job.index, kind: 'file', status: reason ? 'recomputed' : 'miss', file: miss.file, imageSha256: miss.imageSha256, labelSha256: miss.labelSha256, meta, reason };
}
