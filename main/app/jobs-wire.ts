// The wire shape of a job (contract `Job`) from the queue's JobInfo: one converter for every handler.
import type { Job } from '../../shared/contract';
import type { JobInfo } from '../core/jobs/job-queue';

export function toWireJob(j: JobInfo): Job {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    progress: j.progress,
    message: j.message,
    etaSeconds: j.etaSeconds,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    error: j.error ? { code: j.error.code, message: j.error.message } : null,
    queuedBehind: j.queuedBehind,
  };
}
