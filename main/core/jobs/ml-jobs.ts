// Training and prediction as queue jobs (for the app and the server): exclusive, so only one
// ML job owns the CPU/GPU at a time (the queue's policy decides between BUSY and waiting), with
// the worker's progress, ETA and epoch metrics turned into job progress updates.
import type { ProjectStore } from '../project';
import type { EpochMetrics, TaskEvent } from '../worker/protocol';
import type { JobHandle, JobQueue } from './job-queue';
import { predictInProject, type PredictInProjectOptions, type PredictInProjectResult } from './predict-job';
import { trainInProject, type TrainInProjectOptions, type TrainOutcome } from './train-job';

export interface MlJobListeners {
  onEpoch?: (jobId: string, metrics: EpochMetrics) => void;
  onEvent?: (jobId: string, event: TaskEvent) => void;
}

export function submitTraining(queue: JobQueue, store: ProjectStore, opts: Omit<TrainInProjectOptions, 'signal' | 'onEvent'> = {}, listeners: MlJobListeners = {}): JobHandle<TrainOutcome> {
  return queue.submit(
    'train',
    (ctx) =>
      trainInProject(store, {
        ...opts,
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === 'progress') ctx.report({ fraction: e.fraction, message: e.message, etaSeconds: e.etaSeconds });
          if (e.type === 'epoch') listeners.onEpoch?.(ctx.id, e.metrics);
          listeners.onEvent?.(ctx.id, e);
        },
      }),
    { exclusive: true },
  );
}

export function submitPrediction(queue: JobQueue, store: ProjectStore, opts: Omit<PredictInProjectOptions, 'signal' | 'onEvent'> = {}, listeners: MlJobListeners = {}): JobHandle<PredictInProjectResult> {
  return queue.submit(
    'predict',
    (ctx) =>
      predictInProject(store, {
        ...opts,
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === 'progress') ctx.report({ fraction: e.fraction, message: e.message, etaSeconds: e.etaSeconds });
          listeners.onEvent?.(ctx.id, e);
        },
      }),
    { exclusive: true },
  );
}
