import { describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import type { Volume } from '../imaging/volume';
import { segmentationMetrics, surface } from './metrics';
import { volumeMetrics } from './volume-metrics';

const S: [number, number, number] = [6, 5, 4];
const N = S[0] * S[1] * S[2];
const at = (i: number, j: number, k: number): number => i + S[0] * (j + S[1] * k);

function grid(voxels: Array<[number, number, number, number]>): Uint8Array {
  const d = new Uint8Array(N);
  for (const [i, j, k, v] of voxels) d[at(i, j, k)] = v;
  return d;
}

function vol(data: Uint8Array | Float32Array, over: Partial<Volume> = {}): Volume {
  return {
    shape: S,
    channels: 1,
    data,
    spacing: [1, 1, 1],
    affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    diskDtype: 'uint8',
    ...over,
  };
}

describe('segmentationMetrics edge cases', () => {
  it('both empty: Dice 1, distances 0, flagged bothEmpty', () => {
    const m = segmentationMetrics({ data: new Uint8Array(N), shape: S }, { data: new Uint8Array(N), shape: S }, { spacing: [1, 1, 1], classes: [1] });
    expect(m.classes[0]).toMatchObject({ dice: 1, iou: 1, hd95: 0, hd: 0, assd: 0, empty: 'both', bothEmpty: true });
  });

  it('one empty: Dice 0, distances null, excluded from the distance mean but counted in the Dice mean', () => {
    const ref = grid([[1, 1, 1, 1], [3, 3, 2, 2]]);
    const pred = grid([[3, 3, 2, 2]]);
    const m = segmentationMetrics({ data: pred, shape: S }, { data: ref, shape: S }, { spacing: [1, 1, 1] });
    expect(m.classes.map((c) => c.label)).toEqual([1, 2]);
    expect(m.classes[0]).toMatchObject({ dice: 0, hd95: null, hd: null, assd: null, empty: 'pred', bothEmpty: false });
    expect(m.classes[1]).toMatchObject({ dice: 1, hd95: 0, empty: 'none' });
    expect(m.mean).toMatchObject({ dice: 0.5, hd95: 0, distanceClasses: 1, classes: 2 });
    const r = segmentationMetrics({ data: ref, shape: S }, { data: pred, shape: S }, { spacing: [1, 1, 1] });
    expect(r.classes[0].empty).toBe('ref');
  });

  it('single voxels: distance is the anisotropic norm of the offset', () => {
    const m = segmentationMetrics({ data: grid([[0, 0, 0, 1]]), shape: S }, { data: grid([[2, 1, 3, 1]]), shape: S }, { spacing: [0.5, 2, 3] });
    const d = Math.hypot(2 * 0.5, 1 * 2, 3 * 3);
    expect(m.classes[0].dice).toBe(0);
    expect(m.classes[0].hd).toBeCloseTo(d, 12);
    expect(m.classes[0].hd95).toBeCloseTo(d, 12);
    expect(m.classes[0].assd).toBeCloseTo(d, 12);
    expect(m.classes[0].predVolumeMm3).toBeCloseTo(3, 12);
  });

  it('a mask filling the whole volume has its surface on the volume border', () => {
    const s = surface(new Uint8Array(N).fill(1), S);
    let count = 0;
    for (const v of s) count += v;
    expect(count).toBe(N - (S[0] - 2) * (S[1] - 2) * (S[2] - 2));
  });

  it('accepts float labels holding integers (hippocampus_003 is float32)', () => {
    const f = Float32Array.from(grid([[1, 1, 1, 2]]));
    const m = segmentationMetrics({ data: f, shape: S }, { data: grid([[1, 1, 1, 2]]), shape: S }, { spacing: [1, 1, 1] });
    expect(m.classes).toHaveLength(1);
    expect(m.classes[0]).toMatchObject({ label: 2, dice: 1 });
  });

  it('skips distances when asked (cheap validation)', () => {
    const m = segmentationMetrics({ data: grid([[0, 0, 0, 1]]), shape: S }, { data: grid([[1, 0, 0, 1]]), shape: S }, { spacing: [1, 1, 1], distances: false });
    expect(m.classes[0]).toMatchObject({ dice: 0, hd95: null });
  });

  it('rejects non-integer labels, wrong lengths and bad spacing with clear errors', () => {
    const bad = new Float32Array(N);
    bad[7] = 0.5;
    const ok = { data: new Uint8Array(N), shape: S };
    expect(() => segmentationMetrics({ data: bad, shape: S }, ok, { spacing: [1, 1, 1], names: { pred: 'p.nii', ref: 'r.nii' } })).toThrow(/p\.nii contains the value 0\.5/);
    const nan = new Float32Array(N);
    nan[0] = NaN;
    expect(() => segmentationMetrics(ok, { data: nan, shape: S }, { spacing: [1, 1, 1] })).toThrow(SegloopError);
    expect(() => segmentationMetrics({ data: new Uint8Array(N - 1), shape: S }, ok, { spacing: [1, 1, 1] })).toThrow(/holds 119 voxels/);
    expect(() => segmentationMetrics(ok, ok, { spacing: [1, 0, 1] })).toThrow(/spacing/);
    try {
      segmentationMetrics({ data: new Uint8Array(N), shape: [5, 6, 4] }, ok, { spacing: [1, 1, 1] });
      expect.unreachable();
    } catch (e) {
      expect((e as SegloopError).code).toBe('LABEL_GEOMETRY_MISMATCH');
    }
  });
});

describe('volumeMetrics geometry check', () => {
  it('uses the reference spacing', () => {
    const m = volumeMetrics(vol(grid([[0, 0, 0, 1]])), vol(grid([[0, 0, 2, 1]]), { spacing: [1, 1, 2.5] }));
    expect(m.classes[0].hd).toBeCloseTo(5, 12);
  });

  it('LABEL_GEOMETRY_MISMATCH for a different shape or affine, naming both files', () => {
    const a = vol(new Uint8Array(N));
    const shifted = vol(new Uint8Array(N), { affine: [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
    expect(() => volumeMetrics(a, shifted, { names: { pred: 'pred.nii.gz', ref: 'ref.nii.gz' } })).toThrow(/pred\.nii\.gz and reference ref\.nii\.gz .*different affines/);
    const other = { ...vol(new Uint8Array(N)), shape: [6, 4, 5] as [number, number, number] };
    expect(() => volumeMetrics(a, other)).toThrow(expect.objectContaining({ code: 'LABEL_GEOMETRY_MISMATCH' }));
  });
});
