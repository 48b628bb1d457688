import { HIPPOCAMPUS } from '../../../tests/data-root';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../imaging/nifti';
import type { Volume } from '../imaging/volume';
import { synthesize2dImage } from './data/synthetic-2d';
import { shapeAtSpacing } from './data/resample';
import { computeFingerprint, estimateStepSeconds, proposePlan, type DatasetFingerprint, type FingerprintCase } from './plan';

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

  it('3D plans are exactly those of the code before the 2D rule (captured output, issue 17)', () => {
    // Captured from proposePlan at commit f684305 on this fingerprint; no context2d key on 3D plans.
    expect(proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false })).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 180000 (2 CPU cores)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 2"]});
    expect(proposePlan(fp, { cores: 8, memoryMB: 8000, gpu: true })).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 7, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 32, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 1302083 (GPU memory)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 7"]});
    expect(proposePlan(fp, { cores: 1, memoryMB: 2000, gpu: false })).toStrictEqual({"dims": "3d", "patchSize": [32, 40, 32], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 90000 (1 CPU cores)", "patch 32x40x32 (median shape 35x50x36), depth 4, batch 2"]});
    expect(proposePlan(fp, { cores: 2, memoryMB: 24105, gpu: false })).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 180000 (2 CPU cores)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 2"]});
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

describe('2D plan that keeps context (issue 17)', () => {
  const frames = (count: number, width: number, height: number, opts: { minPixelMm?: number; maxPixelMm?: number } = {}): FingerprintCase[] =>
    Array.from({ length: count }, (_, i) => {
      const s = synthesize2dImage(i, count, { width, height, seed: 3, ...opts });
      const affine = [[s.pixelMm, 0, 0, 0], [0, s.pixelMm, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
      const shape: [number, number, number] = [width, height, 1];
      const spacing: [number, number, number] = [s.pixelMm, s.pixelMm, 1];
      return {
        id: `f${i}`,
        image: { shape, channels: 1, data: s.image, spacing, affine, diskDtype: 'uint8' },
        label: { shape, channels: 1, data: s.label, spacing, affine, diskDtype: 'uint8' },
      } as FingerprintCase;
    });
  const budget = { cores: 2, memoryMB: 4096, gpu: false };

  it('800x540x1 frames at 0.05-0.3 mm: coarser spacing, the patch covers ~90% of the median image within the budget', () => {
    const fp = computeFingerprint(frames(15, 800, 540), { modality: 'other', numClasses: 2 });
    const plan = proposePlan(fp, budget);
    const c = plan.context2d!;
    expect(plan.dims).toBe('2d');
    expect(plan.architecture).toBe('unet2d');
    expect(c.source).toBe('2d-images');
    expect(c.coarsened).toBe(true);
    expect(plan.patchSize.length).toBe(2);
    expect(plan.patchSize.every((p) => p % 2 ** (plan.depth - 1) === 0)).toBe(true);
    expect(plan.batchSize).toBeGreaterThanOrEqual(2);
    expect(plan.batchSize * plan.patchSize[0] * plan.patchSize[1]).toBeLessThanOrEqual(c.pixelBudget);
    // Coarser than the median (and than at least some frames), square pixels kept.
    expect(plan.targetSpacing[0]).toBeGreaterThan(fp.medianSpacing[0] * 2);
    expect(plan.targetSpacing[1]).toBeCloseTo(plan.targetSpacing[0] * (fp.medianSpacing[1] / fp.medianSpacing[0]), 9);
    // Every image stays one slice.
    for (let n = 0; n < fp.cases; n++) expect(shapeAtSpacing(fp.shapes[n], fp.spacings[n], plan.targetSpacing)[2]).toBe(1);
    // The patch covers about 90% of the median image's extent on each axis.
    const extent = [0, 1].map((a) => fp.medianShape[a] * fp.medianSpacing[a]);
    c.coverage.forEach((cov, a) => {
      expect(cov).toBeGreaterThan(0.8);
      expect(cov).toBeCloseTo(Math.min(1, (plan.patchSize[a] * plan.targetSpacing[a]) / extent[a]), 9);
    });
    // Never coarser than the budget needs: 10% finer, a patch covering 90% would not fit (batch 2).
    const finer = plan.targetSpacing[0] * 0.9;
    expect(2 * ((0.9 * extent[0]) / finer) * ((0.9 * extent[1]) / finer)).toBeGreaterThan(c.pixelBudget);
    // The upsampling statistics are those of the pixel sizes.
    const factors = fp.spacings.map((s) => s[0] / plan.targetSpacing[0]);
    expect(c.upsampledImages).toBe(factors.filter((f) => f > 1 + 1e-9).length);
    expect(c.maxUpsampling).toBeCloseTo(Math.max(1, ...factors), 9);
    expect(plan.notes.join('\n')).toMatch(new RegExp(`median image 800x540 at [0-9.]+ mm; training at [0-9.]+ mm so a ${plan.patchSize.join('x')} patch covers \\d+%`));
    expect(plan.notes.join('\n')).toMatch(/estimated step [0-9.]+ s/);
  });

  it('small 2D images that fit the budget keep the median spacing and a patch covering the whole image', () => {
    const fp = computeFingerprint(frames(6, 96, 64, { minPixelMm: 0.5, maxPixelMm: 0.6 }), { modality: 'other', numClasses: 2 });
    const plan = proposePlan(fp, budget);
    expect(plan.dims).toBe('2d');
    expect(plan.context2d!.coarsened).toBe(false);
    expect(plan.targetSpacing.slice(0, 2)).toEqual(fp.medianSpacing.slice(0, 2));
    const atTarget = [0, 1].map((a) => Math.max(...fp.shapes.map((s, n) => (s[a] * fp.spacings[n][a]) / plan.targetSpacing[a])));
    // Covers the median image (rounded up to the U-Net multiple); most images fit entirely.
    expect(plan.context2d!.coverage).toEqual([1, 1]);
    expect(plan.patchSize[0]).toBeGreaterThanOrEqual(96);
    expect(atTarget[0] / plan.patchSize[0]).toBeLessThan(1.3);
  });

  it('the step-time estimate reproduces the measured quiet steps it is calibrated on', () => {
    // docs/ml-results.md, quiet-machine bench:train: unet2d 48x64 b16 747 ms, unet3d 40x56x40 b2 3179 ms (median).
    expect(estimateStepSeconds({ dims: 2, patchSize: [48, 64], batchSize: 16, baseWidth: 16, depth: 4, threads: 2 })).toBeCloseTo(0.747, 1);
    expect(estimateStepSeconds({ dims: 3, patchSize: [40, 56, 40], batchSize: 2, baseWidth: 16, depth: 4, threads: 2 })).toBeCloseTo(3.179, 1);
    // Half the threads, twice the time; width 32, four times.
    const base = { dims: 2 as const, patchSize: [128, 128], batchSize: 2, baseWidth: 16, depth: 4, threads: 2 };
    expect(estimateStepSeconds({ ...base, threads: 1 }) / estimateStepSeconds(base)).toBeCloseTo(2, 9);
    expect(estimateStepSeconds({ ...base, baseWidth: 32 }) / estimateStepSeconds(base)).toBeCloseTo(4, 9);
  });
});
