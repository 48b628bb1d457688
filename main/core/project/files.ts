// File primitives of the project folder: path confinement, atomic writes, checksums.
// Voxel files are written FIRST (atomically) and referenced by DB rows afterwards, so a crash
// leaves at worst an unreferenced file that recover() removes, never a row without its file.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';

/** Marker in the names of temp files; recover() deletes any file carrying it. */
export const TEMP_MARKER = '.segloop-tmp-';

/** The low-level write steps, replaceable in tests to simulate a full disk or a crash. */
export interface AtomicWriteIo {
  write(handle: fsp.FileHandle, bytes: Uint8Array): Promise<void>;
  fsync(handle: fsp.FileHandle): Promise<void>;
}

export const defaultIo: AtomicWriteIo = {
  async write(handle, bytes) {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
      offset += bytesWritten;
    }
  },
  async fsync(handle) {
    await handle.sync();
  },
};

export function isDiskFullError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export function diskFullError(target: string, cause: unknown): SegloopError {
  return new SegloopError(
    'DISK_FULL',
    `The disk is full while writing ${target}: free some space and try again. Nothing was saved.`,
    { path: target, cause: (cause as { code?: string }).code ?? String(cause) },
  );
}

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

/**
 * Writes bytes so that `absPath` either keeps its old state or holds all of `bytes`:
 * temp file in the same directory, fsync, rename, fsync of the directory.
 * ENOSPC/EDQUOT become DISK_FULL and the temp file is removed.
 */
export async function writeFileAtomic(absPath: string, bytes: Uint8Array, io: AtomicWriteIo = defaultIo): Promise<void> {
  const dir = path.dirname(absPath);
  const tmp = path.join(dir, `.${path.basename(absPath)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  try {
    const madeTop = await fsp.mkdir(dir, { recursive: true });
    // New directories must be durable too, or the renamed file could vanish with its folder.
    if (madeTop !== undefined) {
      for (let d = path.dirname(madeTop); ; d = path.join(d, path.relative(d, dir).split(path.sep)[0])) {
        await fsyncDir(d);
        if (d === path.dirname(dir)) break;
      }
    }
    const handle = await fsp.open(tmp, 'wx');
    try {
      await io.write(handle, bytes);
      await io.fsync(handle);
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, absPath);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (isDiskFullError(err)) throw diskFullError(absPath, err);
    throw err;
  }
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS renames are journalled anyway.
  if (process.platform === 'win32') return;
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(absPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(absPath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A file name safe on every platform, keeping the (double) extension when possible. */
export function safeFileName(name: string, fallback = 'file'): string {
  const base = path.basename(name.replace(/\\/g, '/'));
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(-120);
  return cleaned.length > 0 && !cleaned.includes(TEMP_MARKER) ? cleaned : fallback;
}
