// Training and prediction as queue jobs (for the app and the server): exclusive, so only one
// ML job owns the CPU/GPU at a time (the queue's policy decides between BUSY and waiting), with
// the worker's progress, ETA and epoch metrics turned into job progress updates. Work that must
// hold the compute right after training (evaluating the new candidate on the test split) runs in
// the same job through `after`, so no other ML job can slip in between.
import type { ProjectStore } from '../project';
import type { EpochMetrics, TaskEvent } from '../worker/protocol';
import type { JobContext, JobHandle, JobQueue } from './job-queue';
import { predictInProject, type PredictInProjectOptions, type PredictInProjectResult } from './predict-job';
import { trainInProject, type TrainInProjectOptions, type TrainOutcome } from './train-job';

export interface MlJobListeners {
  onEpoch?: (jobId: string, metrics: EpochMetrics) => void;
  onEvent?: (jobId: string, event: TaskEvent) => void;
}

/** The context a job's work sees, plus a way to forward worker events as progress. */
function progressOf(ctx: JobContext, listeners: MlJobListeners, scale: { from: number; to: number } = { from: 0, to: 1 }): (e: TaskEvent) => void {
  return (e) => {
    if (e.type === 'progress') {
      const fraction = e.fraction === null ? null : scale.from + (scale.to - scale.from) * e.fraction;
      ctx.report({ fraction, message: e.message, etaSeconds: e.etaSeconds });
    }
    if (e.type === 'epoch') listeners.onEpoch?.(ctx.id, e.metrics);
    listeners.onEvent?.(ctx.id, e);
  };
}

export interface TrainingJobResult<A> {
  outcome: TrainOutcome;
  after: A | null;
}

export function submitTraining<A = null>(
  queue: JobQueue,
  store: ProjectStore,
  opts: Omit<TrainInProjectOptions, 'signal' | 'onEvent'> = {},
  listeners: MlJobListeners = {},
  after?: (outcome: TrainOutcome, ctx: JobContext) => Promise<A>,
): JobHandle<TrainingJobResult<A>> {
  return queue.submit(
    'train',
    async (ctx) => {
      // Training takes 90 % of the bar; evaluating the candidate the rest.
      const outcome = await trainInProject(store, { ...opts, signal: ctx.signal, onEvent: progressOf(ctx, listeners, { from: 0, to: after ? 0.9 : 1 }) });
      const a = after && outcome.model && !ctx.signal.aborted ? await after(outcome, ctx) : null;
      return { outcome, after: a };
    },
    { exclusive: true },
  );
}

export function submitPrediction(queue: JobQueue, store: ProjectStore, opts: Omit<PredictInProjectOptions, 'signal' | 'onEvent'> = {}, listeners: MlJobListeners = {}): JobHandle<PredictInProjectResult> {
  return queue.submit('predict', (ctx) => predictInProject(store, { ...opts, signal: ctx.signal, onEvent: progressOf(ctx, listeners) }), { exclusive: true });
}

/** Runs a prediction inside an already running job (the caller owns the compute). */
export function predictWithin(ctx: JobContext, store: ProjectStore, opts: Omit<PredictInProjectOptions, 'signal' | 'onEvent'>, scale: { from: number; to: number }): Promise<PredictInProjectResult> {
  return predictInProject(store, { ...opts, signal: ctx.signal, onEvent: progressOf(ctx, {}, scale) });
}
