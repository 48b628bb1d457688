// File primitives of the project folder: path confinement; the generic atomic writes and checksums
// live in base/fs and are re-exported here for the project's callers.
// Voxel files are written FIRST (atomically) and referenced by DB rows afterwards, so a crash
// leaves at worst an unreferenced file that recover() removes, never a row without its file.
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { sha256File } from '../base/fs';

export {
  TEMP_MARKER,
  defaultIo,
  diskFullError,
  fsyncDir,
  isDiskFullError,
  safeFileName,
  sha256Bytes,
  sha256File,
  writeFileAtomic,
  type AtomicWriteIo,
} from '../base/fs';

/**
 * Maps a path given relative to the project folder onto an absolute path inside it.
 * Rejects absolute paths, `..` segments, NUL bytes and symlinks that lead out of the folder.
 */
export async function resolveInProject(projectDir: string, relPath: string): Promise<string> {
  const reject = (reason: string): SegloopError =>
    new SegloopError('PATH_OUTSIDE_PROJECT', `"${relPath}" is not a path inside the project folder ${projectDir}: ${reason}.`, {
      projectDir,
      path: relPath,
    });
  if (typeof relPath !== 'string' || relPath.length === 0) throw reject('the path is empty');
  if (relPath.includes('\0')) throw reject('the path contains a NUL byte');
  if (path.isAbsolute(relPath) || path.win32.isAbsolute(relPath) || /^[a-zA-Z]:/.test(relPath)) {
    throw reject('absolute paths are not allowed');
  }
  const segments = relPath.split(/[\\/]+/);
  if (segments.includes('..')) throw reject('".." is not allowed');

  const root = await fsp.realpath(projectDir);
  const abs = path.resolve(root, ...segments.filter((s) => s !== '' && s !== '.'));
  if (!isInside(root, abs)) throw reject('it resolves outside the folder');

  // Follow symlinks on the longest existing prefix: a link inside the folder may point out of it.
  let probe = abs;
  for (;;) {
    try {
      const real = await fsp.realpath(probe);
      if (!isInside(root, real)) throw reject('a symbolic link leads outside the folder');
      break;
    } catch (err) {
      if (err instanceof SegloopError) throw err;
      const code = (err as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      // A dangling link still points somewhere: refuse it if that somewhere is outside.
      const link = await fsp.readlink(probe).catch(() => null);
      if (link !== null && !isInside(root, path.resolve(path.dirname(probe), link))) {
        throw reject('a symbolic link leads outside the folder');
      }
      const parent = path.dirname(probe);
      if (parent === probe) break;
      probe = parent;
    }
  }
  return abs;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Turns an absolute path inside the project into the stored form (forward slashes). */
export function toProjectRelative(projectDir: string, absPath: string): string {
  return path.relative(projectDir, absPath).split(path.sep).join('/');
}

interface Verified {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

// Once per file per process: a file whose inode, size and times are unchanged since it matched
// its recorded sha256 still holds those bytes (any write or link change moves mtime/ctime).
const verifiedFiles = new Map<string, Verified>();

/**
 * A stored voxel file about to be handed to a reader (the renderer, a download): confined to the
 * project, a plain file (no symlink, no second hard link — either could expose bytes from outside
 * the project), and holding exactly the bytes its row records. A mismatch is CHECKSUM_MISMATCH,
 * never the wrong bytes.
 */
export async function verifyStoredFile(projectDir: string, relPath: string, sha256: string): Promise<{ absPath: string; size: number }> {
  const absPath = await resolveInProject(projectDir, relPath);
  const st = await fsp.lstat(absPath).catch((err: { code?: string }) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
  if (st === null || (!st.isFile() && !st.isSymbolicLink())) {
    throw new SegloopError('FILE_NOT_FOUND', `${relPath} is registered in the project but missing on disk: run \`segloop info\` and restore it from a backup.`, { path: relPath });
  }
  if (st.isSymbolicLink()) {
    throw new SegloopError('PATH_OUTSIDE_PROJECT', `${relPath} is a symbolic link: Segloop never stores one, so it is not served.`, { path: relPath, reason: 'symlink' });
  }
  if (st.nlink > 1) {
    throw new SegloopError('PATH_OUTSIDE_PROJECT', `${relPath} is a hard link (${st.nlink} names share its bytes, possibly outside the project): it is not served. Replace it with a plain copy.`, {
      path: relPath,
      reason: 'hardlink',
      links: st.nlink,
    });
  }
  const seen = verifiedFiles.get(absPath);
  const fresh = seen && seen.dev === st.dev && seen.ino === st.ino && seen.size === st.size && seen.mtimeMs === st.mtimeMs && seen.ctimeMs === st.ctimeMs && seen.sha256 === sha256;
  if (!fresh) {
    const actual = await sha256File(absPath);
    if (actual !== sha256) {
      verifiedFiles.delete(absPath);
      throw new SegloopError('CHECKSUM_MISMATCH', `${relPath} no longer holds the bytes the project recorded (sha256 differs): it was changed outside Segloop and is not served.`, {
        path: relPath,
        expected: sha256,
        actual,
      });
    }
    verifiedFiles.set(absPath, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256 });
  }
  return { absPath, size: st.size };
}
