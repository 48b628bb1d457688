import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrate } from './migrations';
import { LABEL_SOURCES, MODEL_STATUSES, TRAINING_RUN_STATUSES } from './types';
import { SEGMENT_STATUSES } from '../../../shared/vocabulary';

// The word lists live in shared/; the database enforces its own copy through CHECK constraints
// written in a migration. Both must agree, or a value the contract accepts fails on INSERT.
function checkList(db: Database.Database, table: string, column: string): string[] {
  const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { sql: string }).sql;
  const m = new RegExp(`${column}\\s+TEXT[^,]*CHECK\\s*\\(\\s*${column}\\s+IN\\s*\\(([^)]*)\\)`, 'i').exec(sql);
  if (!m) throw new Error(`no CHECK list for ${table}.${column}`);
  return m[1].split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
}

describe('project vocabulary', () => {
  it('matches the CHECK constraints of the migrated schema', () => {
    const db = new Database(':memory:');
    migrate(db, ':memory:');
    expect(checkList(db, 'label_versions', 'source')).toEqual([...LABEL_SOURCES]);
    expect(checkList(db, 'models', 'status')).toEqual([...MODEL_STATUSES]);
    expect(checkList(db, 'training_runs', 'status')).toEqual([...TRAINING_RUN_STATUSES]);
    expect(checkList(db, 'segment_statuses', 'status')).toEqual([...SEGMENT_STATUSES]);
    db.close();
  });
});
