// Hostile-size NIfTI files: the reader refuses a header that asks for more than the stated bound
// before allocating, never inflates a gzip stream past what the header needs, and import refuses
// a geometry that cannot be placed in space. (The broad mutation sweep is tests/fuzz.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { failure } from '../../../tests/expect-failure';
import { identity4 } from './geometry';
import { assertUsableGeometry, encodeNifti, readNifti } from './nifti';
import { maxImageBytes } from './nifti-read';

const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-nifti-bounds-'));
const saved = process.env.SEGLOOP_MAX_IMAGE_BYTES;
afterEach(() => {
  if (saved === undefined) delete process.env.SEGLOOP_MAX_IMAGE_BYTES;
  else process.env.SEGLOOP_MAX_IMAGE_BYTES = saved;
});

async function expectSegloopError(p: Promise<unknown>, code: string) {
  const err = await failure(p);
  expect(err.code).toBe(code);
  return err;
}

function small(): Buffer {
  const data = new Uint8Array(4 * 4 * 4).map((_, i) => i);
  return encodeNifti({ data, shape: [4, 4, 4], affine: identity4() });
}

function withDims(nii: Buffer, dims: [number, number, number]): Buffer {
  const out = Buffer.from(nii);
  dims.forEach((d, i) => out.writeInt16LE(d, 42 + 2 * i));
  return out;
}

describe('NIfTI size bounds', () => {
  it('states a 2 GiB default bound that SEGLOOP_MAX_IMAGE_BYTES overrides', () => {
    delete process.env.SEGLOOP_MAX_IMAGE_BYTES;
    expect(maxImageBytes()).toBe(2 * 1024 ** 3);
    process.env.SEGLOOP_MAX_IMAGE_BYTES = '1000';
    expect(maxImageBytes()).toBe(1000);
  });

  it('refuses dims asking for terabytes before reading the data (IMAGE_TOO_LARGE, with the sizes)', async () => {
    const file = path.join(dir, 'huge.nii');
    writeFileSync(file, withDims(small(), [32767, 32767, 32767]));
    const err = await expectSegloopError(readNifti(file), 'IMAGE_TOO_LARGE');
    expect(err.details).toMatchObject({ bytes: 32767 ** 3, limit: 2 * 1024 ** 3 });
    expect(err.message).toMatch(/32767x32767x32767/);
  });

  it('applies the bound to a real image too (1 MiB float32 under a 512 KiB limit)', async () => {
    const file = path.join(dir, 'cube.nii.gz');
    writeFileSync(file, zlib.gzipSync(encodeNifti({ data: new Float32Array(64 ** 3), shape: [64, 64, 64], affine: identity4() })));
    expect((await readNifti(file)).data.length).toBe(64 ** 3);
    process.env.SEGLOOP_MAX_IMAGE_BYTES = String(512 * 1024);
    await expectSegloopError(readNifti(file), 'IMAGE_TOO_LARGE');
  });

  it('reads a small header followed by a gzip bomb (1 GiB of zeros) by inflating only what the header needs', async () => {
    const zeros = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat([zlib.gzipSync(small()), ...Array.from({ length: 16 }, () => zeros)]);
    const file = path.join(dir, 'bomb.nii.gz');
    writeFileSync(file, bomb);
    const before = process.memoryUsage().arrayBuffers;
    const img = await readNifti(file);
    expect(img.shape).toEqual([4, 4, 4]);
    expect(Array.from(img.data.slice(0, 5))).toEqual([0, 1, 2, 3, 4]);
    // the 1 GiB was never materialised (a bound, not a timing: 256 MiB of slack)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('refuses a gzip bomb whose header claims huge dims without inflating it', async () => {
    const zeros = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const file = path.join(dir, 'bomb-huge.nii.gz');
    writeFileSync(file, Buffer.concat([zlib.gzipSync(withDims(small(), [4096, 4096, 4096])), zeros, zeros]));
    await expectSegloopError(readNifti(file), 'IMAGE_TOO_LARGE');
  });

  it('names a truncated gzip stream NIFTI_TRUNCATED', async () => {
    const gz = zlib.gzipSync(encodeNifti({ data: new Float32Array(32 ** 3).map(Math.random), shape: [32, 32, 32], affine: identity4() }));
    const file = path.join(dir, 'cut.nii.gz');
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    await expectSegloopError(readNifti(file), 'NIFTI_TRUNCATED');
  });
});

describe('assertUsableGeometry (import refuses what cannot be placed in space)', () => {
  const vol = (spacing: [number, number, number], shape: [number, number, number] = [4, 4, 4], affine = identity4()) => ({ shape, spacing, affine });

  it('accepts an ordinary volume and a W x H x 1 image whose singleton axis has pixdim 0', () => {
    expect(() => assertUsableGeometry(vol([1, 1, 1]), 'a.nii')).not.toThrow();
    const flat = identity4();
    flat[2][2] = 0;
    expect(() => assertUsableGeometry(vol([0.1, 0.1, 0], [800, 540, 1], flat), 'us.nii')).not.toThrow();
  });

  it.each([
    ['zero', [1, 0, 1]],
    ['NaN', [NaN, 1, 1]],
    ['infinite', [1, 1, Infinity]],
  ] as const)('refuses a %s voxel size along a real axis', (_name, spacing) => {
    expect(() => assertUsableGeometry(vol([...spacing] as [number, number, number]), 'b.nii')).toThrow(expect.objectContaining({ code: 'IMAGE_GEOMETRY_INVALID' }));
  });

  it('refuses a non-finite or singular affine', () => {
    const nan = identity4();
    nan[0][3] = NaN;
    expect(() => assertUsableGeometry(vol([1, 1, 1], [4, 4, 4], nan), 'c.nii')).toThrow(/not finite/);
    const singular = identity4();
    singular[1] = [0, 0, 0, 0];
    expect(() => assertUsableGeometry(vol([1, 1, 1], [4, 4, 4], singular), 'd.nii')).toThrow(/singular/);
  });
});
