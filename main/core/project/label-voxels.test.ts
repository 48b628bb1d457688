// saveLabelVersion on a real project (hippocampus image + its label): a save that repeats the
// newest version (same voxels, same statuses) writes no version and no file and returns the head
// as unchanged (audited); a changed status or one changed voxel is a version; a stale parent stays
// LABEL_CONFLICT even when the voxels equal it.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HIPPOCAMPUS as DATA } from '../../../tests/data-root';
import { failure } from '../../../tests/expect-failure';
import { readNifti } from '../imaging/nifti';
import { saveLabelVersion } from './label-voxels';
import { ProjectStore } from './project-store';
import type { NewSegmentStatus } from './segment-status-repository';

const IMAGE = readdirSync(path.join(DATA, 'images')).sort()[0];

const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()?.();
});

async function project(): Promise<{ store: ProjectStore; dir: string; imageId: number; reference: Uint8Array }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-labelsave-'));
  const store = await ProjectStore.create(dir, { name: 'save' }, { actor: 'tester' });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => store.close());
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
  return { store, dir, imageId: row.id, reference: Uint8Array.from(lab.data) };
}

const b64 = (voxels: Uint8Array): string => zlib.gzipSync(voxels).toString('base64');

function save(store: ProjectStore, imageId: number, parent: number | null, voxels: Uint8Array, segmentStatus?: NewSegmentStatus[] | null) {
  return saveLabelVersion(store, { imageId, parentVersionId: parent, voxelsGzBase64: b64(voxels), source: 'manual', author: 'ana', secondsSpent: 3, segmentStatus });
}

const labelFiles = (dir: string, imageId: number): string[] => readdirSync(path.join(dir, 'labels', String(imageId))).sort();
const unchangedAudits = (store: ProjectStore) => store.audit.list({ action: 'label_version.save_unchanged' });

const BOTH_DONE: NewSegmentStatus[] = [
  { classIdx: 1, status: 'done' },
  { classIdx: 2, status: 'done' },
];

describe('saveLabelVersion: a save equal to the newest version', () => {
  it('returns the head, writes no version or file, and is audited', async () => {
    const { store, dir, imageId, reference } = await project();
    const first = await save(store, imageId, null, reference, BOTH_DONE);
    expect(first).toMatchObject({ unchanged: false, voxelsChanged: reference.filter((v) => v > 0).length });
    const files = labelFiles(dir, imageId);
    const again = await save(store, imageId, first.row.id, reference, BOTH_DONE);
    expect(again.unchanged).toBe(true);
    expect(again.voxelsChanged).toBe(0);
    expect(again.row).toEqual(first.row);
    expect(store.labelVersions.listForImage(imageId).map((v) => v.id)).toEqual([first.row.id]);
    expect(labelFiles(dir, imageId)).toEqual(files);
    const audits = unchangedAudits(store);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ entityId: first.row.id, actor: 'ana' });
    // Omitted classes get the same defaults as at the first save (painted = done): still unchanged.
    expect((await save(store, imageId, first.row.id, reference, [])).unchanged).toBe(true);
    // A note with only spaces is no note (as stored).
    expect((await save(store, imageId, first.row.id, reference, [{ classIdx: 1, status: 'done', note: '  ' }])).unchanged).toBe(true);
    expect(store.labelVersions.count()).toBe(1);
  });

  it('a changed status, a flag note, no statuses on a tracked head, or one changed voxel is a new version', async () => {
    const { store, imageId, reference } = await project();
    const first = await save(store, imageId, null, reference, BOTH_DONE);
    const flagged = await save(store, imageId, first.row.id, reference, [
      { classIdx: 1, status: 'done' },
      { classIdx: 2, status: 'flagged', note: 'motion' },
    ]);
    expect(flagged).toMatchObject({ unchanged: false, voxelsChanged: 0 });
    expect(flagged.row.id).not.toBe(first.row.id);
    const noted = await save(store, imageId, flagged.row.id, reference, [
      { classIdx: 1, status: 'done' },
      { classIdx: 2, status: 'flagged', note: 'motion, check' },
    ]);
    expect(noted.unchanged).toBe(false);
    // Without statuses the version would record none: different from the tracked head.
    const untracked = await save(store, imageId, noted.row.id, reference, null);
    expect(untracked.unchanged).toBe(false);
    expect(store.labelVersions.statuses.isTracked(untracked.row.id)).toBe(false);
    // ...and repeating that untracked save is unchanged.
    expect((await save(store, imageId, untracked.row.id, reference, null)).unchanged).toBe(true);
    const edited = reference.slice();
    const at = edited.findIndex((v) => v === 0);
    edited[at] = 1;
    const one = await save(store, imageId, untracked.row.id, edited, null);
    expect(one).toMatchObject({ unchanged: false, voxelsChanged: 1 });
    expect(store.labelVersions.count()).toBe(5);
    expect(unchangedAudits(store)).toHaveLength(1);
  });

  it('a stale parent is LABEL_CONFLICT even when the voxels equal it; a first save of an empty label is a version', async () => {
    const { store, imageId, reference } = await project();
    const empty = await save(store, imageId, null, new Uint8Array(reference.length), null);
    expect(empty).toMatchObject({ unchanged: false, voxelsChanged: 0 });
    const theirs = await save(store, imageId, empty.row.id, reference, BOTH_DONE);
    const err = await failure(save(store, imageId, empty.row.id, new Uint8Array(reference.length), null));
    expect(err.code).toBe('LABEL_CONFLICT');
    expect((err.details as { latest: { id: string } }).latest.id).toBe(String(theirs.row.id));
    expect(store.labelVersions.count()).toBe(2);
    expect(unchangedAudits(store)).toHaveLength(0);
  });
});
