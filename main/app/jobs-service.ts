// Long work as jobs: id, progress events, cancel. An in-process registry that the transports
// expose through jobs:list/get/cancel and the 'jobs:progress' event.
import { randomUUID } from 'node:crypto';
import type { EventMessage, Job } from '../../shared/contract';
import { SegloopError, toErrorData } from '../../shared/errors';

export interface JobContext {
  readonly signal: AbortSignal;
  report(progress: number | null, message?: string): void;
}

export class JobsService {
  private readonly jobs = new Map<string, { job: Job; abort: AbortController }>();
  private readonly listeners = new Set<(msg: EventMessage) => void>();

  onDidChangeJob(listener: (msg: EventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Job[] {
    return [...this.jobs.values()].map((j) => j.job).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): Job {
    const entry = this.jobs.get(id);
    if (!entry) throw new SegloopError('JOB_NOT_FOUND', `No job with id ${id}: it may belong to an earlier session.`, { jobId: id });
    return entry.job;
  }

  cancel(id: string): Job {
    const entry = this.jobs.get(id);
    if (!entry) throw new SegloopError('JOB_NOT_FOUND', `No job with id ${id}.`, { jobId: id });
    if (entry.job.status === 'queued' || entry.job.status === 'running') {
      entry.abort.abort();
      this.update(entry, { status: 'cancelled', message: 'Cancelled' });
    }
    return entry.job;
  }

  /** Starts `work` as a job and returns it at once; progress and the outcome arrive as events. */
  start(kind: string, work: (ctx: JobContext) => Promise<void>): Job {
    const now = new Date().toISOString();
    const entry = {
      job: { id: randomUUID(), kind, status: 'queued', progress: 0, message: 'Queued', createdAt: now, updatedAt: now, error: null } as Job,
      abort: new AbortController(),
    };
    this.jobs.set(entry.job.id, entry);
    this.emit(entry.job);
    const ctx: JobContext = {
      signal: entry.abort.signal,
      report: (progress, message) => {
        if (entry.job.status !== 'running') return;
        this.update(entry, { progress: progress === null ? null : Math.min(1, Math.max(0, progress)), message: message ?? entry.job.message });
      },
    };
    queueMicrotask(() => {
      if (entry.job.status !== 'queued') return;
      this.update(entry, { status: 'running', message: 'Running' });
      work(ctx).then(
        () => {
          if (entry.job.status === 'running') this.update(entry, { status: 'done', progress: 1, message: 'Done' });
        },
        (err: unknown) => {
          if (entry.job.status !== 'running') return;
          const e = toErrorData(err);
          this.update(entry, { status: 'failed', message: e.message, error: { code: e.code, message: e.message } });
        },
      );
    });
    return entry.job;
  }

  dispose(): void {
    for (const entry of this.jobs.values()) entry.abort.abort();
    this.listeners.clear();
  }

  private update(entry: { job: Job }, patch: Partial<Job>): void {
    entry.job = { ...entry.job, ...patch, updatedAt: new Date().toISOString() };
    this.emit(entry.job);
  }

  private emit(job: Job): void {
    for (const l of this.listeners) l({ event: 'jobs:progress', payload: job });
  }
}
