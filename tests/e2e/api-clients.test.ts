// One interface, two transports: the same checks run against the IPC client (over a bridge that
// dispatches like main/electron does) and the HTTP client (over a real `startServer`), both on
// the same project. Screens only see ApiClient, so both must behave identically.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRequest } from '../../shared/contract';
import { SegloopError, toErrorData } from '../../shared/errors';
import { dispatch, parseFileRequest } from '../../main/app/dispatch';
import { openProjectApp, type ProjectApp } from '../../main/app/project-app';
import { startServer, type RunningServer } from '../../main/server/server';
import type { ApiClient, SegloopBridge } from '../../renderer/src/api/api-client';
import { HttpApiClient } from '../../renderer/src/api/http-client';
import { IpcApiClient } from '../../renderer/src/api/ipc-client';
import { makeTestProject } from './test-project';

let dir = '';
let app: ProjectApp;
let server: RunningServer;

/** What main/electron/main.ts does for the two channels, minus Electron itself. */
function bridgeFor(api: ProjectApp): SegloopBridge {
  return {
    invoke: (name, input) => dispatch(api.handlers, name, structuredClone(input)),
    async readFile(req: FileRequest) {
      try {
        const file = await api.resolveFile(parseFileRequest(req));
        return { ok: true, value: new Uint8Array(readFileSync(file.absPath)) };
      } catch (err) {
        return { ok: false, error: toErrorData(err) };
      }
    },
    onEvent: (l) => api.onEvent(l),
  };
}

beforeAll(async () => {
  ({ dir } = await makeTestProject({ labelled: 1 }));
  app = await openProjectApp(dir, { transport: 'http', author: 'clients' });
  server = await startServer({ api: app });
});
afterAll(async () => {
  await server?.close();
  app?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const clients: [string, () => ApiClient][] = [
  ['IPC', () => new IpcApiClient(bridgeFor(app))],
  ['HTTP', () => new HttpApiClient(server.url, server.token)],
];

describe.each(clients)('%s ApiClient', (_name, make) => {
  it('calls operations and returns validated values', async () => {
    const api = make();
    const info = await api.call('project:info', {});
    expect(info).toMatchObject({ name: 'E2E hippocampus', images: 8, labelledImages: 1 });
    const { rows } = await api.call('cases:list', {});
    expect(rows.map((r) => r.labelStatus)).toEqual(['labelled', ...Array(7).fill('unlabelled')]);
    const schema = await api.call('labelSchema:get', {});
    expect(schema.labels.map((l) => l.name)).toContain('anterior hippocampus');
  });

  it('reads the exact stored bytes of image and label files', async () => {
    const api = make();
    const bytes = new Uint8Array(await api.readFile({ kind: 'image', id: '1' }));
    expect(Buffer.compare(Buffer.from(bytes), readFileSync(path.join(dir, app.store.images.require(1).path)))).toBe(0);
    const lv = (await api.call('labels:list', { imageId: '1' })).versions[0];
    const label = new Uint8Array(await api.readFile({ kind: 'label', id: lv.id }));
    expect(label[0]).toBe(0x1f);
  });

  it('turns error envelopes back into SegloopError with the same code', async () => {
    const api = make();
    await expect(api.call('images:get', { imageId: '999' })).rejects.toMatchObject({ name: 'SegloopError', code: 'IMAGE_NOT_FOUND' });
    const bad = api.call('images:get', { imageId: '../1' } as never);
    await expect(bad).rejects.toBeInstanceOf(SegloopError);
    await expect(bad).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(api.readFile({ kind: 'label', id: '999' })).rejects.toMatchObject({ code: 'LABEL_VERSION_NOT_FOUND' });
  });
});

describe.each(clients)('%s ApiClient: the loop operations', (_name, make) => {
  it('plans training, lists models/predictions/rounds, refuses bad review input and reads prediction files', async () => {
    const api = make();
    const plan = await api.call('training:plan', {});
    expect(plan.options.patchSize.length).toBe(2);
    expect(plan.data.trainable).toBe(1);
    expect(plan.reasons.some((r) => r.field === 'architecture')).toBe(true);
    const models = await api.call('models:list', {});
    expect(models.settings).toMatchObject({ tolerance: expect.any(Number), margin: expect.any(Number) });
    expect((await api.call('training:runs', {})).runs).toEqual([]);
    expect((await api.call('predictions:list', {})).predictions).toEqual([]);
    expect((await api.call('al:strategies', {})).strategies.length).toBeGreaterThan(0);
    expect(Array.isArray((await api.call('al:rounds', {})).rounds)).toBe(true);
    await expect(api.call('reviews:submit', { decision: 'accept', predictionId: '999', secondsSpent: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(api.call('models:promote', { modelId: '999' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(api.call('predictions:run', { target: 'unlabelled', tta: true })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(api.call('training:cancel', { jobId: 'nope' })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    await expect(api.readFile({ kind: 'prediction', id: '999' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('job events through the IPC client', () => {
  it('delivers progress of a job and lets the UI cancel it', async () => {
    const api = new IpcApiClient(bridgeFor(app));
    const seen: string[] = [];
    const off = api.onEvent((m) => m.event === 'jobs:progress' && seen.push(`${m.payload.status}:${m.payload.progress}`));
    const handle = app.jobs.submit('demo', async (ctx) => {
      ctx.report({ fraction: 0.5, message: 'half way' });
      await new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    await expect.poll(() => seen).toContain('running:0.5');
    const listed = await api.call('jobs:list', {});
    expect(listed.jobs.map((j) => j.id)).toContain(handle.id);
    const cancelling = await api.call('jobs:cancel', { jobId: handle.id });
    expect(cancelling.message).toMatch(/Cancel/);
    await expect(handle.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect((await api.call('jobs:get', { jobId: handle.id })).status).toBe('cancelled');
    expect(seen.at(-1)).toMatch(/^cancelled:/);
    await expect(api.call('jobs:get', { jobId: 'nope' })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    off();
  });
});
