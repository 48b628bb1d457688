// The predict task (what prediction jobs run in the worker) picks onnxruntime by itself, logs and
// returns the engine, and writes the same labels as the tfjs path (TTA on: 8 flipped passes).
import os from 'node:os';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../imaging/nifti';
import { sha256Bytes } from '../../project/files';
import { initBackend } from '../backend';
import { createModel } from '../models';
import type { TaskEvent } from '../task-protocol';
import { serializeWeights, WEIGHTS_FORMAT, type ModelMeta } from './model-weights';
import { runPrediction, type PredictResult } from './predict-task';

const IMAGE = path.resolve('resources/demo/images/hippocampus_014.nii.gz');
let dir = '';

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-predict-ort-'));
  await initBackend();
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function predictWith(inference: 'auto' | 'tfjs', modelFile: string, meta: ModelMeta, sha: string): Promise<{ res: PredictResult; logs: string[]; labels: Uint8Array }> {
  const logs: string[] = [];
  const out = path.join(dir, inference);
  const res = await runPrediction(
    { models: [{ meta, weightsPath: modelFile, weightsSha256: sha }], cases: [{ id: 'h014', imagePath: IMAGE }], outDir: out, tta: true, inference },
    { signal: new AbortController().signal, emit: (e: TaskEvent) => void (e.type === 'log' && logs.push(e.message)) },
  );
  const lab = await readNifti(res.cases[0].labelFile);
  return { res, logs, labels: Uint8Array.from(lab.data, (v) => Math.round(v)) };
}

describe('predict task on onnxruntime', () => {
  it('auto selects onnxruntime, reports it, and labels like tfjs', async () => {
    const { model, config } = createModel('unet3d', { depth: 3, baseWidth: 4, numClasses: 3 }, { seed: 5 });
    const { bytes, specs } = serializeWeights(model);
    model.dispose();
    const file = path.join(dir, 'w.bin');
    await fs.writeFile(file, bytes);
    const meta: ModelMeta = {
      format: WEIGHTS_FORMAT, architecture: 'unet3d', unet: { ...config }, dims: 3, patchSize: [24, 32, 24], numClasses: 3,
      preprocess: { targetSpacing: [1, 1, 1], normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }, numClasses: 3 },
      weightSpecs: specs,
    };
    const sha = sha256Bytes(bytes);
    const ort = await predictWith('auto', file, meta, sha);
    expect(ort.res.inference).toHaveLength(1);
    expect(ort.res.inference[0].path).toBe('onnxruntime');
    expect(ort.res.backend).toMatch(/^onnxruntime, \d+ threads$/);
    expect(ort.res.inference[0].threads).toBeGreaterThanOrEqual(1);
    expect(ort.logs.some((l) => /model 1 \(unet3d\): inference on onnxruntime-node/.test(l))).toBe(true);
    const tfjs = await predictWith('tfjs', file, meta, sha);
    expect(tfjs.res.inference[0].path).toBe('tfjs');
    expect(tfjs.res.backend).toMatch(/^(wasm|cpu|tensorflow)/);
    expect(tfjs.labels.length).toBe(ort.labels.length);
    let differ = 0;
    for (let v = 0; v < ort.labels.length; v++) if (ort.labels[v] !== tfjs.labels[v]) differ++;
    // Same model, same tiles and flips: labels can only differ where two classes tie to float
    // precision (export.test.ts: softmax within 1e-4); well under 1 %.
    expect(differ / ort.labels.length).toBeLessThan(0.01);
    expect(ort.res.cases[0].scores.members).toBe(8);
    expect(ort.res.cases[0].scores.meanTtaVariance).toBeGreaterThan(0);
  }, 600_000);
});
