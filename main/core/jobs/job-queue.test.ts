import { describe, expect, it } from 'vitest';
import { estimateEta, JobQueue, type JobInfo } from './job-queue';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('JobQueue', () => {
  it('runs a job to done and streams progress with ETA', async () => {
    const q = new JobQueue();
    const seen: JobInfo[] = [];
    q.onDidChangeJob((j) => seen.push(j));
    const h = q.submit('demo', async (ctx) => {
      ctx.report({ fraction: 0.5, message: 'half', etaSeconds: 3 });
      return 42;
    });
    await expect(h.result).resolves.toBe(42);
    expect(seen.map((j) => j.status)).toEqual(['queued', 'running', 'running', 'done']);
    expect(seen[2]).toMatchObject({ progress: 0.5, message: 'half', etaSeconds: 3 });
    expect(q.get(h.id).status).toBe('done');
  });

  it('refuses a second exclusive (ML) job with BUSY while one runs, then accepts one after', async () => {
    const q = new JobQueue({ busy: 'reject' });
    const gate = deferred();
    const first = q.submit('train', () => gate.promise, { exclusive: true });
    expect(q.mlOwnerId).toBe(first.id);
    expect(() => q.submit('train', async () => undefined, { exclusive: true })).toThrow(expect.objectContaining({ code: 'BUSY' }));
    // non-exclusive work is not blocked
    await expect(q.submit('import', async () => 'ok').result).resolves.toBe('ok');
    gate.resolve();
    await first.result;
    expect(q.mlOwnerId).toBeNull();
    await expect(q.submit('train', async () => 1, { exclusive: true }).result).resolves.toBe(1);
  });

  it('queues exclusive jobs one after the other under the queue policy', async () => {
    const q = new JobQueue({ busy: 'queue' });
    const order: string[] = [];
    const gate = deferred();
    const a = q.submit('a', async () => {
      order.push('a-start');
      await gate.promise;
      order.push('a-end');
    }, { exclusive: true });
    const b = q.submit('b', async () => {
      order.push('b-start');
    }, { exclusive: true });
    expect(q.get(b.id).status).toBe('queued');
    gate.resolve();
    await Promise.all([a.result, b.result]);
    expect(order).toEqual(['a-start', 'a-end', 'b-start']);
  });

  it('cancels a running job through its signal and a queued one before it starts', async () => {
    const q = new JobQueue({ busy: 'queue' });
    const running = q.submit('train', (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())), { exclusive: true });
    const queued = q.submit('train', async () => 'never', { exclusive: true });
    q.cancel(queued.id);
    q.cancel(running.id);
    await expect(running.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    await expect(queued.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(q.get(running.id).status).toBe('cancelled');
    expect(q.get(queued.id).status).toBe('cancelled');
    expect(q.mlOwnerId).toBeNull();
  });

  it('reports a failing job with its error code', async () => {
    const q = new JobQueue();
    const { SegloopError } = await import('../../../shared/errors');
    const h = q.submit('x', async () => {
      throw new SegloopError('TRAINING_FAILED', 'boom');
    });
    await expect(h.result).rejects.toMatchObject({ code: 'TRAINING_FAILED' });
    expect(q.get(h.id)).toMatchObject({ status: 'failed', error: { code: 'TRAINING_FAILED', message: 'boom' } });
    expect(() => q.get('nope')).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }));
  });

  it('estimates ETA linearly', () => {
    expect(estimateEta(10, 0.25)).toBeCloseTo(30);
    expect(estimateEta(10, 0)).toBeNull();
  });
});
