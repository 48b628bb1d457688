// One writer per project. The lock is an SQLite file (.segloop/lock.db) held with BEGIN EXCLUSIVE
// for as long as the project is open for writing: the operating system drops that lock when the
// holder dies (even by SIGKILL), so a dead writer can never leave a lock nobody may take, and
// there is no pid-reuse guesswork. Beside it, .segloop/lock.json says who holds it (pid, host,
// start time, command) so a refused second writer can name the holder; a lock.json left by a
// process that no longer holds the lock is a stale lock and is reported to the next writer.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { diskFullError, isDiskFullError } from '../base/fs';
import { mapSqliteError } from './db';

export const SEGLOOP_DIR = '.segloop';
export const LOCK_DB = 'lock.db';
export const LOCK_INFO = 'lock.json';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  nonce: string;
}

export interface ProjectLock {
  readonly dir: string;
  readonly holder: LockHolder;
  /** True when this call took the lock (refcount 0 -> 1); recovery runs only then. */
  readonly fresh: boolean;
  /** The holder named by a lock.json left behind by a process that died holding the lock. */
  readonly staleHolder: LockHolder | null;
  release(): void;
}

interface Held {
  refs: number;
  db: Database.Database;
  holder: LockHolder;
}

// Stores opened twice in one process share the lock (tests and the app open a second store on the
// same folder); only the first opener may run recovery.
const held = new Map<string, Held>();

function currentCommand(): string {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2);
  return args.length ? `segloop ${args.join(' ')}` : path.basename(process.argv[1] ?? process.argv0);
}

export function readLockHolder(projectDir: string): LockHolder | null {
  try {
    const v = JSON.parse(readFileSync(path.join(projectDir, SEGLOOP_DIR, LOCK_INFO), 'utf8')) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string') return null;
    return { pid: v.pid, host: v.host, startedAt: String(v.startedAt ?? ''), command: String(v.command ?? ''), nonce: String(v.nonce ?? '') };
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Takes the exclusive write lock of `projectDir` (an absolute, real path) or throws PROJECT_LOCKED. */
export function acquireProjectLock(projectDir: string, options: { command?: string } = {}): ProjectLock {
  const existing = held.get(projectDir);
  if (existing) {
    existing.refs++;
    return handle(projectDir, existing, false, null);
  }
  const dir = path.join(projectDir, SEGLOOP_DIR);
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, LOCK_DB));
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code?.startsWith('SQLITE_LOCKED')) {
      throw lockedError(projectDir);
    }
    // SQLITE_FULL (a full disk) and the like: one of the project's codes, not a raw SqliteError.
    throw mapSqliteError(err);
  }
  const previous = readLockHolder(projectDir);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command: options.command ?? currentCommand(),
    nonce: randomBytes(8).toString('hex'),
  };
  const tmp = path.join(dir, `.${LOCK_INFO}.${holder.nonce}`);
  try {
    writeFileSync(tmp, JSON.stringify(holder, null, 2));
    renameSync(tmp, path.join(dir, LOCK_INFO));
  } catch (err) {
    rmSync(tmp, { force: true });
    db.exec('ROLLBACK');
    db.close();
    if (isDiskFullError(err)) throw diskFullError(path.join(dir, LOCK_INFO), err);
    throw err;
  }
  const entry: Held = { refs: 1, db, holder };
  held.set(projectDir, entry);
  return handle(projectDir, entry, true, previous);
}

function handle(projectDir: string, entry: Held, fresh: boolean, staleHolder: LockHolder | null): ProjectLock {
  let released = false;
  return {
    dir: projectDir,
    holder: entry.holder,
    fresh,
    staleHolder,
    release() {
      if (released) return;
      released = true;
      if (--entry.refs > 0) return;
      held.delete(projectDir);
      // lock.json first: whoever takes the lock next must not see us as a stale holder.
      if (readLockHolder(projectDir)?.nonce === entry.holder.nonce) rmSync(path.join(projectDir, SEGLOOP_DIR, LOCK_INFO), { force: true });
      try {
        entry.db.exec('ROLLBACK');
      } finally {
        entry.db.close();
      }
    },
  };
}

function lockedError(projectDir: string): SegloopError {
  // The holder writes lock.json right after taking the lock: give it a moment if we are early.
  let holder = readLockHolder(projectDir);
  for (let i = 0; i < 10 && (holder === null || (holder.host === os.hostname() && !pidAlive(holder.pid))); i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    holder = readLockHolder(projectDir);
  }
  const who = holder ? `\`${holder.command || 'segloop'}\` (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})` : 'another process';
  return new SegloopError(
    'PROJECT_LOCKED',
    `${projectDir} is already open for writing by ${who}. Only one program may change a project at a time: close it there, or use a read-only command (info, diagnose).`,
    { dir: projectDir, holder: holder ? { pid: holder.pid, host: holder.host, startedAt: holder.startedAt, command: holder.command } : null },
  );
}
