// After a crash the folder may hold temp files of interrupted writes and complete files whose
// DB rows were never committed (files are written before rows). Temp files of our own atomic
// writer are removed; any other unreferenced file is MOVED to .segloop/quarantine/<date>/ and
// kept until a user empties the quarantine: it may be committed work (an older project.db put
// back, a second process). A row whose file is missing is reported, never repaired silently.
import * as fsp from 'node:fs/promises';
import path from 'node:path';
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
