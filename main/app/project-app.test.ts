// Handlers of the contract on a real project: the labelling queue order, uncertainty shown in the
// cases table, and label saves that refuse bad input without writing anything.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestProject } from '../../tests/e2e/test-project';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

let dir = '';
let app: ProjectApp;

beforeEach(async () => {
  ({ dir } = await makeTestProject({ labelled: 2 }));
  app = await openProjectApp(dir, { transport: 'ipc', author: 'unit' });
});
afterEach(() => {
  app.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const gz = (v: Uint8Array) => zlib.gzipSync(v).toString('base64');
const labelFiles = () => (readdirSync(path.join(dir, 'labels'), { recursive: true }) as string[]).filter((f) => f.endsWith('.nii.gz')).sort();

describe('project app handlers', () => {
  it('queues unlabelled pool cases in id order until something is scored', async () => {
    expect(await app.handlers['cases:next']({})).toEqual({ imageId: '3', reason: 'Next unlabelled case.' });
    expect((await app.handlers['cases:next']({ afterImageId: '3' })).imageId).toBe('4');
  });

  it('puts the latest AL round first, and shows its scores as uncertainty', async () => {
    app.store.alRounds.create({ strategy: 'entropy', selected: [1, 6, 5], scores: { '5': 0.42, '6': { meanEntropy: 0.9 }, '1': 0.1 } });
    const next = await app.handlers['cases:next']({});
    // Image 1 is labelled already, so the round's next pick is 6.
    expect(next.imageId).toBe('6');
    expect(next.reason).toMatch(/active-learning round .*entropy/);
    const rows = (await app.handlers['cases:list']({})).rows;
    expect(rows.find((r) => r.imageId === '6')?.uncertainty).toBe(0.9);
    expect(rows.find((r) => r.imageId === '5')?.uncertainty).toBe(0.42);
    expect(rows.find((r) => r.imageId === '4')?.uncertainty).toBeNull();
  });

  it('says when nothing is left to label', async () => {
    for (let id = 3; id <= 8; id++) {
      const [X, Y, Z] = app.store.images.require(id).shape;
      await app.handlers['labels:save']({ imageId: String(id), parentVersionId: null, voxelsGzBase64: gz(new Uint8Array(X * Y * Z)), secondsSpent: 1, source: 'manual' });
    }
    expect(await app.handlers['cases:next']({})).toEqual({ imageId: null, reason: 'Every case has a label: nothing left to label.' });
  });

  it('counts a first label against an empty parent and chains versions', async () => {
    const [X, Y, Z] = app.store.images.require(3).shape;
    const v = new Uint8Array(X * Y * Z);
    v.fill(1, 100, 150);
    const first = await app.handlers['labels:save']({ imageId: '3', parentVersionId: null, voxelsGzBase64: gz(v), secondsSpent: 3, source: 'manual' });
    expect(first.voxelsChanged).toBe(50);
    v.fill(2, 140, 160);
    const second = await app.handlers['labels:save']({ imageId: '3', parentVersionId: first.version.id, voxelsGzBase64: gz(v), secondsSpent: 2, source: 'ai_edited' });
    expect(second.voxelsChanged).toBe(20);
    expect(second.version).toMatchObject({ parentId: first.version.id, source: 'ai_edited', author: 'unit' });
    const list = (await app.handlers['labels:list']({ imageId: '3' })).versions;
    expect(list.map((x) => x.id)).toEqual([first.version.id, second.version.id]);
  });

  it('refuses a wrong-size label, an unknown parent, a 4 GB gzip bomb and bad ids through dispatch, writing nothing', async () => {
    const before = labelFiles();
    const rowsBefore = app.store.labelVersions.count();
    const [X, Y, Z] = app.store.images.require(3).shape;
    const bomb = zlib.gzipSync(Buffer.alloc(8 * X * Y * Z)).toString('base64');
    const cases: [unknown, string][] = [
      [{ imageId: '3', parentVersionId: null, voxelsGzBase64: gz(new Uint8Array(X * Y * Z - 1)), secondsSpent: 1 }, 'LABEL_GEOMETRY_MISMATCH'],
      [{ imageId: '3', parentVersionId: '99', voxelsGzBase64: gz(new Uint8Array(X * Y * Z)), secondsSpent: 1 }, 'LABEL_VERSION_NOT_FOUND'],
      [{ imageId: '3', parentVersionId: null, voxelsGzBase64: bomb, secondsSpent: 1 }, 'VALIDATION_FAILED'],
      [{ imageId: '0', parentVersionId: null, voxelsGzBase64: gz(new Uint8Array(1)), secondsSpent: 1 }, 'IMAGE_NOT_FOUND'],
      [{ imageId: '3', parentVersionId: null, voxelsGzBase64: gz(new Uint8Array(1)), secondsSpent: -5 }, 'VALIDATION_FAILED'],
      [{ imageId: '3', parentVersionId: null, voxelsGzBase64: gz(new Uint8Array(1)), secondsSpent: 1, source: 'pseudo' }, 'VALIDATION_FAILED'],
    ];
    for (const [input, code] of cases) {
      const res = await dispatch(app.handlers, 'labels:save', input);
      expect(res).toMatchObject({ ok: false, error: { code } });
      if (!res.ok) expect(res.error.message.length).toBeGreaterThan(10);
    }
    expect(labelFiles()).toEqual(before);
    expect(app.store.labelVersions.count()).toBe(rowsBefore);
  });
});
