/* eslint-disable no-restricted-imports -- this test runs in Node to read reference files and call nibabel; the module under test stays free of Node built-ins. */
// The renderer's NIfTI parser against nibabel on real files: hippocampus (vox_offset 0, NaN
// scl_slope, float32 and uint8), big-endian, scaled, qform-only, sform-only and 2D files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNifti, percentiles, toLpsGeometry } from './nifti-parse';
import { DATA_ROOT } from '../../../tests/data-root';

const DATA = DATA_ROOT;
const FILES = [
  'hippocampus/images/hippocampus_003.nii.gz',
  'hippocampus/images/hippocampus_210.nii.gz',
  'hippocampus/labels/hippocampus_003.nii.gz',
  'formats/nibabel/anatomical.nii',
  'formats/synthetic/bigendian_int16_scaled.nii.gz',
  'formats/synthetic/scaled_int16_slope0.5_inter-10.nii',
  'formats/synthetic/orient_qform_only_qfac-1.nii.gz',
  'formats/synthetic/orient_sform_only.nii.gz',
  'formats/synthetic/orient_LPS.nii.gz',
  'formats/synthetic/2d_slice_w_h_1.nii.gz',
];

const PY = `
import json, sys, nibabel as nib, numpy as np
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    d = np.asanyarray(img.dataobj).astype(np.float64)
    d = d.reshape(d.shape[:3] if d.ndim >= 3 else d.shape + (1,) * (3 - d.ndim), order='F') if d.ndim <= 3 else d[..., 0]
    flat = d.ravel(order='F')
    idx = [0, len(flat) // 3, len(flat) // 2, len(flat) - 1]
    out.append({"shape": list(d.shape), "affine": img.affine.tolist(), "sum": float(flat.sum()), "samples": [float(flat[i]) for i in idx], "idx": idx})
print(json.dumps(out))
`;

describe('renderer NIfTI parser', () => {
  const refs = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY, ...FILES.map((f) => path.join(DATA, f))], { encoding: 'utf8' })) as {
    shape: number[];
    affine: number[][];
    sum: number;
    samples: number[];
    idx: number[];
  }[];

  it.each(FILES.map((f, i) => [f, i] as const))('matches nibabel on %s', async (file, i) => {
    const bytes = readFileSync(path.join(DATA, file));
    const img = await parseNifti(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, file);
    const ref = refs[i];
    expect(img.shape).toEqual(ref.shape);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(img.affine[r][c]).toBeCloseTo(ref.affine[r][c], 4);
    ref.idx.forEach((k, j) => expect(img.data[k]).toBeCloseTo(ref.samples[j], 2));
    let sum = 0;
    for (const v of img.data) sum += v;
    expect(Math.abs(sum - ref.sum)).toBeLessThanOrEqual(Math.abs(ref.sum) * 1e-5 + 1e-3);
  });

  it('rejects an empty, a non-NIfTI and a truncated file, naming the file', async () => {
    const bad = readFileSync(path.join(DATA, 'formats/negative/bad_magic.nii'));
    const empty = new ArrayBuffer(10);
    await expect(parseNifti(empty, 'empty.nii')).rejects.toThrow(/empty\.nii: too short/);
    const trunc = readFileSync(path.join(DATA, 'formats/negative/truncated_data.nii'));
    await expect(parseNifti(trunc.buffer.slice(trunc.byteOffset, trunc.byteOffset + trunc.byteLength) as ArrayBuffer, 'cut.nii')).rejects.toThrow(/cut\.nii: the file is truncated/);
    await expect(parseNifti(bad.buffer.slice(bad.byteOffset, bad.byteOffset + bad.byteLength) as ArrayBuffer, 'bad.nii')).rejects.toThrow(/bad\.nii: not a NIfTI-1 file/);
  });

  it('maps a RAS affine to Cornerstone LPS geometry', () => {
    const g = toLpsGeometry([
      [1.5, 0, 0, 10],
      [0, 2, 0, -20],
      [0, 0, 3, 30],
      [0, 0, 0, 1],
    ]);
    expect(g.origin).toEqual([-10, 20, 30]);
    expect(g.spacing).toEqual([1.5, 2, 3]);
    expect(g.direction.map((v) => v + 0)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });

  it('windows by percentiles, not by an outlier maximum', () => {
    const d = new Float32Array(1000).map((_, i) => i);
    d[999] = 1.7e6;
    const [p1, p99] = percentiles(d, [1, 99]);
    expect(p1).toBeCloseTo(10, 0);
    expect(p99).toBeLessThan(1000);
  });
});
