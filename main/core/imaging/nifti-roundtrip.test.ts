// writeNifti output read back by nibabel, plus the reader's error paths and geometry checks.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import { TEMP_MARKER } from '../base/fs';
import {
  assertFinite,
  assertSameGeometry,
  axcodes,
  encodeNifti,
  readNifti,
  toCanonicalRas,
  writeNifti,
} from './nifti';
import type { Mat4, Volume } from './volume';

import { FORMATS, HIPPOCAMPUS as HIPPO } from '../../../tests/data-root';
const DUMP = path.resolve(__dirname, 'ref/nifti_dump.py');

interface Ref {
  shape: number[];
  dtype: string;
  affine: number[][];
  zooms: number[];
  qform_code: number;
  sform_code: number;
  sum: number;
  checksum: number;
  first: number[];
  descrip: string;
}

function nibabel(file: string): Ref {
  return (JSON.parse(execFileSync('/usr/bin/python3', [DUMP, file], { encoding: 'utf8' })) as Ref[])[0];
}

function sums(data: ArrayLike<number>): { sum: number; checksum: number } {
  let sum = 0;
  let checksum = 0;
  for (let n = 0; n < data.length; n++) {
    sum += data[n];
    checksum += data[n] * ((n % 997) + 1);
  }
  return { sum, checksum };
}

function expectAffine(actual: number[][], expected: number[][], tol = 1e-5): void {
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(Math.abs(actual[r][c] - expected[r][c]), `[${r}][${c}]`).toBeLessThanOrEqual(tol);
}

async function errorOf(fn: () => unknown): Promise<SegloopError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SegloopError);
    return err as SegloopError;
  }
  throw new Error('expected an error');
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-nifti-rt-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('writeNifti -> nibabel', () => {
  it('uint8 label (hippocampus_003 float32 label converted) round-trips', async () => {
    const src = await readNifti(path.join(HIPPO, 'labels/hippocampus_003.nii.gz'));
    expect(src.diskDtype).toBe('float32');
    const out = path.join(tmp, 'label.nii.gz');
    await writeNifti(out, src, { dtype: 'uint8', description: 'label v1' });
    const ref = nibabel(out);
    expect(ref.shape).toEqual(src.shape);
    expect(ref.dtype).toBe('uint8');
    expectAffine(ref.affine, src.affine);
    expect([ref.qform_code, ref.sform_code]).toEqual([1, 1]); // kept from the source header
    expect(ref.descrip).toBe('label v1');
    const s = sums(src.data);
    expect(ref.sum).toBe(s.sum);
    expect(ref.checksum).toBe(s.checksum);
    const back = await readNifti(out);
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.data)).toEqual(Array.from(src.data));
    // no temp file left behind
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('float32 image with an oblique, flipped affine round-trips (qform + sform)', async () => {
    const shape: [number, number, number] = [7, 5, 3];
    const data = new Float32Array(7 * 5 * 3).map((_, n) => Math.fround(Math.sin(n) * 1000 + n / 7));
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    // rotation about z, voxel sizes 0.8/1.2/2.5, x flipped (det < 0 -> qfac -1)
    const affine: Mat4 = [
      [-0.8 * c, -1.2 * s, 0, 12.5],
      [-0.8 * s, 1.2 * c, 0, -30],
      [0, 0, 2.5, 44],
      [0, 0, 0, 1],
    ];
    const out = path.join(tmp, 'pred.nii.gz');
    await writeNifti(out, { data, shape, affine });
    const ref = nibabel(out);
    expect(ref.dtype).toBe('float32');
    expect(ref.shape).toEqual(shape);
    expectAffine(ref.affine, affine);
    expect(ref.zooms.map((z) => Number(z.toFixed(5)))).toEqual([0.8, 1.2, 2.5]);
    expect(ref.first).toEqual(Array.from(data.subarray(0, 16)));
    const sm = sums(data);
    expect(Math.abs(ref.checksum - sm.checksum)).toBeLessThanOrEqual(1e-9 * Math.abs(sm.checksum));
    // the qform alone must give the same affine (checked by reading the qform back with sform off)
    const raw = gunzipSync(readFileSync(out));
    raw.writeInt16LE(0, 254); // sform_code = 0
    const qOnly = path.join(tmp, 'pred-qform-only.nii');
    writeFileSync(qOnly, raw);
    expectAffine(nibabel(qOnly).affine, affine);
    expectAffine((await readNifti(qOnly)).affine, affine);
  });

  it('2D (W,H,1) uint8 image round-trips uncompressed', async () => {
    const src = await readNifti(path.join(FORMATS, 'synthetic/2d_slice_w_h_1.nii.gz'));
    const out = path.join(tmp, 'slice.nii');
    await writeNifti(out, src);
    const ref = nibabel(out);
    expect(ref.shape).toEqual([8, 6, 1]);
    expect(ref.dtype).toBe('uint8');
    expectAffine(ref.affine, src.affine);
    expect(ref.sum).toBe(sums(src.data).sum);
    expect(readFileSync(out).length).toBe(352 + 48);
  });

  it('a sheared affine is kept in the sform and the qform is left unset', async () => {
    const affine: Mat4 = [
      [1, 0.3, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const out = path.join(tmp, 'shear.nii');
    await writeNifti(out, { data: new Uint8Array(8), shape: [2, 2, 2], affine });
    const ref = nibabel(out);
    expect(ref.qform_code).toBe(0);
    expectAffine(ref.affine, affine);
  });

  it('encodeNifti refuses values that do not fit the requested dtype, and nothing is written', async () => {
    const target = path.join(tmp, 'keep.nii.gz');
    await writeNifti(target, { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2], affine: identity() });
    const before = readFileSync(target);
    const bad = { data: new Float32Array([0, 1, 2, 300, 0, 0, 0, 0]), shape: [2, 2, 2] as [number, number, number], affine: identity() };
    const err = await errorOf(() => writeNifti(target, bad, { dtype: 'uint8' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('300');
    expect(readFileSync(target).equals(before)).toBe(true);
    expect((await errorOf(() => encodeNifti({ ...bad, data: new Float32Array([0.5, 0, 0, 0, 0, 0, 0, 0]) }, { dtype: 'uint8' }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await errorOf(() => encodeNifti({ ...bad, shape: [2, 2, 3] }))).code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(() => writeNifti(path.join(tmp, 'x.png'), bad))).code).toBe('INVALID_ARGUMENT');
    // The shared atomic writer creates missing folders (durably) rather than failing.
    await writeNifti(path.join(tmp, 'no/such/dir/x.nii'), { ...bad, data: new Uint8Array(8) }, { dtype: 'uint8' });
    expect(readFileSync(path.join(tmp, 'no/such/dir/x.nii')).length).toBe(352 + 8);
    expect(readdirSync(tmp).filter((f) => f.includes(TEMP_MARKER) || f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('reader errors and edge cases', () => {
  it('4D without a volume index -> NIFTI_4D_VOLUME_REQUIRED naming the count; a volume index selects it', async () => {
    const file = path.join(FORMATS, 'synthetic/4d_int16_t3.nii.gz');
    const err = await errorOf(() => readNifti(file));
    expect(err.code).toBe('NIFTI_4D_VOLUME_REQUIRED');
    expect(err.message).toContain('3 volumes');
    expect(err.message).toContain('4d_int16_t3.nii.gz');
    // value = 1+i+10j+100k+1000t
    const v2 = await readNifti(file, { volume: 2 });
    expect([v2.volumeIndex, v2.volumeCount, v2.data[0], v2.data[v2.data.length - 1]]).toEqual([2, 3, 2001, 2346]);
    expect((await errorOf(() => readNifti(file, { volume: 3 }))).code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(() => readNifti(file, { volume: 1.5 }))).code).toBe('INVALID_ARGUMENT');
  });

  it('dim[4] = 1 files load as 3D without a volume index', async () => {
    const img = await readNifti(path.join(FORMATS, 'nifti-reader-js/little.nii.gz'));
    expect([img.shape, img.fullShape, img.volumeCount]).toEqual([[64, 64, 21], [64, 64, 21, 1], 1]);
  });

  it('missing file -> FILE_NOT_FOUND; pair with its data file missing -> FILE_NOT_FOUND naming the .img', async () => {
    expect((await errorOf(() => readNifti(path.join(tmp, 'nope.nii.gz')))).code).toBe('FILE_NOT_FOUND');
    const hdr = path.join(tmp, 'lonely.hdr');
    copyFileSync(path.join(FORMATS, 'synthetic/pair_nifti1.hdr'), hdr);
    const err = await errorOf(() => readNifti(hdr));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.message).toContain('lonely.img');
  });

  it('opening a pair by its .img path works too', async () => {
    const img = await readNifti(path.join(FORMATS, 'synthetic/pair_nifti1.img'));
    expect([img.niftiVersion, img.data[0], img.data[img.data.length - 1]]).toEqual([1, 1, 346]);
  });

  it('a single-file header with vox_offset < 352 reads data from byte 352', async () => {
    // ../shared/data/hippocampus/README.md says those headers hold vox_offset 0 and scl_slope NaN;
    // that is what nibabel's in-memory img.header shows, the bytes on disk hold 352 and 1/0.
    // So the quirk is made here on a real file.
    const original = path.join(FORMATS, 'nibabel/anatomical.nii');
    const raw = readFileSync(original);
    expect(raw.readFloatBE(108)).toBe(352);
    raw.writeFloatBE(0, 108);
    const zeroed = path.join(tmp, 'vox_offset_0.nii');
    writeFileSync(zeroed, raw);
    const [a, b] = [await readNifti(original), await readNifti(zeroed)];
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('a file cut inside the header -> NIFTI_TRUNCATED; random bytes -> NOT_NIFTI', async () => {
    const cut = path.join(tmp, 'cut.nii');
    writeFileSync(cut, readFileSync(path.join(FORMATS, 'nibabel/anatomical.nii')).subarray(0, 200));
    expect((await errorOf(() => readNifti(cut))).code).toBe('NIFTI_TRUNCATED');
    const junk = path.join(tmp, 'junk.nii.gz');
    writeFileSync(junk, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
    expect(['NOT_NIFTI', 'NIFTI_TRUNCATED']).toContain((await errorOf(() => readNifti(junk))).code);
  });

  it('NaN voxels are counted; assertFinite throws IMAGE_HAS_NAN', async () => {
    const file = path.join(FORMATS, 'nibabel/resampled_anat_moved.nii');
    const img = await readNifti(file);
    expect(img.nanCount).toBe(153);
    const err = await errorOf(() => assertFinite(img, file));
    expect(err.code).toBe('IMAGE_HAS_NAN');
    expect(err.message).toContain('153 NaN');
    const inf = await readNifti(path.join(FORMATS, 'synthetic/dtype_float64_nan_inf.nii.gz'));
    expect((await errorOf(() => assertFinite(inf, 'x.nii'))).message).toContain('2 infinite');
    expect(() => assertFinite(img.data instanceof Float32Array ? { data: new Float32Array([1, 2]) } : img, file)).not.toThrow();
  });

  it('assertSameGeometry -> LABEL_GEOMETRY_MISMATCH with both values in the message', async () => {
    const image = await readNifti(path.join(HIPPO, 'images/hippocampus_003.nii.gz'));
    const other = await readNifti(path.join(HIPPO, 'labels/hippocampus_006.nii.gz'));
    const e1 = await errorOf(() => assertSameGeometry(image, other, { image: 'img_003', label: 'lab_006' }));
    expect(e1.code).toBe('LABEL_GEOMETRY_MISMATCH');
    expect(e1.message).toContain(`(${image.shape.join(', ')})`);
    expect(e1.message).toContain(`(${other.shape.join(', ')})`);
    expect(e1.message).toContain('lab_006');
    const moved: Volume = { ...image, affine: image.affine.map((r, i) => r.map((v, j) => (i === 0 && j === 3 ? v + 0.01 : v))) as Mat4 };
    const e2 = await errorOf(() => assertSameGeometry(image, moved, { image: 'a', label: 'b' }));
    expect(e2.code).toBe('LABEL_GEOMETRY_MISMATCH');
    expect(e2.message).toContain('1.01');
    const tiny: Volume = { ...image, affine: image.affine.map((r, i) => r.map((v, j) => (i === 0 && j === 3 ? v + 5e-5 : v))) as Mat4 };
    expect(() => assertSameGeometry(image, tiny, { image: 'a', label: 'b' })).not.toThrow();
  });

  it('toCanonicalRas keeps RGB channels together and leaves RAS images untouched', async () => {
    const rgb = await readNifti(path.join(FORMATS, 'synthetic/dtype_rgb24.nii.gz'));
    expect(toCanonicalRas(rgb)).toBe(rgb);
    const flipped: Volume = { ...rgb, affine: rgb.affine.map((r, i) => (i === 0 ? [-r[0], r[1], r[2], r[3]] : [...r])) as Mat4 };
    expect(axcodes(flipped.affine)).toBe('LAS');
    const c = toCanonicalRas(flipped);
    // new voxel (0,0,0) is old voxel (5,0,0): R=40*5, G=0, B=0
    expect(Array.from(c.data.subarray(0, 3))).toEqual([200, 0, 0]);
  });
});

function identity(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

it('test data present', () => {
  expect(existsSync(FORMATS) && existsSync(HIPPO)).toBe(true);
});
