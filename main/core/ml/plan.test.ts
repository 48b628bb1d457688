import { HIPPOCAMPUS } from '../../../tests/data-root';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../imaging/nifti';
import type { Volume } from '../imaging/volume';
import { synthesize2dImage } from './data/synthetic-2d';
import { shapeAtSpacing } from './data/resample';
import {
  computeFingerprint, estimateStepSeconds, MIN_STEPS_3D, proposePlan, STEP_CALIBRATION, STEP_SECONDS_PER_VOXEL, type DatasetFingerprint, type FingerprintCase,
  type StepMeasurement, type TrainingPlan,
} from './plan';
import { StepTiming } from './trainer-callbacks';

const here = path.dirname(fileURLToPath(import.meta.url));
const HIPPO = HIPPOCAMPUS;
const TIMINGS = path.resolve(here, '../../../tests/fixtures/step-timings');

/** A step timing the trainer wrote (runs/<id>/step-timing.json of a real run), as the plan reads it. */
function fixtureTiming(file: string): StepMeasurement & { file: string } {
  const raw = JSON.parse(readFileSync(path.join(TIMINGS, file), 'utf8')) as { runId: number; timing: unknown };
  const t = StepTiming.parse(raw.timing);
  return { file, runId: raw.runId, ...t };
}
/** The shape fields of a plan, without the why lines and the step-time basis (pinned below). */
const shapeOf = (p: TrainingPlan): Omit<TrainingPlan, 'why' | 'stepTime'> => {
  const { why: _w, stepTime: _s, ...rest } = p;
  return rest;
};
const fmtS = (v: number): string => (v >= 10 ? `${v.toFixed(0)} s` : v >= 0.1 ? `${v.toFixed(2)} s` : `${Number((v * 1000).toPrecision(2))} ms`);
const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
    // The why lines and step-time basis (issue 14) come on top: they are checked in the next tests.
    expect(shapeOf(proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }))).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 180000 (2 CPU cores)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 2"]});
    expect(shapeOf(proposePlan(fp, { cores: 8, memoryMB: 8000, gpu: true }))).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 7, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 32, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 1302083 (GPU memory)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 7"]});
    expect(shapeOf(proposePlan(fp, { cores: 1, memoryMB: 2000, gpu: false }))).toStrictEqual({"dims": "3d", "patchSize": [32, 40, 32], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 90000 (1 CPU cores)", "patch 32x40x32 (median shape 35x50x36), depth 4, batch 2"]});
    expect(shapeOf(proposePlan(fp, { cores: 2, memoryMB: 24105, gpu: false }))).toStrictEqual({"dims": "3d", "patchSize": [40, 56, 40], "batchSize": 2, "targetSpacing": [1, 1, 1], "normalisation": {"kind": "zscore", "clipPercentiles": [0.5, 99.5], "region": "whole"}, "architecture": "unet3d", "depth": 4, "baseWidth": 16, "notes": ["target spacing = median spacing 1.00 x 1.00 x 1.00 mm", "voxel budget per step 180000 (2 CPU cores)", "patch 40x56x40 (median shape 35x50x36), depth 4, batch 2"]});
  });

  it('why this plan: the step measured on this machine (a real run\'s step-timing.json) and the steps it buys in 30 minutes', () => {
    const m = fixtureTiming('hippocampus-unet3d-native.json');
    const plan = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [m], nativeConv: m.nativeConv, threads: m.threads, budget: { minutes: 30 } });
    expect(shapeOf(plan)).toStrictEqual(shapeOf(proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false })));
    expect(plan.architecture).toBe('unet3d');
    expect(plan.stepTime).toMatchObject({ source: 'measured', seconds: m.medianStepSeconds, steps: Math.floor(1800 / m.medianStepSeconds), minutes: 30 });
    expect(plan.stepTime!.steps).toBeGreaterThanOrEqual(MIN_STEPS_3D);
    const first = plan.why[0];
    expect(first).toContain('3D U-Net: spacing isotropic (1.00 x 1.00 x 1.00 mm, ratio 1.0 <= 3: nnU-Net picks 3D)');
    expect(first).toContain(
      `measured on this machine: ${fmtS(m.medianStepSeconds)} per step of 2 x 40x56x40 (run ${m.runId}, ${m.threads} threads, native convolutions) -> ` +
        `~${Math.floor(1800 / m.medianStepSeconds).toLocaleString('en-US')} steps in a 30-minute budget`,
    );
    expect(plan.why[1]).toMatch(/^patch 40x56x40 \(median image 35x50x36 voxels; a multiple of 8 for depth 4\), batch 2: 179,200 voxels per step, width 16/);
    // An epochs budget: the steps are given, the time follows from the measurement.
    const byEpochs = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [m], nativeConv: true, threads: 2, budget: { epochs: 20, stepsPerEpoch: 50 } });
    expect(byEpochs.why[0]).toContain(`-> 1,000 steps take ~${Math.round((1000 * m.medianStepSeconds) / 60)} min`);
  });

  it('why this plan without a measurement: an estimate, saying from what; another shape measured here is scaled by the cost model', () => {
    const m = fixtureTiming('hippocampus-unet3d-native.json');
    const est = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [], nativeConv: true, threads: 2 });
    const seconds = estimateStepSeconds({ dims: 3, patchSize: [40, 56, 40], batchSize: 2, baseWidth: 16, depth: 4, threads: 2, nativeConv: true });
    expect(est.stepTime).toMatchObject({ source: 'estimate', seconds });
    expect(est.why[0]).toContain(`estimated, no step measured on this machine yet: ~${fmtS(seconds)} per step of 2 x 40x56x40 (2 threads, native convolutions; cost model calibrated on ${STEP_CALIBRATION.native[3]})`);
    // Another machine's or another thread count's records do not count; another batch of the same path is scaled.
    expect(proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [{ ...m, threads: 1 }], nativeConv: true, threads: 2 }).stepTime!.source).toBe('estimate');
    const other = { ...m, runId: m.runId + 1, batchSize: 4 };
    const scaled = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [other], nativeConv: true, threads: 2 });
    expect(scaled.stepTime!.source).toBe('scaled');
    expect(scaled.stepTime!.seconds).toBeCloseTo(m.medianStepSeconds / 2, 9);
    expect(scaled.why[0]).toContain(`scaled from run ${other.runId}'s measured ${fmtS(m.medianStepSeconds)} per step of 4 x 40x56x40`);
    // The newest quiet measurement wins over a newer one taken on a busy machine.
    const busy = { ...m, runId: m.runId + 5, medianStepSeconds: m.medianStepSeconds * 4, loadAverage: 9, cores: 2 };
    expect(proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [m, busy], nativeConv: true, threads: 2 }).stepTime!.measurement!.runId).toBe(m.runId);
    const onlyBusy = proposePlan(fp, { cores: 2, memoryMB: 4096, gpu: false }, { measurements: [busy], nativeConv: true, threads: 2 });
    expect(onlyBusy.why[0]).toMatch(new RegExp(esc(`at load 9.0 on 2 cores: slower than on a quiet machine`)));
  });

  it(`a 3D step too slow for the budget (< ${MIN_STEPS_3D} steps: the wasm path without the addon, measured) gives the 2D plan, naming both numbers`, () => {
    const w = fixtureTiming('hippocampus-unet3d-wasm.json');
    expect(w.nativeConv).toBe(false);
    const budget = { cores: 2, memoryMB: 4096, gpu: false };
    // 30 minutes when the measured step leaves too few steps in them (else a budget short enough that it does).
    const minutes = Math.floor(1800 / w.medianStepSeconds) < MIN_STEPS_3D ? 30 : Math.max(1, Math.floor(((MIN_STEPS_3D - 1) * w.medianStepSeconds) / 60));
    const steps3d = Math.floor((minutes * 60) / w.medianStepSeconds);
    expect(steps3d).toBeLessThan(MIN_STEPS_3D);
    const plan = proposePlan(fp, budget, { measurements: [w], nativeConv: false, threads: w.threads, budget: { minutes } });
    // With enough minutes the same measurement keeps 3D: the rule is on the numbers, not on the path.
    const long = Math.ceil((MIN_STEPS_3D * w.medianStepSeconds) / 60) + 1;
    expect(proposePlan(fp, budget, { measurements: [w], nativeConv: false, threads: w.threads, budget: { minutes: long } }).architecture).toBe('unet3d');
    expect(plan.dims).toBe('2d');
    expect(plan.architecture).toBe('unet2d');
    expect(plan.patchSize).toEqual([48, 64]); // the largest slice (43 x 58) rounded up to 8
    expect(plan.batchSize).toBe(16);
    expect(plan.why[0]).toContain('2D U-Net instead of 3D: spacing isotropic (1.00 x 1.00 x 1.00 mm, ratio 1.0 <= 3: nnU-Net picks 3D), but measured on this machine:');
    expect(plan.why[0]).toContain(`${fmtS(w.medianStepSeconds)} per step of 2 x 40x56x40 (run ${w.runId}, ${w.threads} threads, wasm convolutions (the native addon is not available))`);
    expect(plan.why[0]).toContain(`~${steps3d.toLocaleString('en-US')} steps in a ${minutes}-minute budget: fewer than the 1,000 steps a 3D U-Net needs here`);
    const s2 = estimateStepSeconds({ dims: 2, patchSize: [48, 64], batchSize: 16, baseWidth: 16, depth: 4, threads: w.threads, nativeConv: false });
    expect(plan.why[1]).toContain(`2D U-Net on 16 slices of 48x64: estimated, no step measured on this machine yet: ~${fmtS(s2)} per step of 16 x 48x64`);
    expect(plan.stepTime).toMatchObject({ source: 'estimate', steps: Math.floor((minutes * 60) / s2) });
    // An epochs budget is the user's amount of work: no switch.
    expect(proposePlan(fp, budget, { measurements: [w], nativeConv: false, threads: 2, budget: { epochs: 5, stepsPerEpoch: 50 } }).architecture).toBe('unet3d');
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

  it('the step-time estimate reproduces the measured quiet steps it is calibrated on, per convolution path', () => {
    // Each calibration names its measured step ("X s per step of B x P"): the estimate for that step gives X back.
    for (const path of ['native', 'wasm'] as const) {
      for (const dims of [2, 3] as const) {
        const m = /^([\d.]+) s per step of (\d+) x ([\dx]+)/.exec(STEP_CALIBRATION[path][dims])!;
        const shape = { dims, patchSize: m[3].split('x').map(Number), batchSize: Number(m[2]), baseWidth: 16, depth: 4, threads: 2, nativeConv: path === 'native' };
        expect(estimateStepSeconds(shape) / Number(m[1])).toBeCloseTo(1, 1);
        expect(STEP_SECONDS_PER_VOXEL[path][dims]).toBeGreaterThan(0);
      }
    }
    // The wasm 3D calibration is the fixture run's measurement (a real segloop train without the addon).
    const w = fixtureTiming('hippocampus-unet3d-wasm.json');
    expect(estimateStepSeconds({ ...w, nativeConv: false }) / w.medianStepSeconds).toBeCloseTo(1, 1);
    const n = fixtureTiming('hippocampus-unet3d-native.json');
    expect(estimateStepSeconds({ ...n, nativeConv: true }) / n.medianStepSeconds).toBeCloseTo(1, 1);
    // Half the threads, twice the time; width 32, four times.
    const base = { dims: 2 as const, patchSize: [128, 128], batchSize: 2, baseWidth: 16, depth: 4, threads: 2 };
    expect(estimateStepSeconds({ ...base, threads: 1 }) / estimateStepSeconds(base)).toBeCloseTo(2, 9);
    expect(estimateStepSeconds({ ...base, baseWidth: 32 }) / estimateStepSeconds(base)).toBeCloseTo(4, 9);
  });
});
