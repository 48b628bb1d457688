// File primitives of the project folder: path confinement; the generic atomic writes and checksums
// live in base/fs and are re-exported here for the project's callers.
// Voxel files are written FIRST (atomically) and referenced by DB rows afterwards, so a crash
// leaves at worst an unreferenced file that recover() removes, never a row without its file.
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';

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
