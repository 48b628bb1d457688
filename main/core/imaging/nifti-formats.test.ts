// Every file of ../shared/data/formats against the values nibabel 5.0 recorded in EXPECTED.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import { axcodes, readNifti, toCanonicalRas, voxelToWorld, type NiftiImage } from './nifti';
import type { Mat4 } from './volume';

import { FORMATS } from '../../../tests/data-root';
type Num = number | string;
interface Entry {
  loads: boolean;
  shape?: number[];
  disk_dtype?: string;
  affine_nibabel?: number[][];
  qform?: number[][] | null;
  sform?: number[][] | null;
  zooms?: number[];
  axcodes?: string;
  scaling_applied?: { slope: number; inter: number };
  samples?: Array<{ index: number[]; value: Num | Num[] }>;
  stats?: Record<string, unknown>;
  world_mm_of_voxel?: Array<{ index: number[]; world_RAS_mm: number[] }>;
  closest_canonical_RAS?: { shape: number[]; affine: number[][]; value_at_000: number; value_at_last: number };
  raw_header?: { endianness?: string };
}
const EXPECTED = JSON.parse(readFileSync(path.join(FORMATS, 'EXPECTED.json'), 'utf8')) as Record<string, Entry>;
const entries = Object.entries(EXPECTED).filter(([k]) => !k.startsWith('_'));

/** Files nibabel rejects, and the code we must give. */
const FAILURES: Record<string, string> = {
  'negative/bad_magic.nii': 'NOT_NIFTI',
  'negative/empty.nii': 'FILE_EMPTY',
  'negative/truncated.nii.gz': 'NIFTI_TRUNCATED',
  'negative/truncated_data.nii': 'NIFTI_TRUNCATED',
  'nifti-reader-js/not-nifti.nii': 'NOT_NIFTI',
};
/** Files nibabel loads that we refuse on purpose: complex voxels mean the wrong series was picked. */
const REFUSED: Record<string, string> = {
  'synthetic/dtype_complex64.nii': 'NIFTI_UNSUPPORTED',
};

const DTYPES: Record<string, string> = {
  u1: 'uint8',
  i1: 'int8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  f4: 'float32',
  f8: 'float64',
};
function expectedDtype(d: string): string {
  if (d.startsWith('[')) return d.includes("'A'") ? 'rgba32' : 'rgb24';
  return DTYPES[d.slice(1)];
}

function toNum(v: Num): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

function expectClose(actual: number, expected: number, what: string, rel = 1e-6): void {
  if (Number.isNaN(expected)) {
    expect(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`).toBe(true);
    return;
  }
  if (!Number.isFinite(expected)) {
    expect(actual, what).toBe(expected);
    return;
  }
  const tol = Math.max(1e-9, rel * Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

function expectMat(actual: Mat4 | null, expected: number[][], what: string, tol = 1e-4): void {
  expect(actual, what).not.toBeNull();
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      expect(Math.abs(actual![r][c] - expected[r][c]), `${what}[${r}][${c}] ${actual![r][c]} vs ${expected[r][c]}`).toBeLessThanOrEqual(tol);
    }
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'loaded';
  } catch (err) {
    expect(err).toBeInstanceOf(SegloopError);
    return (err as SegloopError).code;
  }
}

/** All 3D volumes of a file (one for 3D files). */
async function readAll(file: string, shape: number[]): Promise<NiftiImage[]> {
  const count = shape.slice(3).reduce((a, b) => a * b, 1);
  if (count === 1) return [await readNifti(file)];
  expect(await codeOf(readNifti(file))).toBe('NIFTI_4D_VOLUME_REQUIRED');
  const out: NiftiImage[] = [];
  for (let v = 0; v < count; v++) out.push(await readNifti(file, { volume: v }));
  return out;
}

function volumeOf(index: number[], shape: number[]): number {
  let v = 0;
  let stride = 1;
  for (let d = 3; d < shape.length; d++) {
    v += (index[d] ?? 0) * stride;
    stride *= shape[d];
  }
  return v;
}

describe('readNifti against nibabel (formats/EXPECTED.json)', () => {
  for (const [name, exp] of entries) {
    const file = path.join(FORMATS, name);

    if (!exp.loads || REFUSED[name]) {
      const code = FAILURES[name] ?? REFUSED[name];
      it(`${name} is rejected with ${code}`, async () => {
        expect(code, `no expected error code listed for ${name}`).toBeDefined();
        let err: unknown;
        try {
          await readNifti(file);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(SegloopError);
        expect((err as SegloopError).code).toBe(code);
        // the message must name the file so a user knows which one is broken
        expect((err as SegloopError).message).toContain(path.basename(name));
      });
      continue;
    }

    it(`${name} matches nibabel`, async () => {
      const shape = exp.shape!;
      const vols = await readAll(file, shape);
      const img = vols[0];

      expect(img.fullShape).toEqual(shape);
      expect(img.shape).toEqual([shape[0], shape[1] ?? 1, shape[2] ?? 1]);
      expect(img.diskDtype).toBe(expectedDtype(exp.disk_dtype!));
      if (exp.raw_header?.endianness) expect(img.littleEndian).toBe(exp.raw_header.endianness === 'little');
      expectMat(img.affine, exp.affine_nibabel!, 'affine');
      if (exp.qform !== undefined) {
        if (exp.qform === null) expect(img.qform).toBeNull();
        else expectMat(img.qform, exp.qform, 'qform');
      }
      if (exp.sform !== undefined) {
        if (exp.sform === null) expect(img.sform).toBeNull();
        else expectMat(img.sform, exp.sform, 'sform');
      }
      const zooms = exp.zooms!;
      for (let d = 0; d < Math.min(3, zooms.length); d++) expectClose(img.spacing[d], zooms[d], `zoom ${d}`);
      expect(axcodes(img.affine)).toBe(exp.axcodes);
      if (exp.scaling_applied) {
        expectClose(img.sclSlope, exp.scaling_applied.slope, 'slope');
        expectClose(img.sclInter, exp.scaling_applied.inter, 'inter');
      }

      const [nx, ny] = img.shape;
      const ch = img.channels;
      for (const s of exp.samples ?? []) {
        const v = vols[volumeOf(s.index, shape)];
        const [i, j = 0, k = 0] = s.index;
        const at = (i + nx * (j + ny * k)) * ch;
        if (Array.isArray(s.value)) {
          expect(ch).toBe(s.value.length);
          s.value.forEach((c, n) => expectClose(v.data[at + n], toNum(c), `sample ${s.index} channel ${n}`));
        } else {
          expectClose(v.data[at], toNum(s.value), `sample ${s.index}`);
        }
      }

      const stats = exp.stats ?? {};
      if ('sum_finite' in stats) {
        let min = Infinity;
        let max = -Infinity;
        let sum = 0;
        let nan = 0;
        let inf = 0;
        for (const v of vols) {
          for (let n = 0; n < v.data.length; n++) {
            const x = v.data[n];
            if (Number.isNaN(x)) nan++;
            else if (!Number.isFinite(x)) inf++;
            else {
              sum += x;
              if (x < min) min = x;
              if (x > max) max = x;
            }
          }
        }
        expectClose(min, stats.min_finite as number, 'min');
        expectClose(max, stats.max_finite as number, 'max');
        expectClose(sum, stats.sum_finite as number, 'sum');
        expect(nan).toBe(stats.nan_count);
        expect(inf).toBe(stats.inf_count);
        expect(vols.reduce((a, v) => a + v.nanCount, 0)).toBe(stats.nan_count);
      } else {
        // RGB(A): per-channel stats
        const names = ['R', 'G', 'B', 'A'];
        for (let c = 0; c < ch; c++) {
          const st = stats[names[c]] as { min: number; max: number; sum: number };
          let min = Infinity;
          let max = -Infinity;
          let sum = 0;
          for (let n = c; n < img.data.length; n += ch) {
            const x = img.data[n];
            sum += x;
            min = Math.min(min, x);
            max = Math.max(max, x);
          }
          expect([min, max, sum]).toEqual([st.min, st.max, st.sum]);
        }
      }

      for (const w of exp.world_mm_of_voxel ?? []) {
        const world = voxelToWorld(img.affine, [w.index[0], w.index[1], w.index[2]]);
        world.forEach((x, d) => expect(Math.abs(x - w.world_RAS_mm[d]), `world ${w.index}`).toBeLessThanOrEqual(1e-4));
      }

      const canon = exp.closest_canonical_RAS;
      if (canon) {
        const c = toCanonicalRas(img);
        expect(c.shape).toEqual(canon.shape);
        expectMat(c.affine, canon.affine, 'canonical affine', 1e-5);
        expect(axcodes(c.affine)).toBe('RAS');
        expect(c.data[0]).toBe(canon.value_at_000);
        expect(c.data[c.data.length - 1]).toBe(canon.value_at_last);
        // every voxel keeps its world position: check all of them through both affines
        const [cx, cy] = c.shape;
        for (let n = 0; n < img.data.length; n += 7) {
          const i = n % nx;
          const j = Math.floor(n / nx) % ny;
          const k = Math.floor(n / (nx * ny));
          const w = voxelToWorld(img.affine, [i, j, k]);
          // find that world point in the canonical grid
          const inv = invertAffine(c.affine);
          const q = voxelToWorld(inv, w).map((x) => Math.round(x));
          expect(c.data[q[0] + cx * (q[1] + cy * q[2])]).toBe(img.data[n]);
        }
      }
    });
  }
});

function invertAffine(a: Mat4): Mat4 {
  // 3x3 inverse + translation
  const m = [0, 1, 2].map((r) => [a[r][0], a[r][1], a[r][2]]);
  const det =
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const inv = [
    [(m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det, (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det, (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det],
    [(m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det, (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det, (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det],
    [(m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det, (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det, (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det],
  ];
  const out = [0, 1, 2].map((r) => [...inv[r], -(inv[r][0] * a[0][3] + inv[r][1] * a[1][3] + inv[r][2] * a[2][3])]);
  out.push([0, 0, 0, 1]);
  return out as Mat4;
}
