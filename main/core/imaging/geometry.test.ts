// Geometry functions against nibabel on many random affines: axis codes, as_closest_canonical
// and the qform nibabel would write for an affine.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { affineToQform, axcodes, qformToAffine, toCanonicalRas } from './geometry';
import type { Mat4, Volume } from './volume';

const REF = path.resolve(__dirname, 'ref/nifti_geometry.py');

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function rotation(r: () => number): number[][] {
  // random unit quaternion -> rotation
  const q = [r() - 0.5, r() - 0.5, r() - 0.5, r() - 0.5];
  const n = Math.hypot(...q);
  const [w, x, y, z] = q.map((v) => v / n);
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
  ];
}

interface Case {
  affine: Mat4;
  shape: [number, number, number];
}

function cases(): Case[] {
  const r = rng(20240611);
  const out: Case[] = [];
  for (let n = 0; n < 60; n++) {
    const shape: [number, number, number] = [2 + Math.floor(r() * 5), 2 + Math.floor(r() * 5), 1 + Math.floor(r() * 4)];
    const zooms = [0.3 + r() * 3, 0.3 + r() * 3, 0.3 + r() * 3];
    let rot: number[][];
    if (n < 24) {
      // signed axis permutations: the common scanner orientations
      const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
      const p = perms[n % 6];
      rot = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (p[j] === i ? (r() < 0.5 ? -1 : 1) : 0)));
    } else {
      rot = rotation(r);
    }
    const a = [0, 1, 2].map((i) => [...[0, 1, 2].map((j) => rot[i][j] * zooms[j]), (r() - 0.5) * 200]);
    out.push({ affine: [...a, [0, 0, 0, 1]] as Mat4, shape });
  }
  return out;
}

describe('geometry vs nibabel on random affines', () => {
  const cs = cases();
  const refs = JSON.parse(execFileSync('/usr/bin/python3', [REF], { input: JSON.stringify(cs), encoding: 'utf8' })) as Array<{
    axcodes: string;
    canonical_affine: number[][];
    canonical_shape: number[];
    canonical_first: number[];
    canonical_last: number;
    quat_bcd: number[];
    qfac: number;
    zooms: number[];
    qform: number[][];
  }>;

  it('axcodes, as_closest_canonical and set_qform agree for all cases', () => {
    cs.forEach((c, n) => {
      const ref = refs[n];
      const what = `case ${n}`;
      expect(axcodes(c.affine), what).toBe(ref.axcodes);
      const data = new Float32Array(c.shape[0] * c.shape[1] * c.shape[2]).map((_, i) => i);
      const vol: Volume = { shape: c.shape, channels: 1, data, spacing: [1, 1, 1], affine: c.affine, diskDtype: 'float32' };
      const can = toCanonicalRas(vol);
      expect(can.shape, what).toEqual(ref.canonical_shape);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(Math.abs(can.affine[i][j] - ref.canonical_affine[i][j]), what).toBeLessThan(1e-9);
      expect(Array.from(can.data.subarray(0, 8)), what).toEqual(ref.canonical_first.slice(0, Math.min(8, can.data.length)));
      expect(can.data[can.data.length - 1], what).toBe(ref.canonical_last);

      const q = affineToQform(c.affine);
      expect(q.qfac, what).toBe(ref.qfac);
      // nibabel stores float32; compare at float32 precision
      // (for 180-degree rotations w = 0 and q, -q are the same rotation: compare up to sign)
      const dq = (sign: number) => Math.max(...[q.b, q.c, q.d].map((v, i) => Math.abs(sign * Math.fround(v) - ref.quat_bcd[i])));
      expect(Math.min(dq(1), dq(-1)), `${what} quat`).toBeLessThan(2e-7);
      const ours = qformToAffine(q.b, q.c, q.d, q.offset, q.pixdim, q.qfac);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(Math.abs(ours[i][j] - c.affine[i][j]), `${what} our qform`).toBeLessThan(1e-9);
      q.pixdim.forEach((v, i) => expect(Math.abs(Math.fround(v) - ref.zooms[i]), `${what} zoom`).toBeLessThan(1e-6));
      expect(q.exact, what).toBe(true);
      const back = qformToAffine(ref.quat_bcd[0], ref.quat_bcd[1], ref.quat_bcd[2], [c.affine[0][3], c.affine[1][3], c.affine[2][3]].map(Math.fround) as [number, number, number], ref.zooms as [number, number, number], ref.qfac);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(Math.abs(back[i][j] - ref.qform[i][j]), `${what} qform`).toBeLessThan(1e-9);
    });
  });
});
