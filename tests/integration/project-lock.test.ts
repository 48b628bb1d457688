// One writer per project, with real processes: a running `segloop serve` holds the lock, a second
// writer is refused with PROJECT_LOCKED naming it, read-only `info` still works and never runs
// recovery; after SIGKILL of the holder the next writer takes the stale lock over, logs it, and
// recovery quarantines (does not delete) what it cannot account for. Plus conflict-checked saves
// and a project.db deleted under an open store.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectStore } from '../../main/core/project';
import { failure } from '../expect-failure';
import { copyLabelledDemoCases } from './helpers/demo-labelled';
import { REPO, segloop } from './helpers/cli';

async function startServe(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/segloop.mjs'), 'serve', dir, '--no-ui', '--json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"url"')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return {
    pid: child.pid as number,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function newProject(): Promise<string> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-lock-'));
  const dir = path.join(tmp, 'p');
  const src = await copyLabelledDemoCases(tmp);
  expect(segloop(['init', dir]).status).toBe(0);
  const imp = segloop(['import', dir, '--images', src.images, '--labels', src.labels, '--schema', src.schema, '--json']);
  expect(imp.status, imp.stderr).toBe(0);
  return dir;
}

describe('project lock with real processes', () => {
  it('refuses a second writer, lets info read, and after SIGKILL takes over the stale lock and quarantines', async () => {
    const dir = await newProject();
    const serve = await startServe(dir);
    try {
      // An unknown file appears while serve runs: a read-only command must not touch it.
      mkdirSync(path.join(dir, 'labels', '999'), { recursive: true });
      writeFileSync(path.join(dir, 'labels', '999', 'someones-work.nii.gz'), 'committed elsewhere');

      const second = segloop(['serve', dir, '--no-ui', '--json']);
      expect(second.status).not.toBe(0);
      expect(second.json).toMatchObject({ ok: false, error: { code: 'PROJECT_LOCKED', details: { holder: { pid: serve.pid } } } });
      const train = segloop(['train', dir, '--epochs', '1', '--json']);
      expect(train.json).toMatchObject({ ok: false, error: { code: 'PROJECT_LOCKED' } });
      expect(train.stdout + train.stderr).toContain(`pid ${serve.pid}`);

      const info = segloop(['info', dir, '--json']);
      expect(info.status, info.stderr).toBe(0);
      expect(info.json).toMatchObject({ images: 5, labelVersions: 5 });
      expect(existsSync(path.join(dir, 'labels', '999', 'someones-work.nii.gz'))).toBe(true);
    } finally {
      await serve.kill();
    }

    const store = await ProjectStore.open(dir);
    try {
      const takeover = store.audit.list({ action: 'project.lock_takeover' });
      expect(takeover).toHaveLength(1);
      expect(takeover[0].details).toMatchObject({ previousHolder: { pid: serve.pid } });
      const recovered = store.audit.list({ action: 'project.recover' });
      expect(recovered.at(-1)?.details).toMatchObject({ quarantined: ['labels/999/someones-work.nii.gz'] });
      const q = String((recovered.at(-1)?.details as { quarantineDir: string }).quarantineDir);
      expect(readFileSync(path.join(dir, q, 'labels', '999', 'someones-work.nii.gz'), 'utf8')).toBe('committed elsewhere');
      expect(existsSync(path.join(dir, 'labels', '999'))).toBe(false);
    } finally {
      store.close();
    }
  }, 120_000);

  it('conflict-checked saves: of two saves on the same parent exactly one wins; a null parent over existing versions is a conflict', async () => {
    const dir = await newProject();
    const store = await ProjectStore.open(dir);
    try {
      const [img] = store.images.list();
      const parent = store.labelVersions.latestForImage(img.id);
      const bytes = (tag: string): Uint8Array => new TextEncoder().encode(`label ${tag}`);
      const results = await Promise.allSettled([
        store.addLabelVersionFile({ imageId: img.id, parentId: parent?.id ?? null, bytes: bytes('a'), source: 'manual', author: 'ann' }),
        store.addLabelVersionFile({ imageId: img.id, parentId: parent?.id ?? null, bytes: bytes('b'), source: 'manual', author: 'bob' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      const winner = store.labelVersions.latestForImage(img.id);
      expect(lost.reason).toMatchObject({ code: 'LABEL_CONFLICT', details: { latest: { id: String(winner?.id), author: 'ann' } } });
      const nullParent = await failure(store.addLabelVersionFile({ imageId: img.id, parentId: null, bytes: bytes('c'), source: 'manual', author: 'cy' }));
      expect(nullParent.code).toBe('LABEL_CONFLICT');
      // "Keep mine on top": the same bytes saved on the newest version succeed.
      const onTop = await store.addLabelVersionFile({ imageId: img.id, parentId: winner?.id ?? null, bytes: bytes('b'), source: 'manual', author: 'bob' });
      expect(onTop.row.parentId).toBe(winner?.id);
      expect(store.labelVersions.listForImage(img.id)).toHaveLength(3);
    } finally {
      store.close();
    }
  }, 120_000);

  it('refuses to write after project.db was deleted or swapped under the open store; nothing is written', async () => {
    const dir = await newProject();
    const store = await ProjectStore.open(dir);
    try {
      const [img] = store.images.list();
      const parent = store.labelVersions.latestForImage(img.id);
      const db = path.join(dir, 'project.db');
      const copy = `${db}.copy`;
      writeFileSync(copy, readFileSync(db));
      rmSync(db);
      const deleted = await failure(store.addLabelVersionFile({ imageId: img.id, parentId: parent?.id ?? null, bytes: new TextEncoder().encode('x'), source: 'manual', author: 'a' }));
      expect(deleted.code).toBe('PROJECT_MOVED');
      // Swapped: another file (another inode) now sits at project.db.
      writeFileSync(db, readFileSync(copy));
      const swapped = await failure(store.addLabelVersionFile({ imageId: img.id, parentId: parent?.id ?? null, bytes: new TextEncoder().encode('y'), source: 'manual', author: 'a' }));
      expect(swapped.code).toBe('PROJECT_MOVED');
      expect(existsSync(path.join(dir, 'labels', String(img.id)))).toBe(true);
      expect(store.labelVersions.listForImage(img.id)).toHaveLength(1);
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('project.db overwritten in place (same inode, other bytes) under an open writer', () => {
  it('refuses the next save with PROJECT_MOVED and writes nothing; a write by a second store of the same process is not mistaken for it', async () => {
    const dir = await newProject();
    const store = await ProjectStore.open(dir);
    try {
      const [img] = store.images.list();
      const db = path.join(dir, 'project.db');
      store.checkpoint();
      const older = readFileSync(db);
      const bytes = (t: string): Uint8Array => new TextEncoder().encode(`label ${t}`);
      const v1 = (await store.addLabelVersionFile({ imageId: img.id, parentId: store.labelVersions.latestForImage(img.id)?.id ?? null, bytes: bytes('1'), source: 'manual', author: 'a' })).row;
      // Another store of this process (shares the lock) writes and checkpoints: that is our own change.
      const twin = await ProjectStore.open(dir);
      const v2 = (await twin.addLabelVersionFile({ imageId: img.id, parentId: v1.id, bytes: bytes('2'), source: 'manual', author: 'a' })).row;
      twin.close();
      const v3 = (await store.addLabelVersionFile({ imageId: img.id, parentId: v2.id, bytes: bytes('3'), source: 'manual', author: 'a' })).row;
      store.checkpoint();
      const ino = statSync(db).ino;
      // An older backup copied over the file in place (cp keeps the inode).
      writeFileSync(db, older);
      expect(statSync(db).ino).toBe(ino);
      const filesBefore = readdirSync(path.join(dir, 'labels', String(img.id))).sort();
      const err = await failure(store.addLabelVersionFile({ imageId: img.id, parentId: v3.id, bytes: bytes('4'), source: 'manual', author: 'a' }));
      expect(err).toMatchObject({ code: 'PROJECT_MOVED', details: { reason: 'overwritten' } });
      expect(readdirSync(path.join(dir, 'labels', String(img.id))).sort()).toEqual(filesBefore);
      // Every write transaction is refused the same way, not only file saves.
      expect(() => store.images.setSplit([img.id], 'train')).toThrow(/overwritten by another program/);
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('segloop quarantine: the user inspects, restores and empties what recovery set aside', () => {
  it('lists with sizes, restores a file a row names, moves an orphan out with --to, empties only with --yes (audited)', async () => {
    const dir = await newProject();
    const db = path.join(dir, 'project.db');
    // An older project.db put back over a newer one: the newer label file looks unknown.
    const old = `${db}.old`;
    writeFileSync(old, readFileSync(db));
    let store = await ProjectStore.open(dir);
    const [img] = store.images.list();
    const parent = store.labelVersions.latestForImage(img.id);
    const newer = (await store.addLabelVersionFile({ imageId: img.id, parentId: parent?.id ?? null, bytes: new TextEncoder().encode('newer work'), source: 'manual', author: 'ann' })).row;
    store.close();
    const current = `${db}.current`;
    writeFileSync(current, readFileSync(db));
    writeFileSync(db, readFileSync(old));
    mkdirSync(path.join(dir, 'labels', '999'), { recursive: true });
    writeFileSync(path.join(dir, 'labels', '999', 'stray.nii.gz'), 'stray bytes');
    (await ProjectStore.open(dir)).close(); // recovery: both files go to the quarantine
    writeFileSync(db, readFileSync(current)); // the newer database is back: its row's file is missing
    expect(existsSync(path.join(dir, newer.path))).toBe(false);

    const list = segloop(['quarantine', dir, '--json']);
    expect(list.status, list.stderr).toBe(0);
    const listing = list.json as { entries: { id: string; originalPath: string; bytes: number; referencedBy: string | null }[]; totalBytes: number };
    expect(listing.entries.map((e) => e.originalPath).sort()).toEqual([newer.path, 'labels/999/stray.nii.gz'].sort());
    expect(listing.totalBytes).toBe('newer work'.length + 'stray bytes'.length);
    const mine = listing.entries.find((e) => e.originalPath === newer.path);
    const stray = listing.entries.find((e) => e.originalPath !== newer.path);
    expect(mine?.referencedBy).toBe(newer.path);
    expect(segloop(['quarantine', dir]).stdout).toContain('2 file(s)');

    // The orphan cannot go back into the project (it would only be quarantined again) ...
    const refused = segloop(['quarantine', dir, '--restore', String(stray?.id), '--json']);
    expect(refused.json).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    // ... the named one can.
    const back = segloop(['quarantine', dir, '--restore', String(mine?.id), '--json']);
    expect(back.status, back.stdout + back.stderr).toBe(0);
    expect(readFileSync(path.join(dir, newer.path), 'utf8')).toBe('newer work');
    const out = path.join(path.dirname(dir), 'rescued.nii.gz');
    expect(segloop(['quarantine', dir, '--restore', String(stray?.id), '--to', out, '--json']).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('stray bytes');
    expect(segloop(['quarantine', dir, '--restore', '../../project.db', '--json']).json).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    // Emptying: refused without --yes (nothing deleted), done with it, and recorded.
    writeFileSync(path.join(dir, 'labels', String(img.id), 'another-stray.nii'), 'another');
    (await ProjectStore.open(dir)).close();
    const ask = segloop(['quarantine', dir, '--empty', '--json']);
    expect(ask.json).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED', details: { files: 1 } } });
    expect((segloop(['quarantine', dir, '--json']).json as { entries: unknown[] }).entries).toHaveLength(1);
    const emptied = segloop(['quarantine', dir, '--empty', '--yes', '--json']);
    expect(emptied.json).toMatchObject({ ok: true, deleted: 1, bytes: 'another'.length });
    expect((segloop(['quarantine', dir, '--json']).json as { entries: unknown[] }).entries).toHaveLength(0);
    store = await ProjectStore.open(dir, { readOnly: true });
    try {
      expect(store.audit.list({ action: 'quarantine.restore' })).toHaveLength(2);
      expect(store.audit.list({ action: 'quarantine.empty' })[0]?.details).toMatchObject({ deleted: [{ bytes: 'another'.length }], bytes: 'another'.length });
      expect((await store.checkIntegrity()).ok).toBe(true);
    } finally {
      store.close();
    }
  }, 180_000);
});
