// Connection settings and the transaction/error plumbing shared by the repositories.
import Database from 'better-sqlite3';
import { SegloopError } from '../../../shared/errors';
import type { JsonObject, MutationOptions } from './types';

export type Db = Database.Database;

export const DEFAULT_BUSY_TIMEOUT_MS = 250;

export function openDatabase(file: string, options: { create: boolean; readOnly?: boolean; busyTimeoutMs?: number }): Db {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: !options.create, readonly: options.readOnly ?? false });
  } catch (err) {
    throw new SegloopError('PROJECT_CORRUPT', `Cannot open ${file}: ${(err as Error).message}`, { file });
  }
  try {
    // A non-SQLite file only fails at the first read, so probe before touching the journal mode.
    db.pragma('schema_version');
    if (!options.readOnly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // Short: better-sqlite3 waits synchronously, so a long timeout freezes every request of the
    // process while another process holds the database; BUSY is answered instead.
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
    // FULL: a commit the user was told about survives a power cut (files are fsynced too).
    db.pragma('synchronous = FULL');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB' || (err as { code?: string }).code === 'SQLITE_CORRUPT') {
      throw new SegloopError('PROJECT_CORRUPT', `${file} is not a Segloop project database (${(err as Error).message}).`, { file });
    }
    throw mapSqliteError(err);
  }
  return db;
}

/** What every repository needs: the connection, a clock, the actor and the audit writer. */
export class RepoContext {
  constructor(
    readonly db: Db,
    private readonly clock: () => Date,
    readonly defaultActor: string,
    /** Runs before every outermost write transaction (the store checks its database file is still there). */
    private readonly beforeWrite: () => void = () => undefined,
    /** Runs after every outermost write transaction that committed (the store notes the file's new state). */
    private readonly afterWrite: () => void = () => undefined,
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
      if (this.db.inTransaction) return this.db.transaction(fn).immediate();
      this.beforeWrite();
      const out = this.db.transaction(fn).immediate();
      this.afterWrite();
      return out;
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
  if (!code.startsWith('SQLITE_')) return err;
  const details = { cause: code };
  // SHMSIZE: the WAL index could not grow, which on Linux means the disk (or tmpfs) is full.
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || code === 'SQLITE_IOERR_SHORT_READ') {
    return new SegloopError('DISK_FULL', 'The disk is full: free some space and try again. Nothing was saved.', details);
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new SegloopError('INVALID_ARGUMENT', `The project database refused the change: ${err.message}`, details);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SegloopError('BUSY', 'The project database is busy (another program is writing to it): try again in a moment. Nothing was saved.', details);
  }
  if (code === 'SQLITE_READONLY_DBMOVED') {
    return new SegloopError('PROJECT_MOVED', 'project.db was moved or deleted while the project was open: nothing was saved. Reopen the project.', details);
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new SegloopError('PROJECT_READ_ONLY', `The project is open read-only: ${err.message}`, details);
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SegloopError('PROJECT_CORRUPT', `The project database is damaged: ${err.message}. Nothing was saved.`, details);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new SegloopError('PROJECT_MOVED', `The project database cannot be opened any more: ${err.message}`, details);
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new SegloopError('PROJECT_CORRUPT', `The project database could not be read or written (${code}): ${err.message}. Nothing was saved.`, details);
  }
  return new SegloopError('INTERNAL_ERROR', `Project database error (${code}): ${err.message}`, details);
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
