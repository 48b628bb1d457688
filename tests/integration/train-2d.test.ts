// Issue 17 end to end through the CLI: a synthetic 2D collection (12 frames of 800 x 540 x 1,
// pixel sizes 0.05-0.3 mm) is imported and trained for a bounded number of steps with the plan's
// own settings. Checked: the plan trains at a coarser in-plane spacing than the median (its
// reasons are printed), progress lines with the measured step time appear before the first epoch
// ends, and predictions come back at each image's own shape and geometry (3 images of different
// pixel sizes). Nothing here depends on the wall clock; the timeouts are generous for a loaded
// 2-core machine.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { writeSynthetic2dCollection, type Synthetic2dCollection } from '../../main/core/ml/data/synthetic-2d';
import { ProjectStore } from '../../main/core/project';

const run = promisify(execFile);
const CLI = path.resolve('bin/segloop.mjs');
const COUNT = 12;

let dir: string;
let project: string;
let coll: Synthetic2dCollection;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-train-2d-'));
  coll = await writeSynthetic2dCollection(path.join(dir, 'data'), { count: COUNT, width: 800, height: 540, seed: 17 });
  project = path.join(dir, 'p');
  await run(process.execPath, [CLI, 'init', project]);
  await run(process.execPath, [CLI, 'import', project, '--images', coll.imagesDir, '--labels', coll.labelsDir, '--schema', coll.schemaFile], { maxBuffer: 1 << 24 });
}, 600_000);

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('segloop train on a 2D collection (issue 17)', { timeout: 1_500_000 }, () => {
  let stderr = '';
  let summary: { runId: number; model: { id: number } | null; steps: number; epochs: number };

  it('trains at a coarser spacing than the median, with the reasons and the first steps visible before the first epoch ends', async () => {
    const out = await run(process.execPath, [CLI, 'train', project, '--epochs', '1', '--steps-per-epoch', '4', '--json'], { maxBuffer: 1 << 24 });
    stderr = out.stderr;
    summary = JSON.parse(out.stdout) as typeof summary;
    expect(summary.steps).toBe(4);
    expect(summary.model).not.toBeNull();

    const store = await ProjectStore.open(project, { readOnly: true });
    let trainer: { targetSpacing: number[]; patchSize: number[]; batchSize: number; architecture: string };
    try {
      trainer = (store.trainingRuns.require(summary.runId).config as unknown as { trainer: typeof trainer }).trainer;
    } finally {
      store.close();
    }
    const px = coll.cases.map((c) => c.pixelMm).sort((a, b) => a - b);
    const medianPx = (px[COUNT / 2 - 1] + px[COUNT / 2]) / 2;
    expect(trainer.architecture).toBe('unet2d');
    expect(trainer.patchSize).toHaveLength(2);
    // Coarser than the median by the factor the budget needs (~3x for 800x540 in a 64k-pixel step), Z untouched.
    expect(trainer.targetSpacing[0]).toBeGreaterThan(2 * medianPx);
    expect(trainer.targetSpacing[1]).toBeCloseTo(trainer.targetSpacing[0], 9);
    expect(trainer.targetSpacing[2]).toBe(1);
    expect(trainer.batchSize * trainer.patchSize[0] * trainer.patchSize[1]).toBeLessThanOrEqual(65_536);

    const lines = stderr.split('\n');
    expect(stderr).toMatch(/plan: median image 800x540 at [\d.]+ mm; training at [\d.]+ mm so a \d+x\d+ patch covers \d+%/);
    const firstEpochEnd = lines.findIndex((l) => /^epoch 1\/1: loss/.test(l));
    expect(firstEpochEnd).toBeGreaterThan(0);
    const stepLines = lines.slice(0, firstEpochEnd).filter((l) => /epoch 1\/1 step \d\/4 loss [\d.]+ · [\d.]+ m?s\/step \(plan ~[\d.]+ m?s\)/.test(l));
    // One line per step of the first epoch (the first steps are never throttled), the first at step 1.
    expect(stepLines.map((l) => /step (\d)\/4/.exec(l)![1])).toEqual(['1', '2', '3', '4']);
    expect(stepLines[0]).toMatch(/epoch 1 steps done in ~/);
    expect(stepLines[0]).toMatch(/ETA /);
  });

  it('predicts back at each image\'s own shape and pixel size', async () => {
    const store = await ProjectStore.open(project, { readOnly: true });
    const images = store.images.list();
    const resolved = await Promise.all(images.map(async (im) => ({ id: im.id, file: await store.resolve(im.path) })));
    store.close();
    // The finest, a middle and the coarsest frame.
    const withPx = await Promise.all(resolved.map(async (r) => ({ ...r, vol: await readNifti(r.file) })));
    withPx.sort((a, b) => a.vol.spacing[0] - b.vol.spacing[0]);
    const picked = [withPx[0], withPx[Math.floor(COUNT / 2)], withPx[COUNT - 1]];
    expect(picked[2].vol.spacing[0] / picked[0].vol.spacing[0]).toBeGreaterThan(4);
    const out = await run(process.execPath, [CLI, 'predict', project, '--model', String(summary.model!.id), '--images', picked.map((p) => p.id).join(','), '--json'], { maxBuffer: 1 << 24 });
    const preds = (JSON.parse(out.stdout) as { predictions: { imageId: number; path: string }[] }).predictions;
    expect(preds).toHaveLength(3);
    for (const p of picked) {
      const pred = preds.find((x) => x.imageId === p.id);
      expect(pred, `prediction of image ${p.id}`).toBeDefined();
      const vol = await readNifti(path.join(project, pred!.path));
      expect(vol.shape).toEqual([800, 540, 1]);
      vol.spacing.forEach((s, a) => expect(s).toBeCloseTo(p.vol.spacing[a], 6));
      vol.affine.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(p.vol.affine[i][j], 6)));
      const classes = new Set(vol.data);
      expect([...classes].every((k) => k === 0 || k === 1)).toBe(true);
    }
  });
});
