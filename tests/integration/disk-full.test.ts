// A full disk on every write path (issue 10): the project lives on a real tmpfs of a few MB that is
// filled to the last page; then a label save, a draft save, a split, an import, a model's weights,
// a training checkpoint and an evaluation report are each attempted. Each must answer DISK_FULL
// with a clear message, leave the database consistent (same rows, integrity ok), keep every
// previous label file byte for byte, and leave no half-written file behind (no temp files, no
// unreferenced files in the managed folders). Needs `mount -t tmpfs` (root, as in CI); where the
// mount is refused the suite is SKIPPED with the reason printed, never passed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../main/app/dispatch';
import { openProjectApp, type ProjectApp } from '../../main/app/project-app';
import { writeExternalReport } from '../../main/core/evaluation/external-report';
import { saveCheckpoint } from '../../main/core/ml/trainer-checkpoint';
import { ProjectStore } from '../../main/core/project';
import { importStudy } from '../../main/core/project/import/importer';
import { findStrayFiles } from '../../main/core/project/recovery';
import { failure } from '../expect-failure';
import { copyLabelledDemoCases, DEMO } from './helpers/demo-labelled';

const TMPFS_SIZE = '12m';

function tryMount(): { mountPoint: string | null; reason: string } {
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'segloop-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    return { mountPoint, reason: '' };
  } catch (err) {
    rmSync(mountPoint, { recursive: true, force: true });
    return { mountPoint: null, reason: `mount -t tmpfs refused (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}); run as root to test a full disk` };
  }
}

const mount = tryMount();
if (!mount.mountPoint) console.warn(`disk-full tests SKIPPED: ${mount.reason}`);

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe.skipIf(mount.mountPoint === null)(`full disk on every write path (tmpfs ${TMPFS_SIZE})`, () => {
  const root = mount.mountPoint as string;
  const dir = path.join(root, 'p');
  const filler = path.join(root, 'filler');
  const reportFile = path.join(root, 'report.html');
  const runDir = path.join(dir, 'runs', 'ckpt-test');
  let app: ProjectApp;
  let demo: { images: string; labels: string; schema: string };
  let modelId: number;
  let before: { labelFiles: Map<string, string>; counts: Record<string, number>; report: string; latest: string };

  const counts = (store: ProjectStore): Record<string, number> => {
    const n = (t: string): number => (store.database.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return Object.fromEntries(['patients', 'images', 'label_versions', 'models', 'training_runs', 'audit_log'].map((t) => [t, n(t)]));
  };

  /** Takes every free page of the tmpfs (big chunks, then smaller ones, down to one byte). */
  const fillDisk = (): void => {
    const fd = openSync(filler, 'a');
    try {
      for (const size of [1 << 20, 1 << 16, 4096, 1]) {
        const chunk = Buffer.alloc(size, 7);
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if ((err as { code?: string }).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  };

  beforeAll(async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-full-src-'));
    demo = await copyLabelledDemoCases(tmp);
    (await ProjectStore.create(dir, { name: 'full' })).close();
    const store = await ProjectStore.open(dir);
    try {
      await importStudy(store, { images: demo.images, labels: demo.labels, schemaFile: demo.schema });
    } finally {
      store.close();
    }
    app = await openProjectApp(dir, { transport: 'http' });
    modelId = app.store.models.create({ architecture: 'unet2d', config: {} }).id;
    // A complete checkpoint and a report exist before the disk fills: both must survive.
    const state = { epoch: 1, stepInEpoch: 0, globalStep: 10, trainSeconds: 1, seed: 1, bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, history: [], meta: {}, configKey: 'k' };
    await saveCheckpoint(runDir, state as unknown as Parameters<typeof saveCheckpoint>[1], new Uint8Array(1000).fill(1), { bytes: new Uint8Array(100), names: [], shapes: [] }, null);
    await writeExternalReport(dir, reportFile, [app.store.models.require(modelId)], [{ id: 'a', pred: path.join(demo.labels, readdirSync(demo.labels)[0]), ref: path.join(demo.labels, readdirSync(demo.labels)[0]) }], [1, 2]);
    // Empty WAL: the next write must grow a file, as it would on a disk that filled up over time.
    app.store.checkpoint();
    const labelFiles = new Map(app.store.database.prepare('SELECT path FROM label_versions').all().map((r) => [(r as { path: string }).path, sha(path.join(dir, (r as { path: string }).path))]));
    before = { labelFiles, counts: counts(app.store), report: sha(reportFile), latest: readFileSync(path.join(runDir, 'checkpoint', 'latest.json'), 'utf8') };
    fillDisk();
  }, 120_000);

  afterAll(() => {
    try {
      app?.dispose();
    } finally {
      execFileSync('umount', ['-l', root]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  const expectDiskFull = (err: { code: string; message: string }): void => {
    expect(err.code).toBe('DISK_FULL');
    expect(err.message).toMatch(/disk is full/i);
    expect(err.message).toMatch(/nothing was saved/i);
  };

  const expectUnchanged = async (): Promise<void> => {
    expect(counts(app.store)).toEqual(before.counts);
    for (const [rel, hash] of before.labelFiles) expect(sha(path.join(dir, rel)), rel).toBe(hash);
    const stray = await findStrayFiles(dir, app.store.database);
    expect(stray).toEqual({ temp: [], orphans: [], missing: [] });
    const tempAnywhere = execFileSync('find', [root, '-name', '*.segloop-tmp-*'], { encoding: 'utf8' }).trim();
    expect(tempAnywhere).toBe('');
  };

  it('the tmpfs is really full', () => {
    expect(() => {
      const fd = openSync(path.join(root, 'probe'), 'w');
      try {
        writeSync(fd, Buffer.from('x'));
      } finally {
        closeSync(fd);
      }
    }).toThrow(/ENOSPC/);
    rmSync(path.join(root, 'probe'), { force: true });
  });

  it('labels:save → DISK_FULL, previous label files intact, no stray file', async () => {
    const img = app.store.images.list()[0];
    const parent = app.store.labelVersions.latestForImage(img.id);
    const voxels = new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2]);
    voxels.fill(1, 0, 500);
    const r = await dispatch(app.handlers, 'labels:save', { imageId: String(img.id), parentVersionId: parent ? String(parent.id) : null, voxelsGzBase64: gzipSync(voxels).toString('base64'), secondsSpent: 3, source: 'manual' });
    expect(r.ok).toBe(false);
    if (!r.ok) expectDiskFull(r.error);
    await expectUnchanged();
  });

  it('labels:draftSave → DISK_FULL, no draft file left', async () => {
    const img = app.store.images.list()[1];
    const parent = app.store.labelVersions.latestForImage(img.id);
    const voxels = new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2]);
    const r = await dispatch(app.handlers, 'labels:draftSave', { imageId: String(img.id), parentVersionId: parent ? String(parent.id) : null, voxelsGzBase64: gzipSync(voxels).toString('base64'), changedVoxels: 0, secondsSpent: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expectDiskFull(r.error);
    const drafts = path.join(dir, '.segloop', 'drafts');
    expect(existsSync(drafts) ? readdirSync(drafts) : []).toEqual([]);
    await expectUnchanged();
  });

  it('splits:create → DISK_FULL (the SQLite write maps to it), no split recorded', async () => {
    const r = await dispatch(app.handlers, 'splits:create', { test: 0.2, val: 0.2, seed: 1, stratifyBy: null });
    expect(r.ok).toBe(false);
    if (!r.ok) expectDiskFull(r.error);
    expect(app.store.images.list().every((i) => i.split === null)).toBe(true);
    await expectUnchanged();
  });

  it('import → DISK_FULL, no image added', async () => {
    const more = path.join(os.tmpdir(), `segloop-full-more-${process.pid}`);
    mkdirSync(more, { recursive: true });
    for (const f of readdirSync(path.join(DEMO, 'images'))) {
      if (!readdirSync(demo.labels).includes(f)) execFileSync('cp', [path.join(DEMO, 'images', f), more]);
    }
    expect(readdirSync(more).length).toBeGreaterThan(0);
    const err = await failure(importStudy(app.store, { images: more }));
    expectDiskFull(err);
    await expectUnchanged();
  });

  it('model weights → DISK_FULL, the model keeps no weights', async () => {
    const err = await failure(app.store.addModelWeightsFile(modelId, new Uint8Array(200_000).fill(3)));
    expectDiskFull(err);
    expect(app.store.models.require(modelId).weightsPath).toBeNull();
    expect(existsSync(path.join(dir, 'models', String(modelId)))).toBe(false);
    await expectUnchanged();
  });

  it('training checkpoint → DISK_FULL, latest.json still describes the complete previous checkpoint', async () => {
    const state = { epoch: 2, stepInEpoch: 0, globalStep: 20, trainSeconds: 2, seed: 1, bestMetric: null, bestEpoch: null, epochsWithoutImprovement: 0, history: [], meta: {}, configKey: 'k' };
    const err = await failure(saveCheckpoint(runDir, state as unknown as Parameters<typeof saveCheckpoint>[1], new Uint8Array(1000).fill(2), { bytes: new Uint8Array(100), names: [], shapes: [] }, null));
    expectDiskFull(err);
    const ck = path.join(runDir, 'checkpoint');
    expect(readFileSync(path.join(ck, 'latest.json'), 'utf8')).toBe(before.latest);
    const latest = JSON.parse(before.latest) as { weights: { file: string; sha256: string }; optimizer: { file: string; sha256: string } };
    expect(sha(path.join(ck, latest.weights.file))).toBe(latest.weights.sha256);
    expect(sha(path.join(ck, latest.optimizer.file))).toBe(latest.optimizer.sha256);
    expect(readdirSync(ck).sort()).toEqual([latest.optimizer.file, latest.weights.file, 'latest.json'].sort());
    await expectUnchanged();
  });

  it('evaluation report → DISK_FULL, the previous report intact', async () => {
    const lbl = path.join(demo.labels, readdirSync(demo.labels)[1]);
    const err = await failure(writeExternalReport(dir, reportFile, [app.store.models.require(modelId)], [{ id: 'b', pred: lbl, ref: lbl }], [1, 2]));
    expectDiskFull(err);
    expect(sha(reportFile)).toBe(before.report);
    await expectUnchanged();
  });

  it('opening a second writer on the full disk is refused with a project code, and after freeing space every save works again', async () => {
    app.dispose();
    // Closing freed a few pages (the WAL, lock.json): take them too.
    fillDisk();
    const err = await failure(ProjectStore.open(dir));
    expectDiskFull(err);
    expect(readdirSync(path.join(dir, '.segloop')).filter((f) => f.includes('.segloop-tmp-') || f.startsWith('.lock.json'))).toEqual([]);
    rmSync(filler);
    app = await openProjectApp(dir, { transport: 'http' });
    const img = app.store.images.list()[0];
    const parent = app.store.labelVersions.latestForImage(img.id);
    const voxels = new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2]);
    voxels.fill(1, 0, 500);
    const r = await dispatch(app.handlers, 'labels:save', { imageId: String(img.id), parentVersionId: parent ? String(parent.id) : null, voxelsGzBase64: gzipSync(voxels).toString('base64'), secondsSpent: 3, source: 'manual' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const integrity = await app.store.checkIntegrity();
    expect(integrity.ok, JSON.stringify(integrity)).toBe(true);
    for (const [rel, hash] of before.labelFiles) expect(sha(path.join(dir, rel)), rel).toBe(hash);
  });
});
