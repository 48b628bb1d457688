// segmentStatus:get / segmentStatus:list and labels:save carrying statuses, through the dispatcher
// both transports use (so the wire schemas are part of the test): what an imported label shows
// (the older rule), what a save records, and bad input refused at the edge with nothing saved.
import { rmSync } from 'node:fs';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestProject } from '../../tests/e2e/test-project';
import type { OperationName, OpOutput } from '../../shared/contract';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

let dir = '';
let app: ProjectApp;
beforeEach(async () => {
  ({ dir } = await makeTestProject({ labelled: 1 }));
  app = await openProjectApp(dir, { transport: 'http', author: 'ana' });
});
afterEach(() => {
  app.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A label of image `imageId` with 40 voxels of class 1 (and none of class 2). */
function voxels(imageId: string): string {
  const img = app.store.images.require(Number(imageId));
  const v = new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2]);
  for (let i = 0; i < 40; i++) v[1000 + i] = 1;
  return zlib.gzipSync(v).toString('base64');
}

async function call<N extends OperationName>(name: N, input: unknown): Promise<{ ok: boolean; value: OpOutput<N>; error?: { code: string; message: string } }> {
  const r = await dispatch(app.handlers, name, input);
  return r.ok ? { ok: true, value: r.value as OpOutput<N> } : { ok: false, value: undefined as never, error: r.error };
}

describe('segment status ops', () => {
  it('shows an imported label by the older rule and records statuses saved with a label', async () => {
    // Image 1 has an imported label (untracked: counted complete), image 2 none.
    const imported = await call('segmentStatus:get', { imageId: '1' });
    expect(imported.ok).toBe(true);
    expect(imported.value.tracked).toBe(false);
    expect(imported.value.classes.map((c) => [c.name, c.status, c.explicit])).toEqual([
      ['anterior hippocampus', 'done', false],
      ['posterior hippocampus', 'done', false],
    ]);
    const none = await call('segmentStatus:get', { imageId: '2' });
    expect(none.value).toMatchObject({ labelVersionId: null, tracked: false, history: [] });
    expect(none.value.classes.map((c) => c.status)).toEqual(['not_started', 'not_started']);

    const saved = await call('labels:save', {
      imageId: '2',
      parentVersionId: null,
      voxelsGzBase64: voxels('2'),
      secondsSpent: 4,
      segmentStatus: [{ classIndex: 2, status: 'flagged', note: 'motion artefact' }],
    });
    expect(saved.ok).toBe(true);
    const got = await call('segmentStatus:get', { imageId: '2' });
    expect(got.value.labelVersionId).toBe(saved.value.version.id);
    expect(got.value.tracked).toBe(true);
    // Class 1 was painted and left out of the list: done by default.
    expect(got.value.classes.map((c) => [c.classIndex, c.status, c.note, c.author])).toEqual([
      [1, 'done', null, 'ana'],
      [2, 'flagged', 'motion artefact', 'ana'],
    ]);

    const second = await call('labels:save', {
      imageId: '2',
      parentVersionId: saved.value.version.id,
      voxelsGzBase64: voxels('2'),
      secondsSpent: 1,
      segmentStatus: [
        { classIndex: 1, status: 'done' },
        { classIndex: 2, status: 'done' },
      ],
    });
    expect(second.ok).toBe(true);
    expect(second.value.voxelsChanged).toBe(0);
    const list = await call('segmentStatus:list', {});
    const row2 = list.value.rows.find((r) => r.imageId === '2');
    expect(row2).toEqual({
      imageId: '2',
      labelVersionId: second.value.version.id,
      tracked: true,
      classes: [
        { classIndex: 1, status: 'done', note: null, explicit: true },
        { classIndex: 2, status: 'done', note: null, explicit: true },
      ],
    });
    // The first version's statuses are still there, for the history.
    const old = await call('segmentStatus:get', { imageId: '2', labelVersionId: saved.value.version.id });
    expect(old.value.classes.map((c) => c.status)).toEqual(['done', 'flagged']);
    expect(old.value.history).toHaveLength(4);
  });

  it('refuses an unknown status and a class outside the schema, saving nothing', async () => {
    const before = app.store.labelVersions.count();
    const unknown = await call('labels:save', { imageId: '2', parentVersionId: null, voxelsGzBase64: voxels('2'), secondsSpent: 1, segmentStatus: [{ classIndex: 1, status: 'complete' }] });
    expect(unknown.ok).toBe(false);
    expect(unknown.error?.code).toBe('VALIDATION_FAILED');
    expect(unknown.error?.message).toContain('Unknown segment status "complete": use one of not_started, in_progress, done, flagged');
    const outside = await call('labels:save', { imageId: '2', parentVersionId: null, voxelsGzBase64: voxels('2'), secondsSpent: 1, segmentStatus: [{ classIndex: 9, status: 'done' }] });
    expect(outside.error?.code).toBe('LABEL_OUT_OF_SCHEMA');
    const twice = await call('labels:save', {
      imageId: '2',
      parentVersionId: null,
      voxelsGzBase64: voxels('2'),
      secondsSpent: 1,
      segmentStatus: [
        { classIndex: 1, status: 'done' },
        { classIndex: 1, status: 'flagged' },
      ],
    });
    expect(twice.error?.code).toBe('VALIDATION_FAILED');
    expect(app.store.labelVersions.count()).toBe(before);
    const wrongImage = await call('segmentStatus:get', { imageId: '2', labelVersionId: '1' });
    expect(wrongImage.error?.code).toBe('LABEL_VERSION_NOT_FOUND');
  });
});
