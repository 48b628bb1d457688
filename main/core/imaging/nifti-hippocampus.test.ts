// All 400 hippocampus files (200 images + 200 labels) read by readNifti and by nibabel.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSameGeometry, readNifti, type NiftiImage } from './nifti';

import { HIPPOCAMPUS as ROOT } from '../../../tests/data-root';
const DUMP = path.resolve(__dirname, 'ref/nifti_dump.py');
const ids = readdirSync(path.join(ROOT, 'images'))
  .filter((f) => f.endsWith('.nii.gz'))
  .sort();
const files = ids.flatMap((f) => [path.join(ROOT, 'images', f), path.join(ROOT, 'labels', f)]);

interface Ref {
  file: string;
  shape: number[];
  dtype: string;
  affine: number[][];
  zooms: number[];
  sum: number;
  checksum: number;
  nan_count: number;
  first: number[];
  descrip: string;
}

let refs: Ref[] = [];
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-nifti-'));
  const list = path.join(tmp, 'files.txt');
  writeFileSync(list, files.join('\n'));
  refs = JSON.parse(execFileSync('/usr/bin/python3', [DUMP, '--list', list], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Ref[];
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sums(img: NiftiImage): { sum: number; checksum: number } {
  let sum = 0;
  let checksum = 0;
  const d = img.data;
  for (let n = 0; n < d.length; n++) {
    sum += d[n];
    checksum += d[n] * ((n % 997) + 1);
  }
  return { sum, checksum };
}

describe('hippocampus set: readNifti == nibabel', () => {
  it('has 400 files', () => {
    expect(files.length).toBe(400);
    expect(refs.length).toBe(400);
  });

  it('every image and label matches nibabel (shape, dtype, affine, zooms, sums, first voxels)', async () => {
    for (const ref of refs) {
      const img = await readNifti(ref.file);
      const name = path.basename(path.dirname(ref.file)) + '/' + path.basename(ref.file);
      expect(img.shape, name).toEqual(ref.shape);
      expect(img.diskDtype, name).toBe(ref.dtype);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(Math.abs(img.affine[r][c] - ref.affine[r][c]), name).toBeLessThanOrEqual(1e-6);
      expect(img.spacing, name).toEqual(ref.zooms);
      // scl_slope 1 / scl_inter 0 on disk (nibabel's img.header shows NaN): no scaling
      expect([img.sclSlope, img.sclInter], name).toEqual([1, 0]);
      expect(img.nanCount, name).toBe(ref.nan_count);
      expect(img.description, name).toBe(ref.descrip);
      const { sum, checksum } = sums(img);
      expect(Math.abs(sum - ref.sum), `${name} sum ${sum} vs ${ref.sum}`).toBeLessThanOrEqual(1e-9 * Math.abs(ref.sum) + 1e-9);
      expect(Math.abs(checksum - ref.checksum), `${name} checksum`).toBeLessThanOrEqual(1e-9 * Math.abs(ref.checksum) + 1e-9);
      expect(Array.from(img.data.subarray(0, 16)), name).toEqual(ref.first);
    }
  });

  it('every label lies on its image grid (assertSameGeometry)', async () => {
    for (const id of ids) {
      const image = await readNifti(path.join(ROOT, 'images', id));
      const label = await readNifti(path.join(ROOT, 'labels', id));
      expect(() => assertSameGeometry(image, label, { image: id, label: id })).not.toThrow();
    }
  });
});
