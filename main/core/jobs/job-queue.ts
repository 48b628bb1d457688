// Long work as jobs: id, status, progress (fraction, message, ETA), cancel. The queue also
// enforces "one ML owner at a time": jobs submitted with `exclusive: true` (training,
// inference) never overlap; a second one is either refused with BUSY or waits its turn,
// depending on the queue's policy. Transports (main/app) wrap this and forward onDidChangeJob.
import { randomUUID } from 'node:crypto';
import { SegloopError, toErrorData, type ErrorData } from '../../../shared/errors';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobInfo {
  id: string;
  kind: string;
  status: JobStatus;
  /** 0..1, or null while unknown. */
  progress: number | null;
  message: string;
  /** Estimated seconds until done, or null while unknown. */
  etaSeconds: number | null;
  exclusive: boolean;
  /** The exclusive job this one waited for when it was queued (null: it did not wait). */
  queuedBehind: { jobId: string; kind: string } | null;
  createdAt: string;
  updatedAt: string;
  error: ErrorData | null;
}

export interface ProgressUpdate {
  fraction?: number | null;
  message?: string;
  etaSeconds?: number | null;
}

export interface JobContext {
  readonly id: string;
  readonly signal: AbortSignal;
  report(update: ProgressUpdate): void;
}

export interface JobHandle<T> {
  readonly id: string;
  /** Resolves with the work's result; rejects with JOB_CANCELLED or the work's error. */
  readonly result: Promise<T>;
}

export type BusyPolicy = 'reject' | 'queue';

interface Entry {
  info: JobInfo;
  abort: AbortController;
  start: () => void;
  rejectQueued: () => void;
}

export class JobQueue {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private mlOwner: string | null = null;
  private readonly listeners = new Set<(job: JobInfo) => void>();
  private readonly clock: () => Date;

  constructor(private readonly opts: { busy?: BusyPolicy; clock?: () => Date } = {}) {
    this.clock = opts.clock ?? (() => new Date());
  }

  onDidChangeJob(listener: (job: JobInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((e) => e.info);
  }

  get(id: string): JobInfo {
    const e = this.jobs.get(id);
    if (!e) throw new SegloopError('JOB_NOT_FOUND', `No job with id ${id}: it may belong to an earlier session.`, { jobId: id });
    return e.info;
  }

  /** The id of the exclusive (ML) job running now, if any. */
  get mlOwnerId(): string | null {
    return this.mlOwner;
  }

  submit<T>(kind: string, work: (ctx: JobContext) => Promise<T>, options: { exclusive?: boolean } = {}): JobHandle<T> {
    const exclusive = options.exclusive ?? false;
    if (exclusive && this.mlOwner !== null && (this.opts.busy ?? 'reject') === 'reject') {
      const owner = this.jobs.get(this.mlOwner)?.info;
      throw new SegloopError('BUSY', `Another ${owner?.kind ?? 'ML'} job (${this.mlOwner}) is using the CPU/GPU; wait for it to finish or cancel it.`, {
        runningJobId: this.mlOwner,
        kind: owner?.kind ?? null,
      });
    }
    const now = this.clock().toISOString();
    const abort = new AbortController();
    const info: JobInfo = {
      id: randomUUID(), kind, status: 'queued', progress: 0, message: 'Queued', etaSeconds: null, exclusive, queuedBehind: null, createdAt: now, updatedAt: now, error: null,
    };
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that only watch events must not see an unhandled rejection.
    result.catch(() => undefined);
    const entry: Entry = {
      info,
      abort,
      rejectQueued: () => reject(cancelledError(info.id)),
      start: () => {
        if (entry.info.status !== 'queued') return;
        if (exclusive) this.mlOwner = info.id;
        this.update(entry, { status: 'running', message: 'Running' });
        const ctx: JobContext = {
          id: info.id,
          signal: abort.signal,
          report: (u) => {
            if (entry.info.status !== 'running') return;
            const patch: Partial<JobInfo> = {};
            if (u.fraction !== undefined) patch.progress = u.fraction === null ? null : Math.min(1, Math.max(0, u.fraction));
            if (u.message !== undefined) patch.message = u.message;
            if (u.etaSeconds !== undefined) patch.etaSeconds = u.etaSeconds;
            this.update(entry, patch);
          },
        };
        const release = (): void => {
          if (this.mlOwner === info.id) this.mlOwner = null;
          queueMicrotask(() => this.pump());
        };
        void (async () => {
          try {
            if (abort.signal.aborted) throw cancelledError(info.id);
            const value = await work(ctx);
            release();
            // Work that stops early on cancel may still return normally: it is a cancel.
            if (abort.signal.aborted) throw cancelledError(info.id);
            this.update(entry, { status: 'done', progress: 1, etaSeconds: 0, message: 'Done' });
            resolve(value);
          } catch (err) {
            release();
            const e = abort.signal.aborted ? cancelledError(info.id).toData() : toErrorData(err);
            if (e.code === 'JOB_CANCELLED') this.update(entry, { status: 'cancelled', message: 'Cancelled' });
            else this.update(entry, { status: 'failed', message: e.message, error: e });
            reject(e.code === 'JOB_CANCELLED' ? cancelledError(info.id) : err);
          }
        })();
      },
    };
    this.jobs.set(info.id, entry);
    if (exclusive && this.mlOwner !== null) {
      // Say who owns the compute, so the UI can tell the user why this job has not started.
      const owner = this.jobs.get(this.mlOwner)?.info;
      const ahead = this.waiting.length;
      entry.info = {
        ...entry.info,
        queuedBehind: owner ? { jobId: owner.id, kind: owner.kind } : null,
        message: `Queued: waits for the running ${owner?.kind ?? 'ML'} job${ahead ? ` and ${ahead} other queued job(s)` : ''} (one job uses the CPU/GPU at a time)`,
      };
    }
    this.emit(entry.info);
    if (exclusive && this.mlOwner !== null) this.waiting.push(entry);
    else if (exclusive) entry.start();
    else queueMicrotask(entry.start);
    return { id: info.id, result };
  }

  /** Cancels a queued or running job. A running job sees ctx.signal abort and should stop soon. */
  cancel(id: string): JobInfo {
    const entry = this.jobs.get(id);
    if (!entry) throw new SegloopError('JOB_NOT_FOUND', `No job with id ${id}.`, { jobId: id });
    if (entry.info.status === 'queued') {
      const i = this.waiting.indexOf(entry);
      if (i >= 0) this.waiting.splice(i, 1);
      entry.abort.abort();
      this.update(entry, { status: 'cancelled', message: 'Cancelled before it started' });
      entry.rejectQueued();
    } else if (entry.info.status === 'running') {
      entry.abort.abort();
      this.update(entry, { message: 'Cancelling…' });
    }
    return entry.info;
  }

  dispose(): void {
    for (const e of this.jobs.values()) if (e.info.status === 'queued' || e.info.status === 'running') e.abort.abort();
    this.waiting.length = 0;
    this.listeners.clear();
  }

  private pump(): void {
    if (this.mlOwner !== null) return;
    const next = this.waiting.shift();
    if (next) next.start();
  }

  private update(entry: Entry, patch: Partial<JobInfo>): void {
    entry.info = { ...entry.info, ...patch, updatedAt: this.clock().toISOString() };
    this.emit(entry.info);
  }

  private emit(job: JobInfo): void {
    for (const l of this.listeners) l(job);
  }
}

export function cancelledError(jobId: string): SegloopError {
  return new SegloopError('JOB_CANCELLED', `Job ${jobId} was cancelled.`, { jobId });
}

/** ETA from elapsed time and completed fraction (linear extrapolation); null until meaningful. */
export function estimateEta(elapsedSeconds: number, fraction: number): number | null {
  if (!(fraction > 0.001) || !(elapsedSeconds > 0)) return null;
  return Math.max(0, (elapsedSeconds * (1 - fraction)) / fraction);
}
