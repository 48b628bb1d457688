import { describe, expect, it } from 'vitest';
import { edt, squaredEdt } from './edt';
import { mulberry32 } from './rng';

function bruteForce(mask: Uint8Array, shape: [number, number, number], sp: [number, number, number]): Float64Array {
  const [nx, ny, nz] = shape;
  const feats: number[][] = [];
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) if (mask[i + nx * (j + ny * k)]) feats.push([i, j, k]);
  const out = new Float64Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        let best = Infinity;
        for (const [a, b, c] of feats) {
          const d = ((i - a) * sp[0]) ** 2 + ((j - b) * sp[1]) ** 2 + ((k - c) * sp[2]) ** 2;
          if (d < best) best = d;
        }
        out[i + nx * (j + ny * k)] = best;
      }
  return out;
}

describe('squaredEdt (Felzenszwalb-Huttenlocher) against brute force', () => {
  const rng = mulberry32(12345);
  const cases: Array<{ shape: [number, number, number]; sp: [number, number, number]; p: number }> = [
    { shape: [7, 5, 4], sp: [1, 1, 1], p: 0.1 },
    { shape: [9, 6, 5], sp: [1, 1.5, 3], p: 0.05 },
    { shape: [12, 1, 1], sp: [0.7, 1, 1], p: 0.2 },
    { shape: [1, 11, 6], sp: [2, 0.3, 1.25], p: 0.08 },
    { shape: [8, 8, 8], sp: [0.5, 2.5, 1], p: 0.01 },
    { shape: [10, 9, 3], sp: [3, 1, 0.2], p: 0.5 },
  ];
  for (const [n, c] of cases.entries()) {
    for (let rep = 0; rep < 5; rep++) {
      it(`random mask ${n}.${rep} shape ${c.shape.join('x')} spacing ${c.sp.join(',')}`, () => {
        const len = c.shape[0] * c.shape[1] * c.shape[2];
        const mask = new Uint8Array(len);
        for (let i = 0; i < len; i++) mask[i] = rng() < c.p ? 1 : 0;
        if (!mask.some((x) => x)) mask[Math.floor(rng() * len)] = 1;
        const got = squaredEdt(mask, c.shape, c.sp);
        const want = bruteForce(mask, c.shape, c.sp);
        for (let i = 0; i < len; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, want[i]));
      });
    }
  }

  it('gives Infinity everywhere when there is no feature voxel', () => {
    const d = squaredEdt(new Uint8Array(24), [2, 3, 4], [1, 1, 1]);
    expect([...d].every((x) => x === Infinity)).toBe(true);
  });

  it('a single feature in a corner: distance is the anisotropic norm to the far corner', () => {
    const shape: [number, number, number] = [4, 5, 6];
    const m = new Uint8Array(120);
    m[0] = 1;
    const d = edt(m, shape, [1, 1.5, 3]);
    expect(d[119]).toBeCloseTo(Math.hypot(3, 4 * 1.5, 5 * 3), 12);
  });

  it('rejects a buffer that does not match the shape', () => {
    expect(() => squaredEdt(new Uint8Array(5), [2, 3, 1], [1, 1, 1])).toThrow(RangeError);
  });
});
