// A worker entry with small diagnostic tasks, used by the worker tests (and `segloop doctor`
// could use it to check that child processes start). Production work uses worker-entry.ts.
import { SegloopError } from '../../../shared/errors';
import { runWorkerMain } from './worker-main';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

runWorkerMain({
  async echo(params) {
    return params;
  },
  async steps(params, ctx) {
    const n = (params as { steps?: number }).steps ?? 5;
    for (let i = 0; i < n; i++) {
      if (ctx.signal.aborted) return { stoppedAt: i };
      ctx.emit({ type: 'progress', fraction: (i + 1) / n, message: `step ${i + 1}/${n}`, etaSeconds: null });
      await sleep(50);
    }
    return { stoppedAt: n };
  },
  async fail() {
    throw new SegloopError('NO_TRAINING_DATA', 'nothing to train on');
  },
  async crash() {
    process.exit(7);
  },
  async hang() {
    await sleep(1e9);
  },
  async raw() {
    // Bypasses the child-side check to exercise the parent's validation.
    process.send?.({ type: 'progress', fraction: 'lots' });
    await sleep(1e9);
  },
  async bad(_params, ctx) {
    ctx.emit({ type: 'progress', fraction: 2, message: 'out of range', etaSeconds: null });
  },
});
