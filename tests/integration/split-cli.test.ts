// segloop split: patients (never single images) go to train/val/test, optionally per site; the
// split is frozen; later imports never land in test silently; leakage is detected on a
// hand-corrupted database. Projects are built with the store API (small synthetic volumes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { segloop } from './helpers/cli';
import { encodeNifti } from '../../main/core/imaging/nifti';
import type { Mat4 } from '../../main/core/imaging/volume';
import { ProjectStore } from '../../main/core/project';
import { assertNoLeakage, findLeakage, type SplitResult, type SplitStatus } from '../../main/core/project/splits';

const AFFINE: Mat4 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
let tmp: string;
let serial = 0;

function nifti(fill: number): Uint8Array {
  const data = new Uint8Array(8).fill(fill % 256);
  data[0] = serial++ % 256;
  data[1] = Math.floor(serial / 256) % 256;
  return gzipSync(encodeNifti({ data, shape: [2, 2, 2], affine: AFFINE }));
}

async function addImage(store: ProjectStore, patient: string, site: string, labelled: boolean): Promise<number> {
  const { row } = await store.addImageFile({ bytes: nifti(7), patientExternalId: patient, site, shape: [2, 2, 2], spacing: [1, 1, 1], affine: AFFINE, dtype: 'uint8', modality: 'MR', sourceName: `${patient}_${serial}.nii.gz` });
  if (labelled) await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'test', bytes: nifti(1) });
  return row.id;
}

/** 20 labelled patients (12 at site A, 8 at site B) with 1..3 images each, plus 3 unlabelled patients. */
async function buildProject(name: string): Promise<string> {
  serial = 0;
  const dir = path.join(tmp, name);
  const store = await ProjectStore.create(dir, { name });
  for (let p = 0; p < 20; p++) {
    const id = `P${String(p).padStart(2, '0')}`;
    for (let k = 0; k <= p % 3; k++) await addImage(store, id, p < 12 ? 'A' : 'B', true);
  }
  for (let p = 0; p < 3; p++) await addImage(store, `U${p}`, 'A', false);
  store.close();
  return dir;
}

function imagesByPatient(dir: string): Map<string, Set<string | null>> {
  const db = new Database(path.join(dir, 'project.db'), { readonly: true });
  const rows = db.prepare('SELECT p.external_id AS pid, i.split AS split FROM images i JOIN patients p ON p.id = i.patient_id').all() as { pid: string; split: string | null }[];
  db.close();
  const m = new Map<string, Set<string | null>>();
  for (const r of rows) m.set(r.pid, (m.get(r.pid) ?? new Set()).add(r.split));
  return m;
}

beforeAll(() => void (tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-split-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('segloop split', () => {
  let dir: string;
  let first: SplitResult;
  beforeAll(async () => {
    dir = await buildProject('grouped');
  });

  it('puts every image of a patient in one split, shares counted in labelled patients', () => {
    const r = segloop(['split', dir, '--test', '0.2', '--val', '0.1', '--seed', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    first = r.json as SplitResult;
    expect(first.eligibility).toBe('labelled');
    expect(first.eligiblePatients).toBe(20);
    expect(first.counts.test.patients).toBe(4);
    expect(first.counts.val.patients).toBe(2);
    expect(first.counts.train.patients).toBe(14);
    // The unlabelled patients are never held out: they wait in the pool.
    expect(first.patients.pool).toEqual(['U0', 'U1', 'U2']);
    for (const [pid, splits] of imagesByPatient(dir)) expect(splits.size, `${pid}: ${[...splits].join(',')}`).toBe(1);
    expect(first.counts.test.images).toBe(first.patients.test.map((p) => Number(p.slice(1)) % 3 + 1).reduce((a, b) => a + b, 0));
  });

  it('is frozen: a second split refuses and changes nothing; --force re-splits and is audited', async () => {
    const before = imagesByPatient(dir);
    const again = segloop(['split', dir, '--seed', '2', '--json']);
    expect(again.status).toBe(1);
    expect((again.json as { error: { code: string; message: string } }).error.code).toBe('SPLIT_FROZEN');
    expect(imagesByPatient(dir)).toEqual(before);

    const forced = segloop(['split', dir, '--seed', '2', '--force', '--actor', 'dr-test', '--json']);
    expect(forced.status, forced.stderr).toBe(0);
    expect((forced.json as SplitResult).forced).toBe(true);
    const store = await ProjectStore.open(dir, { recover: false });
    try {
      const audit = store.audit.list({ action: 'split.force' });
      expect(audit).toHaveLength(1);
      expect(audit[0].actor).toBe('dr-test');
      expect(audit[0].details).toMatchObject({ seed: 2, test: 0.2, val: 0.1 });
      expect(Object.keys((audit[0].details?.previous ?? {}) as object).length).toBeGreaterThan(0);
      expect(store.audit.list({ action: 'split.create' })).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('places images imported later: a new patient goes to train, an image of a test patient follows it and is reported', async () => {
    const store = await ProjectStore.open(dir, { recover: false });
    const testPatient = store.patients.list().find((p) => store.images.list({ patientId: p.id }).some((im) => im.split === 'test'));
    expect(testPatient).toBeDefined();
    const newcomer = await addImage(store, 'NEW1', 'A', true);
    const followUp = await addImage(store, testPatient?.externalId ?? '', 'A', true);
    const testBefore = store.images.list({ split: 'test' }).map((i) => i.id);
    store.close();

    const refused = segloop(['split', dir, '--json']);
    expect((refused.json as { error: { code: string } }).error.code).toBe('SPLIT_FROZEN');
    const r = segloop(['split', dir, '--assign-new', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = r.json as { assigned: { imageId: number; split: string; reason: string }[]; joinedHeldOut: { imageId: number; patient: string; split: string }[] };
    expect(out.assigned).toContainEqual(expect.objectContaining({ imageId: newcomer, split: 'train', reason: 'new patient' }));
    expect(out.joinedHeldOut).toEqual([{ imageId: followUp, patient: testPatient?.externalId, split: 'test' }]);
    const again = await ProjectStore.open(dir, { recover: false });
    expect(again.images.list({ split: 'test' }).map((i) => i.id).sort((a, b) => a - b)).toEqual([...testBefore, followUp].sort((a, b) => a - b));
    again.close();
  });

  it('detects leakage on a hand-corrupted database: --check exits 1 and assertNoLeakage names the patient and splits', async () => {
    const db = new Database(path.join(dir, 'project.db'));
    const victim = db
      .prepare(`SELECT p.external_id AS pid, min(i.id) AS id FROM images i JOIN patients p ON p.id = i.patient_id WHERE i.split = 'train' GROUP BY p.id HAVING count(*) >= 2 LIMIT 1`)
      .get() as { pid: string; id: number };
    db.prepare(`UPDATE images SET split = 'test' WHERE id = ?`).run(victim.id);
    db.close();

    const check = segloop(['split', dir, '--check', '--json']);
    expect(check.status).toBe(1);
    const st = check.json as SplitStatus;
    expect(st.leakage).toEqual([expect.objectContaining({ patient: victim.pid, splits: ['test', 'train'] })]);
    const text = segloop(['split', dir, '--check']);
    expect(text.stdout).toContain(`LEAKAGE: patient ${victim.pid} in test and train`);

    const store = await ProjectStore.open(dir, { recover: false });
    try {
      expect(findLeakage(store)).toHaveLength(1);
      expect(() => assertNoLeakage(store)).toThrow(expect.objectContaining({ code: 'SPLIT_LEAKAGE', message: expect.stringContaining(`patient ${victim.pid} is in test (image ${victim.id})`) }));
    } finally {
      store.close();
    }
  });

  it('counts a pool image of a test patient as leakage (pool images get labelled and trained on)', async () => {
    const d = await buildProject('pool-leak');
    expect(segloop(['split', d, '--seed', '3']).status).toBe(0);
    const db = new Database(path.join(d, 'project.db'));
    const t = db.prepare(`SELECT id FROM images WHERE split = 'test' LIMIT 1`).get() as { id: number };
    const pid = (db.prepare('SELECT patient_id AS p FROM images WHERE id = ?').get(t.id) as { p: number }).p;
    const n = (db.prepare('SELECT count(*) AS n FROM images WHERE patient_id = ?').get(pid) as { n: number }).n;
    if (n === 1) db.prepare(`UPDATE images SET patient_id = ? WHERE id = (SELECT id FROM images WHERE split = 'pool' LIMIT 1)`).run(pid);
    else db.prepare(`UPDATE images SET split = 'pool' WHERE id = ?`).run(t.id);
    db.close();
    const store = await ProjectStore.open(d, { recover: false });
    try {
      expect(() => assertNoLeakage(store)).toThrow(/pool .* and test|test .* and pool|pool \(image \d+\) and test/);
    } finally {
      store.close();
    }
  });

  it('stratifies by site: each site gives its share of test and val patients', async () => {
    const d = await buildProject('strat');
    const r = segloop(['split', d, '--test', '0.25', '--val', '0.25', '--seed', '5', '--stratify', 'site', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = r.json as SplitResult;
    const site = (s: string): Record<string, number> => res.bySite.find((b) => b.site === s)?.patients ?? {};
    // Site A: 12 labelled patients -> 3 test, 3 val; site B: 8 -> 2 test, 2 val (unlabelled U* stay in pool).
    expect([site('A').test, site('A').val, site('B').test, site('B').val]).toEqual([3, 3, 2, 2]);
    for (const [, splits] of imagesByPatient(d)) expect(splits.size).toBe(1);
  });

  it('is deterministic: same seed, same split on an identical project; another seed differs', async () => {
    const a = await buildProject('det-a');
    const b = await buildProject('det-b');
    const c = await buildProject('det-c');
    const ra = segloop(['split', a, '--seed', '42', '--json']).json as SplitResult;
    const rb = segloop(['split', b, '--seed', '42', '--json']).json as SplitResult;
    const rc = segloop(['split', c, '--seed', '43', '--json']).json as SplitResult;
    expect(rb.patients).toEqual(ra.patients);
    expect(rc.patients.test).not.toEqual(ra.patients.test);
  });

  it('refuses bad arguments with a clear error and leaves the project unsplit', async () => {
    const d = await buildProject('bad');
    for (const args of [['--test', '1.5'], ['--val', 'x'], ['--test', '0.6', '--val', '0.5'], ['--seed', '1.5'], ['--stratify', 'scanner'], ['--check', '--force']]) {
      const r = segloop(['split', d, ...args, '--json']);
      expect(r.status, args.join(' ')).toBe(1);
      expect((r.json as { error: { code: string } }).error.code, args.join(' ')).toBe('INVALID_ARGUMENT');
    }
    const st = segloop(['split', d, '--check', '--json']).json as SplitStatus;
    expect(st.frozen).toBe(false);
    expect(st.counts.test.images).toBe(0);
  });
});
