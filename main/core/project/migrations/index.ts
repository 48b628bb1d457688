// Numbered migrations, tracked with PRAGMA user_version. All pending migrations of one open
// run in a single transaction: a project is either fully upgraded or left as it was.
import type Database from 'better-sqlite3';
import { SegloopError } from '../../../../shared/errors';
import { migration001 } from './001-initial';
import { migration002 } from './002-labelled-classes';
import { migration003 } from './003-segment-statuses';
import type { Migration } from './migration';

export type { Migration } from './migration';

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003];
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface MigrationResult {
  from: number;
  to: number;
  applied: string[];
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Throws PROJECT_NEWER_THAN_APP when the file was written by a newer Segloop. */
export function assertNotNewer(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  if (current > latest) {
    throw new SegloopError(
      'PROJECT_NEWER_THAN_APP',
      `${file} was saved by a newer version of Segloop (schema ${current}; this app knows up to ${latest}). Update Segloop to open it.`,
      { file, schemaVersion: current, appSchemaVersion: latest },
    );
  }
}

/**
 * Brings the database to the newest schema. `onApplied` runs inside the same transaction
 * (used to write the audit entry), so it commits or rolls back with the migration.
 */
export function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
  onApplied?: (result: MigrationResult) => void,
): MigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  assertNotNewer(db, file, migrations);
  const from = schemaVersion(db);
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from, applied: [] };
  const result: MigrationResult = {
    from,
    to: pending[pending.length - 1].version,
    applied: pending.map((m) => `${String(m.version).padStart(3, '0')}-${m.name}`),
  };
  db.transaction(() => {
    for (const m of pending) {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migration left ${broken.length} foreign key violation(s)`);
    onApplied?.(result);
  }).immediate();
  return result;
}
