import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import { failure } from '../../../tests/expect-failure';
import { defaultIo, sha256Bytes, TEMP_MARKER, type AtomicWriteIo } from './files';
import { ProjectStore, type AddImageInput } from './project-store';
import { listManagedFiles } from './recovery';

import { HIPPOCAMPUS as DATA } from '../../../tests/data-root';
const IMAGES = readdirSync(path.join(DATA, 'images')).sort();
const imagePath = (i: number): string => path.join(DATA, 'images', IMAGES[i]);
const labelBytes = (i: number): Buffer => readFileSync(path.join(DATA, 'labels', IMAGES[i]));

const META = {
  shape: [35, 51, 35],
  spacing: [1, 1, 1],
  affine: [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ],
  dtype: 'float32',
  modality: 'MR',
};

const open: ProjectStore[] = [];
afterEach(() => {
  while (open.length) open.pop()?.close();
});

let tick = 0;
async function newStore(options: { io?: AtomicWriteIo } = {}): Promise<ProjectStore> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-store-'));
  // A deterministic clock: created_at values differ and order is testable.
  const store = await ProjectStore.create(dir, { name: 'Test project' }, { actor: 'tester', now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)), ...options });
  open.push(store);
  return store;
}

function imageInput(i: number, extra: Partial<AddImageInput> = {}): AddImageInput {
  return { sourcePath: imagePath(i), patientExternalId: IMAGES[i].replace('.nii.gz', ''), ...META, split: 'pool', ...extra } as AddImageInput;
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'no error';
  } catch (e) {
    return e instanceof SegloopError ? e.code : `not a SegloopError: ${String(e)}`;
  }
}

describe('ProjectStore lifecycle', () => {
  it('creates, refuses to create twice, reopens, and reports a missing project', async () => {
    const store = await newStore();
    const dir = store.dir;
    expect(store.name).toBe('Test project');
    for (const d of ['images', 'labels', 'predictions', 'models']) expect(existsSync(path.join(dir, d))).toBe(true);
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.database.pragma('busy_timeout', { simple: true })).toBe(250);
    expect(await code(ProjectStore.create(dir, { name: 'again' }))).toBe('PROJECT_EXISTS');
    store.close();
    open.pop();
    const again = await ProjectStore.open(dir);
    open.push(again);
    expect(again.info().name).toBe('Test project');
    expect(await code(ProjectStore.open(path.join(dir, 'no-such-folder')))).toBe('PROJECT_NOT_FOUND');
    expect(await code(ProjectStore.open(path.join(dir, 'images')))).toBe('PROJECT_NOT_FOUND');
  });
});

describe('addImageFile', () => {
  it('copies the file under images/, records its sha256, creates the patient, and is idempotent', async () => {
    const store = await newStore();
    const first = await store.addImageFile(imageInput(0, { site: 'vumc' }));
    expect(first.created).toBe(true);
    const source = readFileSync(imagePath(0));
    expect(first.row.sha256).toBe(sha256Bytes(source));
    expect(first.row.path).toBe(`images/${first.row.sha256.slice(0, 12)}/${IMAGES[0]}`);
    expect(readFileSync(path.join(store.dir, first.row.path)).equals(source)).toBe(true);
    expect(first.patient.externalId).toBe(IMAGES[0].replace('.nii.gz', ''));
    expect(first.row).toMatchObject({ patientId: first.patient.id, split: 'pool', site: 'vumc', sourceName: IMAGES[0], ...META });

    const second = await store.addImageFile(imageInput(0, { patientExternalId: 'someone-else' }));
    expect(second).toMatchObject({ created: false, row: { id: first.row.id } });
    // The same bytes from memory are the same image too.
    expect((await store.addImageFile({ ...imageInput(0), sourcePath: undefined, bytes: source })).created).toBe(false);
    expect(store.images.count()).toBe(1);
    expect(store.patients.count()).toBe(1);

    // A second image of the same patient reuses the patient.
    const other = await store.addImageFile(imageInput(1, { patientExternalId: first.patient.externalId }));
    expect(other.patient.id).toBe(first.patient.id);
    expect(store.images.list({ patientId: first.patient.id }).map((r) => r.id)).toEqual([first.row.id, other.row.id]);
  });

  it('adds each file once when the same import runs concurrently', async () => {
    const store = await newStore();
    const results = await Promise.all([0, 1, 0, 1, 0, 2].map((i) => store.addImageFile(imageInput(i))));
    expect(results.filter((r) => r.created)).toHaveLength(3);
    expect(new Set(results.map((r) => r.row.id)).size).toBe(3);
    const img = results[0].row;
    const labels = await Promise.all(
      [0, 0, 0].map(() => store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'imported', author: 'i', reuseIdentical: true })),
    );
    expect(labels.map((l) => l.created)).toEqual([true, false, false]);
    expect((await store.checkIntegrity()).ok).toBe(true);
  });

  it('rejects missing and empty sources with the file named', async () => {
    const store = await newStore();
    expect(await code(store.addImageFile(imageInput(0, { sourcePath: '/nope/missing.nii.gz' })))).toBe('FILE_NOT_FOUND');
    const empty = path.join(store.dir, '..', `${path.basename(store.dir)}-empty.nii.gz`);
    writeFileSync(empty, '');
    const err = await failure(store.addImageFile(imageInput(0, { sourcePath: empty })));
    expect(err.code).toBe('FILE_EMPTY');
    expect(err.message).toContain('-empty.nii.gz');
    expect(store.images.count()).toBe(0);
  });

  it('removes the copied file again when the DB rows are refused', async () => {
    const store = await newStore();
    // An empty patient id passes the file write and fails inside the transaction.
    expect(await code(store.addImageFile(imageInput(0, { patientExternalId: '' })))).toBe('INVALID_ARGUMENT');
    expect(await listManagedFiles(store.dir)).toEqual([]);
    expect(store.images.count()).toBe(0);
    expect(store.audit.list({ entity: 'image' })).toEqual([]);
  });

  it('turns a full disk into DISK_FULL with no file, no row and no audit entry left behind', async () => {
    let budget = Number.POSITIVE_INFINITY;
    const io: AtomicWriteIo = {
      ...defaultIo,
      async write(handle, bytes) {
        if (bytes.byteLength > budget) {
          await handle.write(bytes, 0, budget);
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        budget -= bytes.byteLength;
        await defaultIo.write(handle, bytes);
      },
    };
    const store = await newStore({ io });
    const img = await store.addImageFile(imageInput(0));
    const auditBefore = store.audit.count();
    const filesBefore = await listManagedFiles(store.dir);

    budget = 1000; // less than any of the files
    const err = await failure(store.addImageFile(imageInput(1)));
    expect(err.code).toBe('DISK_FULL');
    expect(err.message).toMatch(/disk is full/);
    const lvErr = await failure(store
      .addLabelVersionFile({ imageId: img.row.id, bytes: labelBytes(0), source: 'manual', author: 'alice' })
      );
    expect(lvErr.code).toBe('DISK_FULL');

    expect(store.images.count()).toBe(1);
    expect(store.labelVersions.count()).toBe(0);
    expect(store.audit.count()).toBe(auditBefore);
    expect(await listManagedFiles(store.dir)).toEqual(filesBefore);

    // Once space is back, the same calls succeed.
    budget = Number.POSITIVE_INFINITY;
    expect((await store.addImageFile(imageInput(1))).created).toBe(true);
    expect((await store.addLabelVersionFile({ imageId: img.row.id, bytes: labelBytes(0), source: 'manual', author: 'alice' })).created).toBe(true);
    expect((await store.checkIntegrity()).ok).toBe(true);
  });
  it('turns a full database (SQLITE_FULL) into DISK_FULL and removes the file it had copied', async () => {
    const store = await newStore();
    await store.addImageFile(imageInput(0));
    const db = store.database;
    store.checkpoint();
    // The database may not grow by a single page: the next insert hits SQLITE_FULL for real.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const before = await listManagedFiles(store.dir);
    // A long source name needs overflow pages, so the row cannot fit in the pages already there.
    const err = await failure(store.addImageFile(imageInput(1, { sourceName: `${'x'.repeat(20_000)}.nii.gz` })));
    expect(err.code).toBe('DISK_FULL');
    expect(await listManagedFiles(store.dir)).toEqual(before);
    expect(store.images.count()).toBe(1);
  });
});

describe('label versions', () => {
  it('saves immutable versions with parents; identical re-imports are reused only when asked', async () => {
    const store = await newStore();
    const img = (await store.addImageFile(imageInput(0))).row;
    const imported = await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'imported', author: 'importer', reuseIdentical: true });
    expect(imported.created).toBe(true);
    expect(imported.row.path).toBe(`labels/${img.id}/${sha256Bytes(labelBytes(0))}.nii.gz`);
    const reimported = await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'imported', author: 'importer', reuseIdentical: true });
    expect(reimported).toEqual({ row: imported.row, created: false });

    const edited = Buffer.from(labelBytes(1));
    const v2 = await store.addLabelVersionFile({
      imageId: img.id,
      bytes: edited,
      source: 'manual',
      author: 'alice',
      parentId: imported.row.id,
      voxelsChanged: 120,
      secondsSpent: 42.5,
      labelledClasses: [1],
    });
    expect(v2.row).toMatchObject({ parentId: imported.row.id, source: 'manual', author: 'alice', voxelsChanged: 120, secondsSpent: 42.5, labelledClasses: [1] });
    // Saving the same bytes again is a new version (nothing is ever overwritten), sharing the file.
    const v3 = await store.addLabelVersionFile({ imageId: img.id, bytes: edited, source: 'manual', author: 'alice', parentId: v2.row.id });
    expect(v3.row.id).not.toBe(v2.row.id);
    expect(v3.row.path).toBe(v2.row.path);

    expect(store.labelVersions.listForImage(img.id).map((v) => v.id)).toEqual([imported.row.id, v2.row.id, v3.row.id]);
    expect(store.labelVersions.latestForImage(img.id)?.id).toBe(v3.row.id);
    expect(store.labelVersions.latestPerImage().map((v) => v.id)).toEqual([v3.row.id]);
    expect(readFileSync(path.join(store.dir, v2.row.path)).equals(edited)).toBe(true);
  });

  it('are protected by triggers against UPDATE and DELETE, even through raw SQL', async () => {
    const store = await newStore();
    const img = (await store.addImageFile(imageInput(0))).row;
    const lv = (await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'manual', author: 'alice' })).row;
    const db = store.database;
    expect(() => db.prepare('UPDATE label_versions SET author = ? WHERE id = ?').run('mallory', lv.id)).toThrow(/immutable/);
    expect(() => db.prepare('DELETE FROM label_versions WHERE id = ?').run(lv.id)).toThrow(/immutable/);
    expect(() => db.prepare('UPDATE audit_log SET actor = ?').run('mallory')).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(store.labelVersions.require(lv.id)).toEqual(lv);
  });

  it('refuses bad references and bad values', async () => {
    const store = await newStore();
    const a = (await store.addImageFile(imageInput(0))).row;
    const b = (await store.addImageFile(imageInput(1))).row;
    const lvA = (await store.addLabelVersionFile({ imageId: a.id, bytes: labelBytes(0), source: 'manual', author: 'alice' })).row;
    const base = { bytes: labelBytes(1), author: 'alice', source: 'manual' as const };
    expect(await code(store.addLabelVersionFile({ ...base, imageId: 999 }))).toBe('IMAGE_NOT_FOUND');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, parentId: lvA.id }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, parentId: 999 }))).toBe('LABEL_VERSION_NOT_FOUND');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, modelId: 5 }))).toBe('MODEL_NOT_FOUND');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, source: 'guess' as 'manual' }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, voxelsChanged: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.addLabelVersionFile({ ...base, imageId: b.id, bytes: Buffer.alloc(0) }))).toBe('FILE_EMPTY');
    // The trigger guards the parent rule even for raw inserts.
    expect(() =>
      store.database
        .prepare("INSERT INTO label_versions (image_id, parent_id, path, sha256, source, author, created_at) VALUES (?, ?, 'x', ?, 'manual', 'm', '2026-01-01T00:00:00.000Z')")
        .run(b.id, lvA.id, 'f'.repeat(64)),
    ).toThrow(/another image/);
    expect(store.labelVersions.count()).toBe(1);
    expect(await listManagedFiles(store.dir)).toEqual([a.path, b.path, lvA.path].sort());
  });
});

describe('repositories and the audit log', () => {
  it('write one audit entry per mutation, in the same transaction, with the actor', async () => {
    const store = await newStore();
    const img = (await store.addImageFile(imageInput(0))).row;
    expect(store.audit.list().map((a) => a.action)).toEqual(['project.create', 'patient.create', 'image.create']);

    store.labelSchema.set([
      { idx: 0, name: 'background', colour: '#000000' },
      { idx: 1, name: 'anterior', colour: '#FF0000' },
      { idx: 2, name: 'posterior', colour: '#00ff00' },
    ]);
    expect(store.labelSchema.list()[1]).toEqual({ idx: 1, name: 'anterior', colour: '#ff0000' });
    expect(await code(() => store.labelSchema.set([{ idx: 1, name: 'x', colour: 'red' }]))).toBe('INVALID_ARGUMENT');
    expect(await code(() => store.labelSchema.set([{ idx: 300, name: 'x', colour: '#000000' }]))).toBe('INVALID_ARGUMENT');
    expect(await code(() => store.labelSchema.set([{ idx: 1, name: 'x', colour: '#000000' }, { idx: 1, name: 'y', colour: '#000000' }]))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(store.labelSchema.list()).toHaveLength(3);

    expect(store.images.setSplit([img.id], 'train', { actor: 'bob' })).toBe(1);
    expect(store.images.setSplit([img.id], 'train')).toBe(0);
    expect(await code(() => store.images.setSplit([img.id], 'holdout' as 'train'))).toBe('INVALID_ARGUMENT');
    expect(await code(() => store.images.setSplit([img.id, 999], 'val'))).toBe('IMAGE_NOT_FOUND');
    expect(store.images.require(img.id).split).toBe('train'); // the failed batch changed nothing
    const splitAudit = store.audit.list({ action: 'image.split' });
    expect(splitAudit).toHaveLength(1);
    expect(splitAudit[0]).toMatchObject({ actor: 'bob', entity: 'image', entityId: img.id, details: { from: 'pool', to: 'train' } });

    const lv = (await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'imported', author: 'importer' })).row;
    const run = store.trainingRuns.create({ config: { epochs: 3 }, dataSnapshot: { labelVersionIds: [lv.id] } });
    expect(await code(() => store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [lv.id, 77] } }))).toBe('LABEL_VERSION_NOT_FOUND');
    expect(store.trainingRuns.markRunning(run.id, 'wasm').status).toBe('running');
    store.trainingRuns.appendLog(run.id, 'epoch 1 loss 0.9\n');
    store.trainingRuns.appendLog(run.id, 'epoch 2 loss 0.7\n');
    const done = store.trainingRuns.finish(run.id, 'completed');
    expect(done).toMatchObject({ status: 'completed', backend: 'wasm', log: 'epoch 1 loss 0.9\nepoch 2 loss 0.7\n', error: null });
    expect(done.startedAt).not.toBeNull();
    expect(done.endedAt).not.toBeNull();
    expect(await code(() => store.trainingRuns.finish(run.id, 'failed', 'late'))).toBe('INVALID_ARGUMENT');
    const stuck = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
    store.trainingRuns.markRunning(stuck.id, 'cpu');
    const queued = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
    expect(store.trainingRuns.markInterrupted()).toEqual([stuck.id, queued.id]);
    expect(store.trainingRuns.require(stuck.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('interrupted') });

    const m1 = store.models.create({ architecture: 'unet3d', config: { depth: 4 }, trainingRunId: run.id });
    expect(m1).toMatchObject({ version: 1, status: 'candidate', weightsPath: null });
    expect(await code(() => store.models.setStatus(m1.id, 'promoted'))).toBe('MODEL_HAS_NO_WEIGHTS'); // no weights yet
    const weights = Buffer.from('fake weights for the test');
    const withWeights = await store.addModelWeightsFile(m1.id, weights, 'model.bin');
    expect(withWeights.weightsSha256).toBe(sha256Bytes(weights));
    expect(readFileSync(path.join(store.dir, withWeights.weightsPath as string)).equals(weights)).toBe(true);
    expect(await code(store.addModelWeightsFile(m1.id, Buffer.from('other'), 'model.bin'))).toBe('INVALID_ARGUMENT');
    store.models.setStatus(m1.id, 'promoted');
    store.models.setMetrics(m1.id, { dice: { '1': 0.81, '2': 0.79 } });
    const m2 = store.models.create({ architecture: 'unet3d', config: { depth: 4 }, parentId: m1.id });
    await store.addModelWeightsFile(m2.id, Buffer.from('v2 weights'));
    store.models.setStatus(m2.id, 'promoted');
    expect(store.models.require(m1.id).status).toBe('retired');
    expect(store.models.promoted()?.version).toBe(2);
    expect(await code(() => store.models.create({ architecture: 'x', config: {}, parentId: 99 }))).toBe('MODEL_NOT_FOUND');

    const pred = await store.addPredictionFiles({
      imageId: img.id,
      modelId: m2.id,
      bytes: labelBytes(1),
      uncertaintyBytes: Buffer.from('uncertainty map bytes'),
      scores: { entropy: 0.12 },
      tta: true,
    });
    expect(pred).toMatchObject({ tta: true, scores: { entropy: 0.12 } });
    expect(pred.uncertaintyPath).toMatch(/-uncertainty\.nii$/);
    expect(store.predictions.latestForImage(img.id, m2.id)?.id).toBe(pred.id);
    expect(store.predictions.listForModel(m1.id)).toEqual([]);

    const round = store.alRounds.create({ strategy: 'entropy', modelId: m2.id, selected: [img.id], scores: { [img.id]: 0.12 } });
    expect(round.selected).toEqual([img.id]);
    expect(await code(() => store.alRounds.create({ strategy: 'entropy', selected: [404], scores: {} }))).toBe('IMAGE_NOT_FOUND');

    const accepted = (
      await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(1), source: 'ai_accepted', author: 'alice', modelId: m2.id, parentId: lv.id })
    ).row;
    const review = store.reviews.create({ predictionId: pred.id, labelVersionId: accepted.id, decision: 'accept', secondsSpent: 8, author: 'alice' });
    expect(review).toMatchObject({ decision: 'accept', labelVersionId: accepted.id });
    expect(store.reviews.create({ predictionId: pred.id, decision: 'reject', author: 'bob' }).labelVersionId).toBeNull();
    expect(await code(() => store.reviews.create({ predictionId: pred.id, decision: 'accept', author: 'x' }))).toBe('INVALID_ARGUMENT');
    expect(await code(() => store.reviews.create({ predictionId: pred.id, decision: 'reject', labelVersionId: lv.id, author: 'x' }))).toBe('INVALID_ARGUMENT');
    expect(store.reviews.listForPrediction(pred.id)).toHaveLength(2);

    // Every audited entity/action pair, in order; appendLog is the training log itself and is not repeated.
    expect(store.audit.list().map((a) => a.action)).toEqual([
      'project.create',
      'patient.create',
      'image.create',
      'label_schema.set',
      'image.split',
      'label_version.create',
      'training_run.create',
      'training_run.status',
      'training_run.status',
      'training_run.create',
      'training_run.status',
      'training_run.create',
      'training_run.status',
      'training_run.status',
      'model.create',
      'model.weights',
      'model.status',
      'model.metrics',
      'model.create',
      'model.weights',
      'model.status',
      'model.status',
      'prediction.create',
      'al_round.create',
      'label_version.create',
      'review.create',
      'review.create',
    ]);
    expect(store.audit.list({ entity: 'review' }).map((a) => a.actor)).toEqual(['alice', 'bob']);
    expect(store.audit.list({ limit: 1 })[0].action).toBe('review.create');

    const info = store.info();
    expect(info).toMatchObject({
      name: 'Test project',
      schemaVersion: 3,
      patients: 1,
      images: 1,
      imagesBySplit: { pool: 0, train: 1, val: 0, test: 0, none: 0 },
      labelledImages: 1,
      labelVersions: 2,
      labelVersionsBySource: { manual: 0, imported: 1, ai_accepted: 1, ai_edited: 0, pseudo: 0 },
      labelClasses: 3,
      models: 2,
      modelsByStatus: { candidate: 0, promoted: 1, retired: 1 },
      promotedModelVersion: 2,
      trainingRuns: 3,
      trainingRunsByStatus: { queued: 0, running: 0, completed: 1, failed: 2, cancelled: 0 },
      predictions: 1,
      alRounds: 1,
      reviews: 2,
      auditEntries: 27,
    });
    expect((await store.checkIntegrity()).ok).toBe(true);
  });

  it('keep created_at from the injected clock and patients unique', async () => {
    const store = await newStore();
    const p = store.patients.create({ externalId: 'P-1', site: 'site-a' });
    expect(p.createdAt).toMatch(/^2026-01-01T\d\d:\d\d:\d\d\.000Z$/);
    expect(await code(() => store.patients.create({ externalId: 'P-1' }))).toBe('INVALID_ARGUMENT');
    expect(store.patients.getOrCreate({ externalId: 'P-1' })).toEqual({ row: p, created: false });
    expect(await code(() => store.patients.require(42))).toBe('PATIENT_NOT_FOUND');
    expect(await code(() => store.images.require(42))).toBe('IMAGE_NOT_FOUND');
    expect(await code(() => store.models.require(42))).toBe('MODEL_NOT_FOUND');
  });
});

describe('recover', () => {
  it('removes our own temp files, quarantines (never deletes) unreferenced files, keeps foreign files, and logs it', async () => {
    const store = await newStore();
    const img = (await store.addImageFile(imageInput(0))).row;
    const lv = (await store.addLabelVersionFile({ imageId: img.id, bytes: labelBytes(0), source: 'manual', author: 'a' })).row;
    mkdirSync(path.join(store.dir, 'labels', '77'), { recursive: true });
    writeFileSync(path.join(store.dir, 'labels', '77', 'orphan.nii.gz'), 'orphan');
    writeFileSync(path.join(store.dir, 'images', `.x.nii.gz${TEMP_MARKER}abc123def456`), 'half a file');
    // Carries the marker but is not a name our writer makes: could be anything, so quarantined.
    writeFileSync(path.join(store.dir, 'images', `x${TEMP_MARKER}note`), 'not ours');
    writeFileSync(path.join(store.dir, 'notes.txt'), 'user file outside the managed folders');

    const report = await store.recover();
    expect(report.removedTempFiles).toEqual([`images/.x.nii.gz${TEMP_MARKER}abc123def456`]);
    expect(report.quarantined).toEqual([`images/x${TEMP_MARKER}note`, 'labels/77/orphan.nii.gz']);
    expect(report.quarantineDir).toMatch(/^\.segloop\/quarantine\/\d{4}-/);
    expect(report.missingFiles).toEqual([]);
    expect(readFileSync(path.join(store.dir, report.quarantineDir ?? '', 'labels', '77', 'orphan.nii.gz'), 'utf8')).toBe('orphan');
    expect(readFileSync(path.join(store.dir, report.quarantineDir ?? '', 'images', `x${TEMP_MARKER}note`), 'utf8')).toBe('not ours');
    expect(await listManagedFiles(store.dir)).toEqual([img.path, lv.path].sort());
    expect(existsSync(path.join(store.dir, 'labels', '77'))).toBe(false);
    expect(existsSync(path.join(store.dir, 'notes.txt'))).toBe(true);
    expect(store.audit.list({ action: 'project.recover' })[0].details).toMatchObject({ quarantined: report.quarantined, quarantineDir: report.quarantineDir });

    // A clean project: nothing to do and nothing logged.
    expect(await store.recover()).toEqual({ removedTempFiles: [], quarantined: [], quarantineDir: null, missingFiles: [] });
    expect(store.audit.list({ action: 'project.recover' })).toHaveLength(1);
  });

  it('reports (never deletes) rows whose file is missing, and integrity flags tampered files', async () => {
    const store = await newStore();
    const a = (await store.addImageFile(imageInput(0))).row;
    const b = (await store.addImageFile(imageInput(1))).row;
    writeFileSync(path.join(store.dir, a.path), 'tampered');
    const { rmSync } = await import('node:fs');
    rmSync(path.join(store.dir, b.path));
    const integrity = await store.checkIntegrity();
    expect(integrity).toMatchObject({ ok: false, integrity: ['ok'], foreignKeyViolations: 0, missingFiles: [b.path], checksumMismatches: [a.path] });
    const report = await store.recover();
    expect(report.missingFiles).toEqual([b.path]);
    expect(store.images.count()).toBe(2);
  });
});
