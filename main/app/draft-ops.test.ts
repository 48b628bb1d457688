// Unsaved-stroke drafts on a real project: saved atomically inside the project, checked like a real
// save, offered back (stale when a newer version exists), kept across a reopen (the crash case),
// removed only on request, refused on a read-only project.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestProject } from '../../tests/e2e/test-project';
import { failure } from '../../tests/expect-failure';
import { ProjectStore } from '../core/project/project-store';
import { DRAFTS_DIR, draftOps } from './draft-ops';
import { openProjectApp, type ProjectApp } from './project-app';

let dir = '';
let app: ProjectApp;
beforeEach(async () => {
  ({ dir } = await makeTestProject({ labelled: 1 }));
  app = await openProjectApp(dir, { transport: 'ipc', author: 'drafter' });
});
afterEach(() => {
  app.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function voxelsFor(imageId: string, value = 1): { base64: string; n: number } {
  const img = app.store.images.require(Number(imageId));
  const n = img.shape[0] * img.shape[1] * img.shape[2];
  const v = new Uint8Array(n);
  for (let i = 0; i < 50; i++) v[i * 7] = value;
  return { base64: zlib.gzipSync(v).toString('base64'), n };
}

describe('unsaved-stroke drafts', () => {
  it('keeps a draft across a crash (reopen), offers it back, and removes it only on request', async () => {
    const unlabelled = '3';
    const { base64 } = voxelsFor(unlabelled);
    const h = app.handlers;
    expect(await h['labels:draftGet']({ imageId: unlabelled })).toEqual({ draft: null, voxelsGzBase64: null });
    await h['labels:draftSave']({ imageId: unlabelled, parentVersionId: null, voxelsGzBase64: base64, changedVoxels: 50, secondsSpent: 12.5 });
    expect(readdirSync(path.join(dir, DRAFTS_DIR))).toEqual(['image-3.json']);
    // the window or the app dies here: a new app on the same folder finds the draft
    app.dispose();
    app = await openProjectApp(dir, { transport: 'ipc', author: 'drafter' });
    const got = await app.handlers['labels:draftGet']({ imageId: unlabelled });
    expect(got.draft).toMatchObject({ imageId: '3', parentVersionId: null, changedVoxels: 50, secondsSpent: 12.5, author: 'drafter', stale: false });
    expect(got.voxelsGzBase64).toBe(base64);
    // recovery on open never touches .segloop/drafts
    expect(existsSync(path.join(dir, DRAFTS_DIR, 'image-3.json'))).toBe(true);
    expect(await app.handlers['labels:draftDiscard']({ imageId: unlabelled })).toEqual({ discarded: true });
    expect((await app.handlers['labels:draftGet']({ imageId: unlabelled })).draft).toBeNull();
    expect(await app.handlers['labels:draftDiscard']({ imageId: unlabelled })).toEqual({ discarded: false });
  });

  it('marks a draft stale once a newer version of the label was saved', async () => {
    const labelled = app.store.labelVersions.latestPerImage()[0];
    const imageId = String(labelled.imageId);
    const { base64 } = voxelsFor(imageId);
    await app.handlers['labels:draftSave']({ imageId, parentVersionId: String(labelled.id), voxelsGzBase64: base64, changedVoxels: 3, secondsSpent: 1 });
    expect((await app.handlers['labels:draftGet']({ imageId })).draft?.stale).toBe(false);
    await app.handlers['labels:save']({ imageId, parentVersionId: String(labelled.id), voxelsGzBase64: voxelsFor(imageId, 2).base64, secondsSpent: 2, source: 'manual' });
    expect((await app.handlers['labels:draftGet']({ imageId })).draft?.stale).toBe(true);
  });

  it('checks a draft like a save: wrong size, values outside the schema, foreign parent, unknown image', async () => {
    const h = app.handlers;
    const tooShort = zlib.gzipSync(new Uint8Array(10)).toString('base64');
    expect((await failure(h['labels:draftSave']({ imageId: '3', parentVersionId: null, voxelsGzBase64: tooShort, changedVoxels: 0, secondsSpent: 0 }))).code).toBe('LABEL_GEOMETRY_MISMATCH');
    expect((await failure(h['labels:draftSave']({ imageId: '3', parentVersionId: null, voxelsGzBase64: voxelsFor('3', 99).base64, changedVoxels: 0, secondsSpent: 0 }))).code).toBe('LABEL_OUT_OF_SCHEMA');
    const other = app.store.labelVersions.latestPerImage()[0];
    expect((await failure(h['labels:draftSave']({ imageId: '3', parentVersionId: String(other.id), voxelsGzBase64: voxelsFor('3').base64, changedVoxels: 0, secondsSpent: 0 }))).code).toBe('LABEL_VERSION_NOT_FOUND');
    expect((await failure(h['labels:draftGet']({ imageId: '999' }))).code).toBe('IMAGE_NOT_FOUND');
    expect(existsSync(path.join(dir, DRAFTS_DIR))).toBe(false);
  });

  it('refuses to write a draft into a project opened read-only', async () => {
    app.dispose();
    const ro = await ProjectStore.open(dir, { readOnly: true });
    try {
      const ops = draftOps({ store: ro, author: 'x' });
      const img = ro.images.require(3);
      const v = zlib.gzipSync(new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2])).toString('base64');
      expect((await failure(ops['labels:draftSave']({ imageId: '3', parentVersionId: null, voxelsGzBase64: v, changedVoxels: 0, secondsSpent: 0 }))).code).toBe('PROJECT_READ_ONLY');
    } finally {
      ro.close();
      app = await openProjectApp(dir, { transport: 'ipc', author: 'drafter' });
    }
  });
});
