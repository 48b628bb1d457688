// Segment status on a real project: statuses commit with their label version (or neither does),
// defaults for classes the save leaves out, history kept across versions, the audit entry, and
// bad input (a class outside the schema, an unknown status) refused with nothing saved.
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HIPPOCAMPUS as DATA } from '../../../tests/data-root';
import { failure } from '../../../tests/expect-failure';
import { readNifti } from '../imaging/nifti';
import { saveLabelVersion } from './label-voxels';
import { ProjectStore } from './project-store';
import { completeClasses, type NewSegmentStatus } from './segment-status-repository';
import type { SegmentStatus } from '../../../shared/vocabulary';

const IMAGE = readdirSync(path.join(DATA, 'images')).sort()[0];

const open: ProjectStore[] = [];
afterEach(() => {
  while (open.length) open.pop()?.close();
});

async function project(): Promise<{ store: ProjectStore; imageId: number; reference: Uint8Array }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-segstatus-'));
  const store = await ProjectStore.create(dir, { name: 'status' }, { actor: 'tester' });
  open.push(store);
  store.labelSchema.set([
    { idx: 0, name: 'background', colour: '#000000' },
    { idx: 1, name: 'anterior', colour: '#ff0000' },
    { idx: 2, name: 'posterior', colour: '#00ff00' },
  ]);
  const vol = await readNifti(path.join(DATA, 'images', IMAGE));
  const { row } = await store.addImageFile({
    sourcePath: path.join(DATA, 'images', IMAGE),
    patientExternalId: 'p1',
    shape: vol.shape,
    spacing: vol.spacing,
    affine: vol.affine,
    dtype: 'float32',
    modality: 'MR',
    split: 'pool',
  });
  const lab = await readNifti(path.join(DATA, 'labels', IMAGE));
  return { store, imageId: row.id, reference: Uint8Array.from(lab.data) };
}

const b64 = (voxels: Uint8Array): string => zlib.gzipSync(voxels).toString('base64');

function save(store: ProjectStore, imageId: number, parent: number | null, voxels: Uint8Array, segmentStatus?: NewSegmentStatus[] | null) {
  return saveLabelVersion(store, { imageId, parentVersionId: parent, voxelsGzBase64: b64(voxels), source: 'manual', author: 'ana', secondsSpent: 3, segmentStatus });
}

const statusOf = (store: ProjectStore, versionId: number): Record<number, SegmentStatus> =>
  Object.fromEntries([...store.labelVersions.statuses.current(versionId)].map(([k, r]) => [k, r.status]));

describe('segment status', () => {
  it('is stored with the label version; classes left out get the default (painted = done)', async () => {
    const { store, imageId, reference } = await project();
    // Only anterior (1) painted: posterior is not started by default.
    const onlyAnterior = reference.map((v) => (v === 1 ? 1 : 0));
    const first = await save(store, imageId, null, onlyAnterior, []);
    expect(statusOf(store, first.row.id)).toEqual({ 1: 'done', 2: 'not_started' });

    const second = await save(store, imageId, first.row.id, reference, [
      { classIdx: 1, status: 'done' },
      { classIdx: 2, status: 'flagged', note: '  boundary unclear near the tail  ' },
    ]);
    const rows = store.labelVersions.statuses.listForVersion(second.row.id);
    expect(rows.map((r) => [r.classIdx, r.status, r.note, r.author])).toEqual([
      [1, 'done', null, 'ana'],
      [2, 'flagged', 'boundary unclear near the tail', 'ana'],
    ]);
    // The earlier version keeps its statuses: the history of decisions is all there.
    expect(statusOf(store, first.row.id)).toEqual({ 1: 'done', 2: 'not_started' });
    expect(store.labelVersions.statuses.historyForImage(imageId).map((r) => [r.labelVersionId, r.classIdx, r.status])).toEqual([
      [first.row.id, 1, 'done'],
      [first.row.id, 2, 'not_started'],
      [second.row.id, 1, 'done'],
      [second.row.id, 2, 'flagged'],
    ]);
    // Audited in the version's transaction, with what each class was before.
    const audit = store.audit.list().filter((a) => a.action === 'segment_status.record');
    expect(audit.map((a) => a.entityId)).toEqual([first.row.id, second.row.id]);
    expect(audit[1].details).toEqual({
      parentId: first.row.id,
      statuses: [
        { classIdx: 1, status: 'done', note: null, previous: 'done' },
        { classIdx: 2, status: 'flagged', note: 'boundary unclear near the tail', previous: 'not_started' },
      ],
    });
    // Append-only, like the audit log.
    expect(() => store.database.prepare("UPDATE segment_statuses SET status = 'done' WHERE label_version_id = ?").run(first.row.id)).toThrow(/append-only/);
    expect(() => store.database.prepare('DELETE FROM segment_statuses').run()).toThrow(/append-only/);
  });

  it('a save without statuses records none (untracked: the older rule applies)', async () => {
    const { store, imageId, reference } = await project();
    const v = await save(store, imageId, null, reference, undefined);
    expect(store.labelVersions.statuses.isTracked(v.row.id)).toBe(false);
    expect(completeClasses(store.labelVersions.statuses.current(v.row.id), v.row.labelledClasses)).toBeNull();
  });

  it('refuses a class outside the schema and an unknown status, saving nothing', async () => {
    const { store, imageId, reference } = await project();
    const labelsDir = path.join(store.dir, 'labels');
    const filesBefore = (): number => (readdirSafe(labelsDir) ?? []).length;
    const out = await failure(save(store, imageId, null, reference, [{ classIdx: 7, status: 'done' }]));
    expect(out.code).toBe('LABEL_OUT_OF_SCHEMA');
    expect(out.message).toContain('class 7');
    const bg = await failure(save(store, imageId, null, reference, [{ classIdx: 0, status: 'done' }]));
    expect(bg.code).toBe('LABEL_OUT_OF_SCHEMA');
    const unknown = await failure(save(store, imageId, null, reference, [{ classIdx: 1, status: 'finished' as SegmentStatus }]));
    expect(unknown.code).toBe('INVALID_ARGUMENT');
    expect(unknown.message).toContain('Unknown segment status "finished"');
    expect(unknown.message).toContain('not_started, in_progress, done, flagged');
    const twice = await failure(save(store, imageId, null, reference, [{ classIdx: 1, status: 'done' }, { classIdx: 1, status: 'flagged' }]));
    expect(twice.code).toBe('INVALID_ARGUMENT');
    expect(store.labelVersions.count()).toBe(0);
    expect(store.database.prepare('SELECT count(*) AS n FROM segment_statuses').get()).toEqual({ n: 0 });
    expect(filesBefore()).toBe(0);
  });

  it('commits with the version or not at all: a failing status insert leaves no version', async () => {
    const { store, imageId, reference } = await project();
    // Stand-in for a failure in the middle of the transaction (disk, constraint): after the
    // label_versions row is inserted, the status insert aborts.
    store.database.exec("CREATE TEMP TRIGGER fail_status BEFORE INSERT ON segment_statuses BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;");
    await expect(save(store, imageId, null, reference, [{ classIdx: 1, status: 'done' }])).rejects.toThrow(/simulated failure/);
    expect(store.labelVersions.count()).toBe(0);
    expect(store.audit.list().filter((a) => a.action.startsWith('label_version') || a.action.startsWith('segment_status'))).toEqual([]);
    store.database.exec('DROP TRIGGER fail_status');
    const ok = await save(store, imageId, null, reference, [{ classIdx: 1, status: 'done' }]);
    expect(statusOf(store, ok.row.id)).toEqual({ 1: 'done', 2: 'done' });
  });
});

describe('completeClasses', () => {
  const row = (classIdx: number, status: SegmentStatus) => ({ id: classIdx, labelVersionId: 1, classIdx, status, note: null, author: 'a', createdAt: '' });
  it('counts only done classes of a tracked version, the labelled classes of an untracked one', () => {
    const tracked = new Map([
      [1, row(1, 'done')],
      [2, row(2, 'in_progress')],
      [3, row(3, 'flagged')],
      [4, row(4, 'done')],
    ]);
    expect(completeClasses(tracked, null)).toEqual([1, 4]);
    expect(completeClasses(tracked, [1, 2])).toEqual([1]);
    expect(completeClasses(new Map([[2, row(2, 'not_started')]]), null)).toEqual([]);
    expect(completeClasses(undefined, null)).toBeNull();
    expect(completeClasses(new Map(), [2])).toEqual([2]);
  });
});

function readdirSafe(dir: string): string[] | null {
  try {
    return readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.gz') || f.endsWith('.nii'));
  } catch {
    return null;
  }
}
