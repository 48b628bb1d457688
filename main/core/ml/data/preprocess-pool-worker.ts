// Entry of one preprocessing worker thread (started by preprocess-pool.ts): runs jobs one at a
// time and answers each with its result (typed arrays transferred, not copied) or its error as data.
import { parentPort } from 'node:worker_threads';
import { toErrorData } from '../../../../shared/errors';
import { runPoolJob, type PoolJob } from './preprocess-pool-job';

const port = parentPort;
if (!port) throw new Error('preprocess-pool-worker.ts runs only as a worker thread');
port.on('message', (job: PoolJob) => {
  runPoolJob(job).then(
    (result) => port.postMessage({ ok: true, result }, result.kind === 'memory' ? [...result.images.map((a) => a.buffer as ArrayBuffer), result.label.buffer as ArrayBuffer] : []),
    (err: unknown) => port.postMessage({ ok: false, index: job.index, error: toErrorData(err) }),
  );
});
port.postMessage({ ready: true });
