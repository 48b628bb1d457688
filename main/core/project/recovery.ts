// After a crash the folder may hold temp files of interrupted writes and complete files whose
// DB rows were never committed (files are written before rows). Temp files of our own atomic
// writer are removed; any other unreferenced file is MOVED to .segloop/quarantine/<date>/ and
// kept until a user empties the quarantine: it may be committed work (an older project.db put
// back, a second process). A row whose file is missing is reported, never repaired silently.
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import type { Db } from './db';
import { sha256File, TEMP_MARKER, toProjectRelative } from './files';

/** Folders whose every file must be referenced by a row. Anything else in the project is left alone. */
export const MANAGED_DIRS = ['images', 'labels', 'predictions', 'models'] as const;

export const QUARANTINE_DIR = '.segloop/quarantine';

export interface RecoveryReport {
  removedTempFiles: string[];
  /** Unreferenced files moved (not deleted) into the quarantine, by their former relative path. */
  quarantined: string[];
  /** Where they went (relative to the project), or null when nothing was moved. */
  quarantineDir: string | null;
  /** Rows whose file is gone (relative paths); never deleted automatically. */
  missingFiles: string[];
}

export interface IntegrityReport {
  ok: boolean;
  /** PRAGMA integrity_check output ('ok' when healthy). */
  integrity: string[];
  foreignKeyViolations: number;
  missingFiles: string[];
  checksumMismatches: string[];
  tempFiles: string[];
  orphanFiles: string[];
}

/** Every (path, sha256) a row refers to. */
export function referencedFiles(db: Db): Map<string, string> {
  const rows = db
    .prepare(
      `SELECT path, sha256 FROM images
       UNION SELECT path, sha256 FROM label_versions
       UNION SELECT path, sha256 FROM predictions
       UNION SELECT uncertainty_path, uncertainty_sha256 FROM predictions WHERE uncertainty_path IS NOT NULL
       UNION SELECT weights_path, weights_sha256 FROM models WHERE weights_path IS NOT NULL`,
    )
    .all() as { path: string; sha256: string }[];
  return new Map(rows.map((r) => [r.path, r.sha256]));
}

/** Regular files under the managed folders, relative to the project; symlinks are reported as files too. */
export async function listManagedFiles(projectDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else out.push(toProjectRelative(projectDir, abs));
    }
  };
  for (const d of MANAGED_DIRS) await walk(path.join(projectDir, d));
  return out.sort();
}

async function exists(abs: string): Promise<boolean> {
  return fsp.lstat(abs).then(
    () => true,
    () => false,
  );
}

/** Exactly the names writeFileAtomic gives its temp files: `.<name>.segloop-tmp-<12 hex>`. */
export function isOwnTempFile(rel: string): boolean {
  const base = path.posix.basename(rel);
  const i = base.lastIndexOf(TEMP_MARKER);
  return base.startsWith('.') && i > 1 && /^[0-9a-f]{12}$/.test(base.slice(i + TEMP_MARKER.length));
}

export async function findStrayFiles(projectDir: string, db: Db): Promise<{ temp: string[]; orphans: string[]; missing: string[] }> {
  const referenced = referencedFiles(db);
  const files = await listManagedFiles(projectDir);
  const temp = files.filter((f) => isOwnTempFile(f));
  const orphans = files.filter((f) => !isOwnTempFile(f) && !referenced.has(f));
  const missing: string[] = [];
  for (const rel of referenced.keys()) if (!(await exists(path.join(projectDir, rel)))) missing.push(rel);
  return { temp, orphans, missing: missing.sort() };
}

export async function quarantineStrayFiles(projectDir: string, db: Db, nowIso: string): Promise<RecoveryReport> {
  const { temp, orphans, missing } = await findStrayFiles(projectDir, db);
  for (const rel of temp) await fsp.rm(path.join(projectDir, rel), { force: true });
  let quarantineDir: string | null = null;
  if (orphans.length > 0) {
    quarantineDir = `${QUARANTINE_DIR}/${nowIso.replace(/[:.]/g, '-')}`;
    for (const rel of orphans) {
      const to = path.join(projectDir, quarantineDir, ...rel.split('/'));
      await fsp.mkdir(path.dirname(to), { recursive: true });
      // Same file system (inside the project): a rename, atomic, the bytes never copied.
      await fsp.rename(path.join(projectDir, rel), to);
    }
  }
  await removeEmptyDirs(projectDir);
  return { removedTempFiles: temp, quarantined: orphans, quarantineDir, missingFiles: missing };
}

async function removeEmptyDirs(projectDir: string): Promise<void> {
  const prune = async (dir: string, keep: boolean): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await prune(path.join(dir, e.name), false);
    if (!keep && (await fsp.readdir(dir)).length === 0) await fsp.rmdir(dir).catch(() => undefined);
  };
  for (const d of MANAGED_DIRS) await prune(path.join(projectDir, d), true);
}

export async function checkIntegrity(projectDir: string, db: Db, options: { checksums: boolean }): Promise<IntegrityReport> {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  const foreignKeyViolations = (db.pragma('foreign_key_check') as unknown[]).length;
  const { temp, orphans, missing } = await findStrayFiles(projectDir, db);
  const checksumMismatches: string[] = [];
  if (options.checksums) {
    for (const [rel, sha] of referencedFiles(db)) {
      if (missing.includes(rel)) continue;
      if ((await sha256File(path.join(projectDir, rel))) !== sha) checksumMismatches.push(rel);
    }
  }
  return {
    ok:
      integrity.length === 1 &&
      integrity[0] === 'ok' &&
      foreignKeyViolations === 0 &&
      missing.length === 0 &&
      checksumMismatches.length === 0 &&
      temp.length === 0 &&
      orphans.length === 0,
    integrity,
    foreignKeyViolations,
    missingFiles: missing,
    checksumMismatches: checksumMismatches.sort(),
    tempFiles: temp,
    orphanFiles: orphans,
  };
}

export interface QuarantineEntry {
  /** `<batch>/<original relative path>`: the id `segloop quarantine --restore` takes. */
  id: string;
  /** The recovery run that set it aside (its date folder). */
  batch: string;
  /** Where the file was in the project. */
  originalPath: string;
  bytes: number;
  /** A row that names this path, if any (then restoring puts a missing file back). */
  referencedBy: string | null;
}

export interface QuarantineListing {
  dir: string;
  entries: QuarantineEntry[];
  totalBytes: number;
}

/** What recovery set aside, oldest batch first (read-only: safe while another process writes). */
export async function listQuarantine(projectDir: string, db: Db): Promise<QuarantineListing> {
  const root = path.join(projectDir, QUARANTINE_DIR);
  const referenced = referencedFiles(db);
  const entries: QuarantineEntry[] = [];
  const batches = (await fsp.readdir(root, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const batch of batches) {
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) await walk(abs);
        else {
          const originalPath = path.relative(path.join(root, batch), abs).split(path.sep).join('/');
          const st = await fsp.lstat(abs);
          entries.push({ id: `${batch}/${originalPath}`, batch, originalPath, bytes: st.size, referencedBy: referenced.has(originalPath) ? originalPath : null });
        }
      }
    };
    await walk(path.join(root, batch));
  }
  entries.sort((a, b) => (a.batch === b.batch ? a.originalPath.localeCompare(b.originalPath) : a.batch.localeCompare(b.batch)));
  return { dir: QUARANTINE_DIR, entries, totalBytes: entries.reduce((n, e) => n + e.bytes, 0) };
}

/** The absolute path of a quarantine entry id, refusing anything that is not one. */
export function quarantineEntryPath(projectDir: string, id: string): string {
  const segments = id.split('/');
  if (segments.length < 2 || segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0') || s.includes('\\'))) {
    throw new SegloopError('NOT_FOUND', `"${id}" is not a quarantine entry: use an id listed by \`segloop quarantine <dir>\`.`, { id });
  }
  return path.join(projectDir, QUARANTINE_DIR, ...segments);
}

/**
 * Takes one file out of the quarantine: to `to` (anywhere, never over an existing file), or, when
 * no `to` is given, back to its original place — allowed only where a row names that path, the
 * file is missing there and the bytes match the row (otherwise the next recovery would just set
 * it aside again). Needs the write lock (the caller holds it); the caller audits.
 */
export async function restoreQuarantined(projectDir: string, db: Db, id: string, to?: string): Promise<{ from: string; to: string; bytes: number }> {
  const abs = quarantineEntryPath(projectDir, id);
  const st = await fsp.lstat(abs).catch(() => null);
  if (!st?.isFile()) throw new SegloopError('NOT_FOUND', `There is no quarantined file "${id}": list them with \`segloop quarantine <dir>\`.`, { id });
  let target: string;
  if (to !== undefined) {
    target = path.resolve(to);
  } else {
    const originalPath = id.split('/').slice(1).join('/');
    const sha = referencedFiles(db).get(originalPath);
    if (sha === undefined) {
      throw new SegloopError('INVALID_ARGUMENT', `No row of the project names ${originalPath}, so putting it back would only quarantine it again at the next start: give --to <file> to take it out of the project instead.`, { id });
    }
    if ((await sha256File(abs)) !== sha) {
      throw new SegloopError('CHECKSUM_MISMATCH', `${id} is not the file the project records at ${originalPath} (sha256 differs): give --to <file> to take it out instead.`, { id });
    }
    target = path.join(projectDir, ...originalPath.split('/'));
  }
  if (await exists(target)) throw new SegloopError('INVALID_ARGUMENT', `${target} already exists: nothing was moved (choose another --to).`, { id, to: target });
  await fsp.mkdir(path.dirname(target), { recursive: true });
  try {
    await fsp.link(abs, target);
    await fsp.rm(abs);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
    // Another file system: copy (never overwriting), then drop the quarantined copy.
    await fsp.copyFile(abs, target, fsConstants.COPYFILE_EXCL);
    await fsp.rm(abs);
  }
  await removeEmptyUnder(path.join(projectDir, QUARANTINE_DIR));
  return { from: id, to: target, bytes: st.size };
}

/** Deletes every quarantined file (or one batch's). Only on a user's explicit request. */
export async function emptyQuarantine(projectDir: string, db: Db, batch?: string): Promise<QuarantineEntry[]> {
  const listing = await listQuarantine(projectDir, db);
  const doomed = listing.entries.filter((e) => batch === undefined || e.batch === batch);
  if (batch !== undefined && doomed.length === 0) throw new SegloopError('NOT_FOUND', `There is no quarantine batch "${batch}".`, { batch });
  for (const e of doomed) await fsp.rm(quarantineEntryPath(projectDir, e.id));
  await removeEmptyUnder(path.join(projectDir, QUARANTINE_DIR));
  return doomed;
}

async function removeEmptyUnder(root: string): Promise<void> {
  const prune = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await prune(path.join(dir, e.name));
    if (dir !== root && (await fsp.readdir(dir).catch(() => ['x'])).length === 0) await fsp.rmdir(dir).catch(() => undefined);
  };
  await prune(root);
}
