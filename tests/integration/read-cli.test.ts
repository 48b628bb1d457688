// `segloop read` against nibabel's truth (../shared/data/formats/EXPECTED.json) for every file:
// shape, affine to 1e-4, sampled voxel values and statistics; clear errors on the ones that must fail.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA } from './helpers/cli';
import { readSummary, type ReadSummary } from '../../main/core/imaging/nifti-summary';
import { spawnSync } from 'node:child_process';

const FORMATS = path.join(DATA, 'formats');
type Expected = {
  loads: boolean;
  shape?: number[];
  affine_nibabel?: number[][];
  samples?: { index: number[]; value: number | string | (number | string)[] }[];
  stats?: { min_finite: number | null; max_finite: number | null; sum_finite: number; nan_count: number; inf_count: number };
};
const expected = JSON.parse(readFileSync(path.join(FORMATS, 'EXPECTED.json'), 'utf8')) as Record<string, Expected>;
const entries = Object.entries(expected).filter(([k]) => !k.startsWith('_'));

// We refuse complex64 on purpose (nibabel loads it): complex voxels have no meaning for segmentation.
const REFUSED_ON_PURPOSE: Record<string, string> = { 'synthetic/dtype_complex64.nii': 'NIFTI_UNSUPPORTED' };

// Scaled 16-bit data is float32 in our reader (float64 in nibabel's get_fdata): compare relatively.
const close = (a: number | null, b: number | null): void => {
  expect(a).not.toBeNull();
  expect(Math.abs((a as number) - (b as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b as number)));
};
const num = (v: number | string): number => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v));

describe('segloop read agrees with nibabel on every file of ../shared/data/formats', () => {
  it('covers every entry of EXPECTED.json', () => {
    expect(entries.length).toBeGreaterThanOrEqual(50);
  });

  for (const [name, exp] of entries) {
    const file = path.join(FORMATS, name);
    if (!exp.loads || REFUSED_ON_PURPOSE[name]) {
      it(`${name}: fails with a clear error`, async () => {
        const err = await readSummary(file).catch((e: unknown) => e as { code: string; message: string });
        expect(err).toMatchObject({ code: REFUSED_ON_PURPOSE[name] ?? expect.stringMatching(/^(NOT_NIFTI|FILE_EMPTY|NIFTI_TRUNCATED)$/) });
        expect((err as { message: string }).message).toContain(path.basename(name));
      });
      continue;
    }
    it(`${name}: shape, affine, voxel values and statistics`, async () => {
      const s: ReadSummary = await readSummary(file, { voxels: (exp.samples ?? []).map((x) => x.index.join(',')) });
      expect(s.shape).toEqual(exp.shape);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(Math.abs(s.affine[r][c] - exp.affine_nibabel![r][c])).toBeLessThan(1e-4);
      s.voxels.forEach((v, i) => {
        const want = exp.samples![i].value;
        if (Array.isArray(want)) expect(v.value).toEqual(want.map(num));
        else if (typeof want === 'string') expect(v.value).toBe(num(want));
        else close(v.value as number, want);
      });
      if (exp.stats && s.channels === 1) {
        expect(s.nanCount).toBe(exp.stats.nan_count);
        expect(s.infCount).toBe(exp.stats.inf_count);
        close(s.min, exp.stats.min_finite);
        close(s.max, exp.stats.max_finite);
        expect(Math.abs(s.sum! - exp.stats.sum_finite)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(exp.stats.sum_finite)));
      }
    });
  }

  it('the real command prints JSON that matches, and exits 1 with the code on a bad file', () => {
    const bin = path.resolve(__dirname, '../../bin/segloop.mjs');
    const ok = spawnSync(process.execPath, [bin, 'read', path.join(FORMATS, 'synthetic/orient_LPS.nii.gz'), '--json'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const s = JSON.parse(ok.stdout) as ReadSummary;
    expect(s.axcodes).toBe('LPS');
    expect(s.affine).toEqual(expected['synthetic/orient_LPS.nii.gz'].affine_nibabel);
    const bad = spawnSync(process.execPath, [bin, 'read', path.join(FORMATS, 'negative/truncated_data.nii')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^segloop: NIFTI_TRUNCATED: .*truncated_data\.nii/);
  });
});
