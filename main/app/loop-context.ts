// What the handlers of the loop (training, models, predictions, review, active learning) share:
// the store, the job queue, who is acting, a way to push events, and the id conversions.
import type { EventMessage, JobResult } from '../../shared/contract';
import { toErrorData } from '../../shared/errors';
import type { JobHandle, JobQueue } from '../core/jobs/job-queue';
import type { ProjectStore } from '../core/project';

export interface LoopDeps {
  store: ProjectStore;
  jobs: JobQueue;
  author: string;
  emit(msg: EventMessage): void;
}

/** Ids are integers in the database and strings on the wire: the one parser in core/base/ids. */
export { parseDbId as dbId } from '../core/base/ids';

export const idOrNull = (v: number | null | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** The job this one waits for (if it was queued behind another ML job), for the caller to show. */
export function queuedBehind(jobs: JobQueue, jobId: string): { jobId: string; kind: string } | null {
  return jobs.get(jobId).queuedBehind;
}

/** Pushes 'jobs:result' when a job ends, with what it produced (or why it did not). */
export function reportResult<T>(deps: LoopDeps, kind: string, handle: JobHandle<T>, summarize: (v: T) => JobResult['summary']): void {
  handle.result.then(
    (v) => deps.emit({ event: 'jobs:result', payload: { jobId: handle.id, kind, status: 'done', summary: summarize(v), error: null } }),
    (err: unknown) => {
      const e = toErrorData(err);
      deps.emit({
        event: 'jobs:result',
        payload: { jobId: handle.id, kind, status: e.code === 'JOB_CANCELLED' ? 'cancelled' : 'failed', summary: {}, error: { code: e.code, message: e.message } },
      });
    },
  );
}
