// Connection settings and the transaction/error plumbing shared by the repositories.
import Database from 'better-sqlite3';
import { SegloopError } from '../../../shared/errors';
import type { JsonObject, MutationOptions } from './types';

export type Db = Database.Database;

export function openDatabase(file: string, options: { create: boolean }): Db {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: !options.create });
  } catch (err) {
    throw new SegloopError('PROJECT_CORRUPT', `Cannot open ${file}: ${(err as Error).message}`, { file });
  }
  try {
    // A non-SQLite file only fails at the first read, so probe before touching the journal mode.
    db.pragma('schema_version');
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // FULL: a commit the user was told about survives a power cut (files are fsynced too).
    db.pragma('synchronous = FULL');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB' || (err as { code?: string }).code === 'SQLITE_CORRUPT') {
      throw new SegloopError('PROJECT_CORRUPT', `${file} is not a Segloop project database (${(err as Error).message}).`, { file });
    }
    throw err;
  }
  return db;
}

/** What every repository needs: the connection, a clock, the actor and the audit writer. */
export class RepoContext {
  constructor(
    readonly db: Db,
    private readonly clock: () => Date,
    readonly defaultActor: string,
  ) {}

  now(): string {
    return this.clock().toISOString();
  }

  actor(opts?: MutationOptions): string {
    return opts?.actor ?? this.defaultActor;
  }

  /** Runs fn in a transaction (a savepoint when nested); SQLite errors become SegloopErrors. */
  tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  /** Appends to audit_log; call inside the transaction of the mutation it records. */
  audit(action: string, entity: string, entityId: number | null, details: JsonObject | null, opts?: MutationOptions): void {
    this.db
      .prepare('INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(this.now(), this.actor(opts), action, entity, entityId, details === null ? null : JSON.stringify(details));
  }
}

export function mapSqliteError(err: unknown): unknown {
  if (err instanceof SegloopError || !(err instanceof Error)) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') {
    return new SegloopError('DISK_FULL', 'The disk is full: free some space and try again. Nothing was saved.', { cause: code });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new SegloopError('INVALID_ARGUMENT', `The project database refused the change: ${err.message}`, { cause: code });
  }
  return err;
}

export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function fromJsonRequired<T>(text: string): T {
  return JSON.parse(text) as T;
}
