import { HIPPOCAMPUS } from '../../../tests/data-root';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../imaging/nifti';
import type { Volume } from '../imaging/volume';
import { computeFingerprint, proposePlan, type DatasetFingerprint, type FingerprintCase } from './plan';

const here = path.dirname(fileURLToPath(import.meta.url));
const HIPPO = HIPPOCAMPUS;

describe('fingerprint and plan on the real hippocampus folder (200 cases)', () => {
  let fp: DatasetFingerprint;
  let ref: {
    cases: number; medianSpacing: number[]; medianShape: number[];
    fg: { mean: number; std: number; p00_5: number; p99_5: number; median: number };
    classFrequencies: number[]; classPresence: number[];
  };
  beforeAll(async () => {
    const names = readdirSync(path.join(HIPPO, 'images')).filter((f) => f.endsWith('.nii.gz')).sort();
    const cases: FingerprintCase[] = [];
    for (const n of names) {
      cases.push({ id: n, image: await readNifti(path.join(HIPPO, 'images', n)), label: await readNifti(path.join(HIPPO, 'labels', n)) });
    }
    fp = computeFingerprint(cases, { modality: 'MR', numClasses: 3 });
    ref = JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'ref', 'fingerprint_reference.py'), HIPPO, '3'], { encoding: 'utf8' })) as typeof ref;
  }, 300_000);

  it('matches the nibabel/numpy fingerprint', () => {
    expect(fp.cases).toBe(ref.cases);
    expect(fp.medianSpacing).toEqual(ref.medianSpacing);
    expect(fp.medianShape).toEqual(ref.medianShape);
    expect(fp.foregroundIntensity.mean / ref.fg.mean).toBeCloseTo(1, 5);
    expect(fp.foregroundIntensity.std / ref.fg.std).toBeCloseTo(1, 4);
    expect(fp.foregroundIntensity.p00_5).toBeCloseTo(ref.fg.p00_5, 3);
    expect(fp.foregroundIntensity.p99_5 / ref.fg.p99_5).toBeCloseTo(1, 5);
    expect(fp.foregroundIntensity.median).toBeCloseTo(ref.fg.median, 2);
    fp.classFrequencies.forEach((f, k) => expect(f).toBeCloseTo(ref.classFrequencies[k], 8));
    expect(fp.classPresence).toEqual(ref.classPresence);
  });

  it('proposes the DESIGN reference configuration on a 2-core CPU: 3D, 40x56x40, batch 2, depth 4, width 16', () => {
    const plan = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false });
    expect(plan.dims).toBe('3d');
    expect(plan.architecture).toBe('unet3d');
    expect(plan.targetSpacing).toEqual([1, 1, 1]);
    expect(plan.patchSize).toEqual([40, 56, 40]);
    expect(plan.batchSize).toBe(2);
    expect(plan.depth).toBe(4);
    expect(plan.baseWidth).toBe(16);
    expect(plan.normalisation).toEqual({ kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' });
  });

  it('a GPU budget gets a wider network and a larger batch; a tiny budget shrinks the patch', () => {
    const gpu = proposePlan(fp, { cores: 8, memoryMB: 8000, gpu: true });
    expect(gpu.baseWidth).toBe(32);
    expect(gpu.batchSize).toBeGreaterThan(2);
    const tiny = proposePlan(fp, { cores: 1, memoryMB: 2000, gpu: false });
    expect(tiny.patchSize.reduce((a, b) => a * b, 1)).toBeLessThan(40 * 56 * 40);
    expect(tiny.patchSize.every((p) => p % 2 ** (tiny.depth - 1) === 0)).toBe(true);
  });
});

describe('plan rules on synthetic fingerprints', () => {
  const vol = (shape: [number, number, number], spacing: [number, number, number], label = false): Volume => {
    const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
    if (label) data[0] = 1;
    return { shape, channels: 1, data, spacing, affine: [[spacing[0], 0, 0, 0], [0, spacing[1], 0, 0], [0, 0, spacing[2], 0], [0, 0, 0, 1]], diskDtype: 'uint8' };
  };

  it('thick slices (0.7 x 0.7 x 5 mm) give a 2D plan at the 10th-percentile slice spacing', () => {
    const cases = [4, 5, 5, 6].map((z) => ({ image: vol([64, 64, 10], [0.7, 0.7, z]), label: vol([64, 64, 10], [0.7, 0.7, z], true) }));
    const plan = proposePlan(computeFingerprint(cases, { modality: 'CT', numClasses: 2 }), { cores: 2, memoryMB: 4096, gpu: false });
    expect(plan.dims).toBe('2d');
    expect(plan.architecture).toBe('unet2d');
    expect(plan.patchSize.length).toBe(2);
    expect(plan.targetSpacing[2]).toBeCloseTo(4.3, 5);
    expect(plan.normalisation.kind).toBe('ct');
  });

  it('bad input is a clear error', () => {
    expect(() => computeFingerprint([], { modality: 'MR', numClasses: 2 })).toThrow(/no labelled images/);
    const bad = { image: vol([4, 4, 4], [1, 1, 1]), label: { ...vol([4, 4, 4], [1, 1, 1]), data: new Uint8Array(64).fill(5) } };
    expect(() => computeFingerprint([bad], { modality: 'MR', numClasses: 2 })).toThrow(/label 5/);
    const fp = computeFingerprint([{ image: vol([4, 4, 4], [1, 1, 1]), label: vol([4, 4, 4], [1, 1, 1], true) }], { modality: 'MR', numClasses: 2 });
    expect(() => proposePlan(fp, { cores: 0, memoryMB: 100, gpu: false })).toThrow(/cores/);
  });
});
