// Fill between slices with ITK's morphological contour interpolation (wasm, in Node, offline):
// documented expected masks on synthetic discs, and on a real hippocampus label labelled on every
// 3rd slice only, the filled result is close to the full label and beats copying the nearest slice.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { fillBetweenSlices, sliceGaps } from './label-interpolation';
import type { Shape3 } from './label-edit-ops';
import { readNifti } from './nifti';

function disc(labels: Uint8Array, shape: Shape3, z: number, r: number, value = 1): void {
  const [X, Y] = shape;
  for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) if ((x - X / 2) ** 2 + (y - Y / 2) ** 2 <= r * r) labels[x + X * (y + Y * z)] = value;
}
const sliceCount = (l: Uint8Array, shape: Shape3, z: number, v = 1) => l.slice(z * shape[0] * shape[1], (z + 1) * shape[0] * shape[1]).reduce((n, x) => n + (x === v ? 1 : 0), 0);
function dice(a: Uint8Array, b: Uint8Array, v: number): number {
  let inter = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === v;
    const y = b[i] === v;
    if (x) na++;
    if (y) nb++;
    if (x && y) inter++;
  }
  return (2 * inter) / (na + nb);
}

describe('fill between slices (morphological contour interpolation)', () => {
  it('grows monotonically between a small and a large disc, leaves the drawn slices, the rest of the volume and other segments alone', async () => {
    const shape: Shape3 = [40, 40, 13];
    const l = new Uint8Array(40 * 40 * 13);
    disc(l, shape, 1, 5);
    disc(l, shape, 11, 12);
    l[0] = 2; // another segment in a corner of slice 0
    expect(sliceGaps(l, shape, 1)[2]).toBe(9);
    const { labels: out, axis } = await fillBetweenSlices(l, shape, [1, 1, 2], 1);
    expect(axis).toBe(2);
    const counts = Array.from({ length: 13 }, (_, z) => sliceCount(out, shape, z));
    expect(counts[0]).toBe(0);
    expect(counts[12]).toBe(0);
    expect(counts[1]).toBe(sliceCount(l, shape, 1));
    expect(counts[11]).toBe(sliceCount(l, shape, 11));
    for (let z = 2; z <= 11; z++) expect(counts[z], `slice ${z}`).toBeGreaterThanOrEqual(counts[z - 1]);
    expect(counts[6]).toBeGreaterThan(counts[1]);
    expect(counts[6]).toBeLessThan(counts[11]);
    expect(out[0]).toBe(2);
  }, 120_000);

  it('on a real label drawn on every 3rd axial slice, recovers the full label far better than copying the nearest slice', async () => {
    const lab = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
    const shape = lab.shape as Shape3;
    const [X, Y, Z] = shape;
    const full = Uint8Array.from(lab.data, (v) => (v === 1 ? 1 : 0));
    const zs = Array.from({ length: Z }, (_, z) => z).filter((z) => sliceCount(full, shape, z) > 0);
    const kept = new Set(zs.filter((_, k) => k % 3 === 0 || k === zs.length - 1));
    const sparse = full.slice();
    for (let z = 0; z < Z; z++) if (!kept.has(z)) sparse.fill(0, z * X * Y, (z + 1) * X * Y);
    const { labels: filled } = await fillBetweenSlices(sparse, shape, lab.spacing as [number, number, number], 1, 2);
    // baseline: each missing slice copied from the nearest drawn one
    const nearest = sparse.slice();
    const keptList = [...kept].sort((a, b) => a - b);
    for (let z = keptList[0]; z <= keptList.at(-1)!; z++) {
      if (kept.has(z)) continue;
      const src = keptList.reduce((best, k) => (Math.abs(k - z) < Math.abs(best - z) ? k : best), keptList[0]);
      nearest.set(sparse.subarray(src * X * Y, (src + 1) * X * Y), z * X * Y);
    }
    const dFilled = dice(filled, full, 1);
    const dSparse = dice(sparse, full, 1);
    const dNearest = dice(nearest, full, 1);
    expect(dSparse).toBeLessThan(0.6);
    expect(dFilled).toBeGreaterThan(0.8);
    expect(dFilled).toBeGreaterThan(dNearest);
  }, 120_000);

  it('says what to do when there is nothing to interpolate', async () => {
    const shape: Shape3 = [8, 8, 4];
    const l = new Uint8Array(256);
    disc(l, shape, 1, 2);
    await expect(fillBetweenSlices(l, shape, [1, 1, 1], 1)).rejects.toThrow(/label a few slices with gaps/);
  });
});
