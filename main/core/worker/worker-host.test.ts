import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWorkerTask } from './worker-host';

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-entry.ts');

describe('worker child process', () => {
  it('runs a task in a child process and streams validated progress', async () => {
    const events: unknown[] = [];
    let pid = 0;
    const result = await runWorkerTask('steps', { steps: 3 }, { entry, onEvent: (e) => events.push(e), onReady: (p) => (pid = p) });
    expect(result).toEqual({ stoppedAt: 3 });
    expect(pid).not.toBe(process.pid);
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({ type: 'progress', fraction: 1 });
  });

  it('passes a task error through with its code', async () => {
    await expect(runWorkerTask('fail', {}, { entry })).rejects.toMatchObject({ code: 'NO_TRAINING_DATA', message: 'nothing to train on' });
    await expect(runWorkerTask('nope', {}, { entry })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports a crash (non-zero exit) as WORKER_CRASHED', async () => {
    await expect(runWorkerTask('crash', {}, { entry })).rejects.toMatchObject({ code: 'WORKER_CRASHED', details: { exitCode: 7 } });
  });

  it('reports SIGKILL of the child as WORKER_CRASHED naming the signal', async () => {
    const p = runWorkerTask('hang', {}, { entry, onReady: (pid) => setTimeout(() => process.kill(pid, 'SIGKILL'), 100) });
    await expect(p).rejects.toMatchObject({ code: 'WORKER_CRASHED', message: expect.stringMatching(/SIGKILL/) });
  });

  it('cancel stops a cooperative task, and kills a stuck one after the grace period', async () => {
    const ac = new AbortController();
    const p = runWorkerTask('steps', { steps: 1000 }, { entry, signal: ac.signal, onEvent: () => ac.abort() });
    // The cooperative task returns early; the caller still learns it was cancelled via its signal.
    await expect(p).resolves.toMatchObject({ stoppedAt: expect.any(Number) });
    const ac2 = new AbortController();
    const p2 = runWorkerTask('hang', {}, { entry, signal: ac2.signal, cancelGraceMs: 200, onReady: () => setTimeout(() => ac2.abort(), 50) });
    await expect(p2).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
  });

  it('rejects a malformed message from the child', async () => {
    // parent side: the child process is killed and the error names the problem
    await expect(runWorkerTask('raw', {}, { entry })).rejects.toMatchObject({ code: 'INTERNAL_ERROR', message: expect.stringMatching(/malformed/) });
    // child side: a task emitting an invalid event fails instead of sending it
    await expect(runWorkerTask('bad', {}, { entry })).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });
});
