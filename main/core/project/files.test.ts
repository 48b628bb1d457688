import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import { failure } from '../../../tests/expect-failure';
import { defaultIo, resolveInProject, safeFileName, sha256Bytes, sha256File, TEMP_MARKER, writeFileAtomic, type AtomicWriteIo } from './files';

import { HIPPOCAMPUS } from '../../../tests/data-root';
const HIPPO = path.join(HIPPOCAMPUS, 'images/hippocampus_003.nii.gz');

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'segloop-files-'));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof SegloopError ? err.code : `not a SegloopError: ${String(err)}`;
}

describe('resolveInProject', () => {
  const root = tmpDir();
  const outside = tmpDir();
  mkdirSync(path.join(root, 'labels', '3'), { recursive: true });
  writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  symlinkSync(outside, path.join(root, 'labels', 'escape-dir'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape-file'));
  symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
  symlinkSync(path.join(root, 'labels', '3'), path.join(root, 'inside-link'));

  it('maps relative paths (existing or not) into the folder', async () => {
    const real = await import('node:fs/promises').then((f) => f.realpath(root));
    expect(await resolveInProject(root, 'labels/3/5.nii.gz')).toBe(path.join(real, 'labels/3/5.nii.gz'));
    expect(await resolveInProject(root, 'images/new/dir/x.nii')).toBe(path.join(real, 'images/new/dir/x.nii'));
    expect(await resolveInProject(root, './labels//3/')).toBe(path.join(real, 'labels/3'));
    expect(await resolveInProject(root, 'inside-link/a.nii')).toBe(path.join(real, 'inside-link/a.nii'));
  });

  it.each([
    ['../x.nii.gz'],
    ['labels/../../x'],
    ['labels/3/../../..'],
    ['..\\windows\\x'],
    ['/etc/passwd'],
    ['C:\\Windows\\system32'],
    ['c:relative-to-drive'],
    [''],
    ['labels/\0.nii'],
    ['labels/escape-dir/secret.txt'],
    ['labels/escape-dir/new-file.nii'],
    ['escape-file'],
    ['dangling'],
    ['dangling/child'],
  ])('rejects %j with PATH_OUTSIDE_PROJECT', async (rel) => {
    expect(await codeOf(resolveInProject(root, rel))).toBe('PATH_OUTSIDE_PROJECT');
  });

  it('names the path and the folder in the message', async () => {
    const err = await failure(resolveInProject(root, '../../etc/passwd'));
    expect(err.message).toContain('../../etc/passwd');
    expect(err.message).toContain(root);
  });
});

describe('writeFileAtomic', () => {
  it('writes, creates folders, replaces, and leaves no temp file', async () => {
    const dir = tmpDir();
    const target = path.join(dir, 'a', 'b', 'file.bin');
    await writeFileAtomic(target, Buffer.from('first'));
    await writeFileAtomic(target, Buffer.from('second, longer'));
    expect(readFileSync(target, 'utf8')).toBe('second, longer');
    expect(readdirSync(path.dirname(target))).toEqual(['file.bin']);
  });

  it.each(['ENOSPC', 'EDQUOT'])('turns %s half-way through into DISK_FULL and keeps the old content', async (code) => {
    const dir = tmpDir();
    const target = path.join(dir, 'label.nii.gz');
    writeFileSync(target, 'old version');
    const failing: AtomicWriteIo = {
      ...defaultIo,
      async write(handle, bytes) {
        await handle.write(bytes, 0, bytes.byteLength >> 1); // half of it reaches the disk...
        throw Object.assign(new Error(`${code}: no space left on device, write`), { code }); // ...then the disk is full
      },
    };
    const err = await failure(writeFileAtomic(target, Buffer.alloc(4096, 7), failing));
    expect(err).toBeInstanceOf(SegloopError);
    expect(err.code).toBe('DISK_FULL');
    expect(err.message).toContain('label.nii.gz');
    expect(readFileSync(target, 'utf8')).toBe('old version');
    expect(readdirSync(dir)).toEqual(['label.nii.gz']);
  });

  it('passes other errors through unchanged and still cleans up', async () => {
    const dir = tmpDir();
    const failing: AtomicWriteIo = {
      ...defaultIo,
      async fsync() {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      },
    };
    await expect(writeFileAtomic(path.join(dir, 'x'), Buffer.from('x'), failing)).rejects.toMatchObject({ code: 'EIO' });
    expect(readdirSync(dir).filter((f) => f.includes(TEMP_MARKER))).toEqual([]);
  });
});

describe('checksums', () => {
  it('match sha256sum on a real NIfTI file', async () => {
    const expected = execFileSync('sha256sum', [HIPPO], { encoding: 'utf8' }).split(' ')[0];
    expect(await sha256File(HIPPO)).toBe(expected);
    expect(sha256Bytes(readFileSync(HIPPO))).toBe(expected);
  });

  it('matches the published SHA-256 test vector', () => {
    expect(sha256Bytes(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('safeFileName', () => {
  it('keeps ordinary names and neutralises paths and odd characters', () => {
    expect(safeFileName('hippocampus_001.nii.gz')).toBe('hippocampus_001.nii.gz');
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('C:\\scans\\Patient A (1).nii')).toBe('Patient_A_1_.nii');
    expect(safeFileName('...')).toBe('file');
    expect(safeFileName(`x${TEMP_MARKER}1`)).toBe('file');
  });
});
