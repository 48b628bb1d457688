import { HIPPOCAMPUS } from '../../../../tests/data-root';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readNifti } from '../../imaging/nifti';
import type { Volume } from '../../imaging/volume';
import {
  DEFAULT_AUGMENTATION, IDENTITY_PARAMS, NO_AUGMENTATION, createPatchSampler, createRng, extractPatch, flipGrid, normaliseGrid,
  padToShape, percentiles, predictionToVolume, preprocessCase, resampleBack, resampleToSpacing, resampleVolume, sampleAugmentation,
  volumeToGrid, volumeToTensor, type Grid, type TrainingCase, type Vec3,
} from './index';

const here = path.dirname(fileURLToPath(import.meta.url));
const HIPPO = HIPPOCAMPUS;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomGrid(shape: Vec3, seed: number, labels = 0): Grid {
  const rng = createRng(seed);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = labels ? rng.int(labels) : rng.normal();
  return { shape, data };
}

// Real-data reference: hippocampus_003 (float32 image, float32 label file).
describe('resampling against scipy.ndimage on a real hippocampus file', () => {
  let dir: string;
  let image: Volume;
  let label: Volume;
  const target: Vec3 = [1.37, 0.83, 1.6];
  let meta: { shape: Vec3; affine: number[][]; p: number[]; mean: number; std: number };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'segloop-resample-'));
    const img = path.join(HIPPO, 'images', 'hippocampus_003.nii.gz');
    const lab = path.join(HIPPO, 'labels', 'hippocampus_003.nii.gz');
    execFileSync('/usr/bin/python3', [path.join(here, 'ref', 'resample_reference.py'), img, lab, ...target.map(String), dir]);
    meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as typeof meta;
    image = await readNifti(img);
    label = await readNifti(lab);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const f32 = (name: string): Float32Array => {
    const b = readFileSync(path.join(dir, name));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };

  it('trilinear image resampling equals scipy order=1 (shape, values, affine)', () => {
    const out = resampleVolume(image, target, 'image');
    expect(out.shape).toEqual(meta.shape);
    const ref = f32('image_lin.f32');
    let maxRel = 0;
    const range = meta.p[1] - meta.p[0];
    for (let i = 0; i < ref.length; i++) maxRel = Math.max(maxRel, Math.abs(out.data[i] - ref[i]) / range);
    expect(maxRel).toBeLessThan(1e-5);
    out.affine.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(meta.affine[r][c], 6)));
  });

  it('nearest label resampling equals scipy order=0 (ties aside) and keeps label values', () => {
    const out = resampleVolume(label, target, 'label');
    const ref = f32('label_nn.f32');
    let diff = 0;
    for (let i = 0; i < ref.length; i++) if (out.data[i] !== ref[i]) diff++;
    expect(diff / ref.length).toBeLessThan(0.002);
    expect(new Set(out.data)).toEqual(new Set([0, 1, 2]));
  });

  it('percentile clipping + z-score matches numpy', () => {
    const g = volumeToGrid(image);
    const [lo, hi] = percentiles(g.data, [0.5, 99.5]);
    expect(lo).toBeCloseTo(meta.p[0], 2);
    expect(hi).toBeCloseTo(meta.p[1], 2);
    const z = normaliseGrid(g, { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' });
    const rng = createRng(3);
    for (let t = 0; t < 50; t++) {
      const i = rng.int(g.data.length);
      const v = Math.min(meta.p[1], Math.max(meta.p[0], g.data[i]));
      expect(z.data[i]).toBeCloseTo((v - meta.mean) / meta.std, 3);
    }
  });

  it('preprocess -> tensor -> prediction volume lands back in the image geometry', () => {
    const pre = preprocessCase([image], label, { targetSpacing: target, normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }, numClasses: 3 });
    // A "perfect model": one-hot of the resampled label, mapped back with the inverse scale.
    const back = resampleBack(pre.label as Grid, pre.originalShape, pre.scale, 'nearest');
    const [X, Y, Z] = image.shape;
    const t = tf.tensor(back.data, [1, Z, Y, X], 'int32');
    const onehot = tf.oneHot(t, 3);
    const vol = predictionToVolume(onehot, image);
    expect(vol.shape).toEqual(image.shape);
    expect(vol.affine).toEqual(image.affine);
    let agree = 0;
    for (let i = 0; i < vol.data.length; i++) if (vol.data[i] === label.data[i]) agree++;
    expect(agree / vol.data.length).toBeGreaterThan(0.97);
    tf.dispose([t, onehot]);
    expect(() => predictionToVolume(tf.zeros([1, 2, 2, 2, 3]), image)).toThrow(/does not match/);
  });
});

describe('layout', () => {
  it('volumeToTensor is [1, Z, Y, X, 1] with voxel (i,j,k) at [0,k,j,i,0]', () => {
    const shape: Vec3 = [4, 3, 2];
    const g = randomGrid(shape, 1);
    const v: Volume = { shape, channels: 1, data: g.data, spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], diskDtype: 'float32' };
    const t = volumeToTensor(v);
    expect(t.shape).toEqual([1, 2, 3, 4, 1]);
    const arr = t.arraySync();
    expect(arr[0][1][2][3][0]).toBeCloseTo(g.data[3 + 4 * (2 + 3 * 1)]);
    t.dispose();
    expect(() => volumeToTensor({ ...v, channels: 3 })).toThrow(/scalar/);
  });

  it('resampling bad spacings is a clear error', () => {
    expect(() => resampleToSpacing(randomGrid([2, 2, 2], 1), [1, 0, 1], [1, 1, 1], 'linear')).toThrow(/spacing/);
  });
});

describe('augmentation invariants', () => {
  it('flipping twice is the identity on every axis', () => {
    const g = randomGrid([5, 4, 3], 2);
    for (const a of [0, 1, 2] as const) expect(flipGrid(flipGrid(g, a), a).data).toEqual(g.data);
  });

  it('identity params extract the exact crop; a flip matrix extracts the mirrored crop', () => {
    const g = randomGrid([9, 8, 7], 3);
    const lab = randomGrid([9, 8, 7], 4, 3);
    const ps: Vec3 = [4, 4, 3];
    const centre: Vec3 = [4, 4, 3];
    const p = extractPatch([g], lab, centre, ps, IDENTITY_PARAMS);
    for (let k = 0; k < 3; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) {
      const src = (i + 2) + 9 * ((j + 2) + 8 * (k + 2));
      expect(p.images[0][i + 4 * (j + 4 * k)]).toBe(g.data[src]);
      expect(p.label?.[i + 4 * (j + 4 * k)]).toBe(lab.data[src]);
    }
    const flipped = extractPatch([g], lab, centre, ps, { ...IDENTITY_PARAMS, spatial: { matrix: [-1, 0, 0, 0, 1, 0, 0, 0, 1], elastic: null } });
    // Output i reads input centre - (i - 2).
    for (let i = 0; i < 4; i++) expect(flipped.images[0][i]).toBe(g.data[(4 - (i - 2)) + 9 * (2 + 8 * 2)]);
  });

  it('fully augmented labels stay integers of the schema; images stay finite', () => {
    const g = randomGrid([20, 18, 16], 5);
    const lab = randomGrid([20, 18, 16], 6, 3);
    const rng = createRng(7);
    const cfg = { ...DEFAULT_AUGMENTATION, rot90Probability: 0.5, rotationProbability: 1, scaleProbability: 1, elasticProbability: 1, gammaProbability: 1 };
    for (let t = 0; t < 10; t++) {
      const params = sampleAugmentation(rng, cfg, [12, 12, 8]);
      const p = extractPatch([g], lab, [10, 9, 8], [12, 12, 8], params);
      for (const v of p.label as Int32Array) expect([0, 1, 2]).toContain(v);
      expect(p.images[0].every(Number.isFinite)).toBe(true);
    }
  });

  it('padToShape centres the image and pads with the value', () => {
    const g = randomGrid([2, 3, 1], 8);
    const { grid, offset } = padToShape(g, [4, 3, 3], -5);
    expect(grid.shape).toEqual([4, 3, 3]);
    expect(offset).toEqual([1, 0, 1]);
    expect(grid.data[1 + 4 * (0 + 3 * 1)]).toBe(g.data[0]);
    expect(grid.data[0]).toBe(-5);
  });
});

describe('patch sampler', () => {
  const cases: TrainingCase[] = [0, 1, 2].map((s) => {
    const shape: Vec3 = [14, 12, 10];
    const label = { shape, data: new Float32Array(14 * 12 * 10) };
    label.data[5 + 14 * (6 + 12 * 4)] = 1; // one voxel of class 1
    label.data[6 + 14 * (6 + 12 * 4)] = 2;
    return { id: `c${s}`, images: [randomGrid(shape, 10 + s)], label };
  });

  it('same seed -> identical batches; other seed -> different', () => {
    const opts = { dims: 3 as const, patchSize: [8, 8, 4], batchSize: 2, numClasses: 3, augmentation: { ...DEFAULT_AUGMENTATION, elasticProbability: 0.5 }, seed: 42, labelDropout: 0.5 };
    const a = createPatchSampler(cases, opts);
    const b = createPatchSampler(cases, opts);
    const c = createPatchSampler(cases, { ...opts, seed: 43 });
    for (let s = 0; s < 3; s++) {
      const [ba, bb, bc] = [a.next(), b.next(), c.next()];
      expect(ba.x.shape).toEqual([2, 4, 8, 8, 1]);
      expect(ba.y.shape).toEqual([2, 4, 8, 8]);
      expect(ba.x.dataSync()).toEqual(bb.x.dataSync());
      expect(ba.y.dataSync()).toEqual(bb.y.dataSync());
      expect(ba.labelled).toEqual(bb.labelled);
      expect(ba.x.dataSync()).not.toEqual(bc.x.dataSync());
      tf.dispose([ba.x, ba.y, bb.x, bb.y, bc.x, bc.y]);
    }
  });

  it('foreground oversampling: with fraction 1 every patch contains foreground', () => {
    const s = createPatchSampler(cases, { dims: 3, patchSize: [8, 8, 4], batchSize: 4, numClasses: 3, foregroundFraction: 1, augmentation: NO_AUGMENTATION, seed: 1 });
    for (let t = 0; t < 5; t++) {
      const b = s.next();
      expect(b.present.every((p) => p[1] || p[2])).toBe(true);
      tf.dispose([b.x, b.y]);
    }
  });

  it('2D sampling gives [B, PY, PX, C] slices', () => {
    const s = createPatchSampler(cases, { dims: 2, patchSize: [8, 6], batchSize: 3, numClasses: 3, augmentation: DEFAULT_AUGMENTATION, seed: 1 });
    const b = s.next();
    expect(b.x.shape).toEqual([3, 6, 8, 1]);
    expect(b.y.shape).toEqual([3, 6, 8]);
    tf.dispose([b.x, b.y]);
    expect(() => createPatchSampler([], { dims: 2, patchSize: [8, 6], batchSize: 1, numClasses: 3, augmentation: NO_AUGMENTATION, seed: 1 })).toThrow(/no labelled cases/);
    expect(() => createPatchSampler(cases, { dims: 3, patchSize: [8, 6], batchSize: 1, numClasses: 3, augmentation: NO_AUGMENTATION, seed: 1 })).toThrow(/patchSize/);
  });

  it('labels outside the schema are rejected by preprocessing', () => {
    const v: Volume = { shape: [2, 2, 1], channels: 1, data: new Float32Array([0, 1, 3, 0]), spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], diskDtype: 'float32' };
    const spec = { targetSpacing: [1, 1, 1] as Vec3, normalisation: { kind: 'zscore' as const, region: 'whole' as const }, numClasses: 3 };
    expect(() => preprocessCase([v], v, spec)).toThrow(/label 3/);
    expect(() => preprocessCase([v], { ...v, data: new Float32Array([0, 0.5, 1, 0]) }, spec)).toThrow(/non-integer/);
  });
});
