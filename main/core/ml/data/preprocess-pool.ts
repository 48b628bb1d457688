// Preprocessing of a collection by a pool of worker threads: each thread decodes, resamples and
// normalises one case at a time (preprocess-pool-job.ts) and writes it to the cache; the caller
// gets per-image progress with an ETA. Cache hits are checked first in the calling thread (a warm
// cache starts no thread); only misses go to the pool. Worker threads, not processes: the arrays
// come back by transfer, without a copy. Size: os.availableParallelism() (2 here), at most
// MAX_THREADS and the number of misses; fewer than MIN_CASES_FOR_THREADS misses are computed
// in-process. Where the thread entry cannot start (a bundle built without it), the same jobs run
// in-process, one after the other, and a warning says so.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SegloopError, type ErrorData } from '../../../../shared/errors';
import type { AtomicWriteIo } from '../../base/fs';
import { planHash, removeStaleTempFiles } from './case-cache';
import { checkCache, runPoolJob, type CacheMiss, type PoolJob, type PoolResult } from './preprocess-pool-job';
import type { PreprocessSpec } from './preprocess';

export const MAX_THREADS = 8;
const CHECKS_IN_FLIGHT = 8;

export interface PoolCase {
  id: string;
  imagePath: string;
  labelPath: string;
}

export interface PoolProgress {
  done: number;
  total: number;
  /** Seconds left at the rate so far (null before the first case is done). */
  etaSeconds: number | null;
  hits: number;
}

export interface PoolOptions {
  spec: PreprocessSpec;
  /** Cache root (a project's .segloop/cache); null keeps every case in memory. */
  cacheDir: string | null;
  /** Worker threads; 0 runs in-process (tests, fallback). Default: defaultPoolSize(cases). */
  threads?: number;
  onProgress?: (p: PoolProgress) => void;
  log?: (message: string, level?: 'info' | 'warn') => void;
  signal?: AbortSignal;
  /** Compute in this thread while the threads start (default true; tests of the threads turn it off). */
  inlineWhileStarting?: boolean;
  /** In-process only: replaces the write steps (tests simulate a full disk). */
  io?: AtomicWriteIo;
}

export interface PoolOutcome {
  results: PoolResult[];
  threads: number;
  hits: number;
  seconds: number;
  /** Set when the disk filled up while writing the cache (later cases stayed in memory). */
  diskFull: ErrorData | null;
}

/** Below this many images to compute, starting threads costs more than it saves: in-process. */
export const MIN_CASES_FOR_THREADS = 4;

export function defaultPoolSize(cases: number): number {
  if (cases < MIN_CASES_FOR_THREADS) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_THREADS, cores, cases));
}

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The thread's entry: from TypeScript sources through bin/run-ts.mjs (tsx), from a bundle the
 * sibling preprocess-pool-worker.js.
 */
function workerEntry(): { file: string; argv: string[] } {
  if (import.meta.url.endsWith('.ts')) return { file: path.resolve(here, '../../../../bin/run-ts.mjs'), argv: [path.join(here, 'preprocess-pool-worker.ts')] };
  // A bundler may put this module into a shared chunk one folder below the entries.
  const file = [path.join(here, 'preprocess-pool-worker.js'), path.join(here, '..', 'preprocess-pool-worker.js')].find((f) => existsSync(f));
  if (!file) throw new Error('this build has no preprocess-pool-worker.js entry');
  return { file, argv: [] };
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

type WorkerReply = { ready: true } | { ok: true; result: PoolResult } | { ok: false; index: number; error: ErrorData };

function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const entry = workerEntry();
    const w = new Worker(entry.file, { argv: entry.argv, stdout: false, stderr: false });
    const onMessage = (m: WorkerReply): void => {
      if ('ready' in m) {
        w.off('error', onError);
        w.off('message', onMessage);
        resolve(w);
      }
    };
    const onError = (err: Error): void => reject(err);
    w.on('message', onMessage);
    w.once('error', onError);
  });
}

export async function preprocessCases(cases: readonly PoolCase[], opts: PoolOptions): Promise<PoolOutcome> {
  const t0 = performance.now();
  const plan = planHash(opts.spec);
  const total = cases.length;
  const results: PoolResult[] = new Array(total);
  let done = 0;
  let hits = 0;
  let diskFull: ErrorData | null = null;
  // The ETA comes from the rate of the current phase: checking the cache, then computing misses.
  let phaseStart = t0;
  let phaseDone = 0;
  const progress = (): void => {
    const elapsed = (performance.now() - phaseStart) / 1000;
    opts.onProgress?.({ done, total, hits, etaSeconds: phaseDone > 0 ? (elapsed / phaseDone) * (total - done) : null });
  };
  const known = new Map<number, CacheMiss>();
  const jobOf = (i: number): PoolJob => ({
    index: i, id: cases[i].id, imagePath: cases[i].imagePath, labelPath: cases[i].labelPath, spec: opts.spec, planHash: plan, cacheDir: opts.cacheDir, writeCache: diskFull === null, known: known.get(i),
  });
  const accept = (r: PoolResult): void => {
    results[r.index] = r;
    if (r.kind === 'file' && r.status === 'hit') hits++;
    if (r.reason && r.kind === 'file') opts.log?.(`preprocessing cache: ${cases[r.index].id} recomputed (${r.reason})`, 'warn');
    if (r.kind === 'memory' && r.warning && !diskFull) {
      diskFull = r.warning;
      opts.log?.(`preprocessing cache: ${r.warning.message} The cache is off for the rest of this run: the remaining images are kept in memory (memory use is no longer bounded).`, 'warn');
    }
    done++;
    phaseDone++;
    progress();
  };
  progress();
  const cancelled = (): SegloopError => new SegloopError('JOB_CANCELLED', 'Cancelled while preprocessing the images.');
  if (opts.cacheDir) {
    const stale = await removeStaleTempFiles(opts.cacheDir, plan);
    if (stale.length) opts.log?.(`preprocessing cache: removed ${stale.length} temp file(s) left by interrupted writes`);
  }
  // Hits first, in this thread: a warm cache costs hashing + reading, and no thread start-up.
  // Threads start at the first miss, so their start-up overlaps the remaining checks.
  // In an object: TypeScript does not see the closures assign it and would narrow a `let` to null.
  const pool: { starting: Promise<PromiseSettledResult<Worker>[]> | null } = { starting: null };
  const startPool = (remaining: number): void => {
    const n = Math.min(opts.threads ?? defaultPoolSize(remaining), remaining);
    if (n > 0) pool.starting ??= Promise.allSettled(Array.from({ length: n }, () => startWorker()));
  };
  // A few checks in flight hide the file-system latency (the hashing itself is quick).
  const todo: number[] = [];
  if (!opts.cacheDir) {
    todo.push(...cases.keys());
    startPool(total);
  }
  else {
    const cacheDir = opts.cacheDir;
    let nextCheck = 0;
    const checker = async (): Promise<void> => {
      while (nextCheck < total) {
        if (opts.signal?.aborted) throw cancelled();
        const i = nextCheck++;
        const checked = await checkCache({ index: i, imagePath: cases[i].imagePath, labelPath: cases[i].labelPath, planHash: plan, cacheDir });
        if ('kind' in checked) accept(checked);
        else {
          known.set(i, checked);
          todo.push(i);
          startPool(total - i);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CHECKS_IN_FLIGHT, total) }, checker));
    } catch (err) {
      for (const r of pool.starting ? await pool.starting : []) if (r.status === 'fulfilled') await r.value.terminate();
      throw err;
    }
    todo.sort((a, b) => a - b);
  }
  phaseStart = performance.now();
  phaseDone = 0;
  // Thread start-up is slow on a loaded machine (tens of seconds seen with tsx under load 30):
  // until the threads are up, this thread computes misses itself, so threads never make it slower.
  let threadsUp = pool.starting === null || opts.inlineWhileStarting === false;
  void pool.starting?.then(() => (threadsUp = true));
  let inline = 0;
  while (!threadsUp && inline < todo.length) {
    if (opts.signal?.aborted) {
      for (const r of await pool.starting!) if (r.status === 'fulfilled') await r.value.terminate();
      throw cancelled();
    }
    accept(await runPoolJob(jobOf(todo[inline++]), opts.io));
  }
  todo.splice(0, inline);
  const settled = pool.starting ? await pool.starting : [];
  let workers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const startError = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (startError || workers.length > todo.length) {
    const keep = startError ? 0 : todo.length;
    for (const w of workers.slice(keep)) await w.terminate();
    workers = workers.slice(0, keep);
  }
  if (startError) opts.log?.(`preprocessing: worker threads could not start (${(startError.reason as Error).message}); preprocessing in this process, one image at a time`, 'warn');
  if (todo.length === 0) return { results, threads: 0, hits, seconds: (performance.now() - t0) / 1000, diskFull };

  if (workers.length === 0) {
    for (const i of todo) {
      if (opts.signal?.aborted) throw cancelled();
      accept(await runPoolJob(jobOf(i), opts.io));
    }
    return { results, threads: 0, hits, seconds: (performance.now() - t0) / 1000, diskFull };
  }

  const slots: Slot[] = workers.map((worker) => ({ worker, busy: false }));
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const dispatch = (slot: Slot): void => {
        if (failed) return;
        if (opts.signal?.aborted) return fail(cancelled());
        if (next >= todo.length) {
          slot.busy = false;
          if (slots.every((s) => !s.busy)) resolve();
          return;
        }
        slot.busy = true;
        slot.worker.postMessage(jobOf(todo[next++]));
      };
      opts.signal?.addEventListener('abort', () => fail(cancelled()), { once: true });
      for (const slot of slots) {
        slot.worker.on('message', (m: WorkerReply) => {
          if ('ready' in m) return;
          if (!m.ok) return fail(SegloopError.fromData(m.error));
          accept(m.result);
          dispatch(slot);
        });
        slot.worker.on('error', (err) => fail(new SegloopError('WORKER_CRASHED', `A preprocessing worker thread failed: ${err.message}`)));
        slot.worker.on('exit', (code) => {
          if (slot.busy) fail(new SegloopError('WORKER_CRASHED', `A preprocessing worker thread exited (code ${code}) in the middle of an image.`));
        });
        dispatch(slot);
      }
    });
  } finally {
    for (const s of slots) {
      s.busy = false;
      await s.worker.terminate();
    }
  }
  return { results, threads: slots.length, hits, seconds: (performance.now() - t0) / 1000, diskFull };
}
