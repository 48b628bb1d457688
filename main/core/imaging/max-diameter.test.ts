// Maximum diameter in 3D: known answers on boxes and a digital ball, agreement with the 2D contour
// measure on a slice, and with an independent numpy/scipy implementation on real hippocampus masks
// (core/evaluation/structure-measures.test.ts).
import { describe, expect, it } from 'vitest';
import { maxDiameterMm } from './max-diameter';
import { measureSlice } from './shape-measures';

function box(shape: [number, number, number], lo: [number, number, number], hi: [number, number, number]): Uint8Array {
  const m = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let z = lo[2]; z <= hi[2]; z++) for (let y = lo[1]; y <= hi[1]; y++) for (let x = lo[0]; x <= hi[0]; x++) m[x + shape[0] * (y + shape[1] * z)] = 1;
  return m;
}

describe('maxDiameterMm', () => {
  it('a box measures its space diagonal, in mm with anisotropic voxels', () => {
    // 4 x 3 x 2 voxels of 0.5 x 1 x 2.5 mm: the surface points reach the box faces, so the farthest
    // pair spans the faces in one axis and the voxel centres in the other two (x: 2 mm, y: 2 mm, z: 2.5 mm)
    const m = box([8, 6, 5], [2, 1, 1], [5, 3, 2]);
    const d = maxDiameterMm(m, [8, 6, 5], [0.5, 1, 2.5], 1);
    expect(d).toBeCloseTo(Math.max(Math.hypot(2, 2, 2.5), Math.hypot(1.5, 3, 2.5), Math.hypot(1.5, 2, 5)), 9);
    expect(maxDiameterMm(box([3, 3, 3], [1, 1, 1], [1, 1, 1]), [3, 3, 3], [1, 1, 1], 1)).toBeCloseTo(1, 12);
    expect(maxDiameterMm(new Uint8Array(27), [3, 3, 3], [1, 1, 1], 1)).toBe(0);
  });

  it('a digital ball of radius 12 voxels measures 2r within a voxel', () => {
    const n = 31;
    const r = 12;
    const m = new Uint8Array(n ** 3);
    for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if ((x - 15) ** 2 + (y - 15) ** 2 + (z - 15) ** 2 <= r * r) m[x + n * (y + n * z)] = 1;
    const d = maxDiameterMm(m, [n, n, n], [0.8, 0.8, 0.8], 1);
    expect(Math.abs(d - 2 * r * 0.8)).toBeLessThan(0.8);
    expect(d).toBeGreaterThanOrEqual((2 * r + 1) * 0.8 - 1e-9); // the axis extreme: 25 voxels face to face
  });

  it('a single slice gives the 2D contour measure of shape-measures.ts', () => {
    const w = 40;
    const h = 30;
    const m = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((x - 20) / 15) ** 2 + ((y - 14) / 9) ** 2 <= 1 || (x > 30 && x < 36 && y < 6)) m[y * w + x] = 3;
    const slice = measureSlice(m, w, h, [0.3, 0.7], 3);
    expect(maxDiameterMm(m, [w, h, 1], [0.3, 0.7, 5], 3)).toBeCloseTo(slice.maxDiameterMm, 9);
  });
});
