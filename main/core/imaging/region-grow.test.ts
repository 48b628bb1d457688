// Region growing against skimage.segmentation.flood on a real hippocampus MRI and its label, at
// fixed and auto tolerances, 6/26-connectivity, with and without overwriting the other segment.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { AUTO_K, autoTolerance, floodMask, regionGrow, type Shape3 } from './region-grow';
import { readNifti } from './nifti';

interface Req {
  seeds: number[];
  segment: number;
  tolerance: number | 'auto';
  connectivity: 6 | 18 | 26;
  overwrite: boolean;
}

function skimage(image: ArrayLike<number>, labels: Uint8Array, shape: Shape3, req: Req): { labels: Uint8Array; tolerances: number[] } {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'ref/region_grow_ref.py')], {
    input: JSON.stringify({ shape, image: Array.from(image), labels: Array.from(labels), autoK: AUTO_K, ...req }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout) as { labels: number[]; tolerances: number[] };
  return { labels: Uint8Array.from(out.labels), tolerances: out.tolerances };
}

async function hippocampus(): Promise<{ image: Float32Array; labels: Uint8Array; shape: Shape3 }> {
  const img = await readNifti(path.join(HIPPOCAMPUS, 'images', 'hippocampus_003.nii.gz'));
  const lab = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
  return { image: Float32Array.from(img.data), labels: Uint8Array.from(lab.data), shape: img.shape as unknown as Shape3 };
}

const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

describe('region growing', () => {
  it('equals skimage flood for fixed and auto tolerances, connectivities and overwrite', async () => {
    const { image, labels, shape } = await hippocampus();
    const [X, Y] = shape;
    // seeds: the centre of segment 1's bounding box region and a background voxel near it
    const inSeg = labels.findIndex((v) => v === 1);
    const centre = Math.floor(shape[0] / 2) + X * (Math.floor(shape[1] / 2) + Y * Math.floor(shape[2] / 2));
    const cases: Req[] = [
      { seeds: [inSeg], segment: 1, tolerance: 'auto', connectivity: 6, overwrite: false },
      { seeds: [centre], segment: 2, tolerance: 40, connectivity: 6, overwrite: false },
      { seeds: [centre, inSeg], segment: 1, tolerance: 25, connectivity: 26, overwrite: true },
      { seeds: [centre], segment: 1, tolerance: 'auto', connectivity: 18, overwrite: true },
    ];
    let grew = 0;
    for (const req of cases) {
      const ours = regionGrow(labels, image, shape, req);
      const ref = skimage(image, labels, shape, req);
      ours.tolerances.forEach((t, i) => expect(t).toBeCloseTo(ref.tolerances[i], 3));
      expect(diff(ours.labels, ref.labels), JSON.stringify(req)).toBe(0);
      if (diff(ours.labels, labels) > 20) grew++;
    }
    // the comparison means something only if the regions are not trivially empty
    expect(grew).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('flood of a flat region is the region; tolerance 0 on a step stops at the step', () => {
    const shape: Shape3 = [6, 5, 4];
    const image = new Float32Array(6 * 5 * 4).map((_, i) => (i % 6 < 3 ? 10 : 20));
    const m = floodMask(image, shape, 0, 0);
    expect(m.reduce((s, v) => s + v, 0)).toBe(3 * 5 * 4);
    expect(autoTolerance(image, shape, 0)).toBe(0);
    expect(floodMask(image, shape, 0, 10).reduce((s, v) => s + v, 0)).toBe(6 * 5 * 4);
  });

  it('refuses seeds outside the image, bad tolerances and wrong sizes', () => {
    const shape: Shape3 = [3, 3, 3];
    const image = new Float32Array(27);
    const labels = new Uint8Array(27);
    expect(() => regionGrow(labels, image, shape, { seeds: [27], segment: 1, tolerance: 1 })).toThrow(/outside the image/);
    expect(() => regionGrow(labels, image, shape, { seeds: [], segment: 1, tolerance: 1 })).toThrow(/at least one seed/);
    expect(() => regionGrow(labels, image, shape, { seeds: [0], segment: 1, tolerance: Number.NaN })).toThrow(/finite/);
    expect(() => regionGrow(new Uint8Array(8), image, shape, { seeds: [0], segment: 1, tolerance: 1 })).toThrow(/voxels/);
  });
});
