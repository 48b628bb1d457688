import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegloopError } from '../../../../shared/errors';
import { ProjectStore } from '../project-store';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, type Migration } from './index';

const FIXTURE_V1 = path.resolve(__dirname, '../../../../tests/fixtures/project-v1.sql');

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'segloop-migrations-'));
}

/** A project folder whose project.db is the hand-written version-1 fixture. */
function v1Project(): string {
  const dir = tmpDir();
  const db = new Database(path.join(dir, 'project.db'));
  db.exec(readFileSync(FIXTURE_V1, 'utf8'));
  db.close();
  return dir;
}

function columns(db: Database.Database): Record<string, string[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  return Object.fromEntries(
    tables.map((t) => [
      t.name,
      (db.pragma(`table_info(${t.name})`) as { name: string; type: string; notnull: number; pk: number }[]).map(
        (c) => `${c.name}:${c.type}:${c.notnull}:${c.pk}`,
      ),
    ]),
  );
}

function objects(db: Database.Database, type: 'index' | 'trigger'): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`).all(type) as { name: string }[]).map(
    (r) => r.name,
  );
}

describe('migrations', () => {
  it('are numbered 1..N without gaps and a new project is at the latest version', async () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    const store = await ProjectStore.create(tmpDir(), { name: 'fresh' });
    expect(store.database.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(store.migration.applied).toEqual(['001-initial', '002-labelled-classes', '003-segment-statuses']);
    store.close();
  });

  it('upgrades a version-1 project in place, keeping its data, to the same schema as a new project', async () => {
    const dir = v1Project();
    const store = await ProjectStore.open(dir, { recover: false });
    expect(store.migration).toEqual({ from: 1, to: 3, applied: ['002-labelled-classes', '003-segment-statuses'] });
    expect(store.database.pragma('user_version', { simple: true })).toBe(3);

    // Data survived, and the new column means "all classes" for old labels.
    expect(store.name).toBe('Old hippocampus project');
    expect(store.images.require(1).shape).toEqual([35, 51, 35]);
    const lv = store.labelVersions.require(1);
    expect(lv.labelledClasses).toBeNull();
    expect(lv.source).toBe('imported');
    expect(store.labelSchema.list().map((c) => c.name)).toEqual(['background', 'anterior', 'posterior']);

    // The upgrade is in the audit log, after the old entries.
    const audit = store.audit.list();
    expect(audit.map((a) => a.action)).toEqual(['project.create', 'project.migrate']);
    expect(audit[1].details).toEqual({ from: 1, to: 3, applied: ['002-labelled-classes', '003-segment-statuses'] });

    // Triggers carried over and still hold on the upgraded table.
    expect(() => store.database.prepare('UPDATE label_versions SET author = ? WHERE id = 1').run('mallory')).toThrow(/immutable/);

    // Same tables, columns, indexes and triggers as a project created by this version.
    const fresh = await ProjectStore.create(tmpDir(), { name: 'fresh' });
    expect(columns(store.database)).toEqual(columns(fresh.database));
    expect(objects(store.database, 'index')).toEqual(objects(fresh.database, 'index'));
    expect(objects(store.database, 'trigger')).toEqual(objects(fresh.database, 'trigger'));
    expect(store.database.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(store.database.pragma('foreign_key_check')).toEqual([]);
    fresh.close();
    store.close();

    // Re-opening does nothing more.
    const again = await ProjectStore.open(dir, { recover: false });
    expect(again.migration.applied).toEqual([]);
    again.close();
  });

  it('refuses a project written by a newer Segloop and leaves it untouched', async () => {
    const dir = v1Project();
    const raw = new Database(path.join(dir, 'project.db'));
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 7}`);
    raw.close();
    const before = readFileSync(path.join(dir, 'project.db'));
    const err = await ProjectStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegloopError);
    expect((err as SegloopError).code).toBe('PROJECT_NEWER_THAN_APP');
    expect((err as SegloopError).message).toContain(`schema ${LATEST_SCHEMA_VERSION + 7}`);
    const check = new Database(path.join(dir, 'project.db'));
    expect(check.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION + 7);
    expect((check.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBe(1);
    check.close();
    expect(before.length).toBeGreaterThan(0);
  });

  it('rolls back every pending migration when one fails', () => {
    const dir = v1Project();
    const db = new Database(path.join(dir, 'project.db'));
    const addsTable: Migration = { version: 4, name: 'adds-table', up: (d) => d.exec('CREATE TABLE extra (id INTEGER PRIMARY KEY)') };
    const fails: Migration = { version: 5, name: 'fails', up: (d) => d.exec('ALTER TABLE no_such_table ADD COLUMN x TEXT') };
    expect(() => migrate(db, 'project.db', [...MIGRATIONS, addsTable, fails])).toThrow(/no_such_table/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const cols = (db.pragma('table_info(label_versions)') as { name: string }[]).map((c) => c.name);
    expect(cols).not.toContain('labelled_classes');
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toBeUndefined();
    db.close();
  });

  it('rejects a migration list with a gap', () => {
    const db = new Database(':memory:');
    const bad: Migration = { version: MIGRATIONS.length + 2, name: 'gap', up: () => undefined };
    expect(() => migrate(db, ':memory:', [...MIGRATIONS, bad])).toThrow(new RegExp(`expected ${MIGRATIONS.length + 1}`));
    db.close();
  });

  it('reports a project.db that is not a database as PROJECT_CORRUPT', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'project.db'), 'this is a text file, not SQLite'.repeat(40));
    const err = await ProjectStore.open(dir).catch((e: unknown) => e);
    expect((err as SegloopError).code).toBe('PROJECT_CORRUPT');
    expect((err as SegloopError).message).toContain('project.db');
  });
});
