// Generic file primitives: atomic writes (temp + fsync + rename + directory fsync), checksums, safe
// names and the disk-full mapping. No project knowledge here: project/files adds path confinement.
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
