// The `al-score` task of the worker process: loads the model(s) once and, per image, runs the
// forward passes the requested scores need (identity; flips for TTA variance; MC-dropout
// samples for BALD / MC variance; one pass per ensemble member), computes every requested
// score (scoring.ts), the predicted voxels per class, the pooled encoder features (mean of the
// U-Net bottleneck over tiles and space, from the identity pass: no extra forward) and, when a
// reference label is given, the Dice per foreground class (the simulation's test evaluation).
// Scores are computed on the model's preprocessed grid (target spacing); label maps and Dice on
// the image's own grid. Tiles go through the network in batches (sliding-window.ts); progress
// after every image; cancel between images.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { readNifti, writeNifti } from '../imaging/nifti';
import type { TaskEvent } from '../worker/protocol';
import { initBackend, type BackendPreference } from '../ml/backend';
import type { LoadedModel } from '../ml/inference/model-weights';
import { createEngines, loadModels } from '../ml/inference/predict-task';
import type { InferenceEngine } from '../ml/inference/engine';
import { predictVolume, preprocessForModels, windowOptions } from '../ml/inference/predict-volume';
import { flipProbMap, slidingWindowProbabilities, slidingWindowProbabilitiesAsync, type ForwardFn, type ProbMap } from '../ml/inference/sliding-window';
import { flipSets, ProbAccumulator } from '../ml/inference/tta';
import { flipGrid } from '../ml/data/augment';
import { volumeToGrid } from '../ml/data/layout';
import { dicePerClass } from '../ml/trainer';
import { getScoringFunction, predictedVoxelsPerClass, PREDICTION_SCORE_KEYS, type ScoreKey, type ScoringInput } from './scoring';

export const AL_SCORE_TASK = 'al-score';

export const AlScoreParams = z.object({
  models: z.array(z.object({ meta: z.unknown(), weightsPath: z.string(), weightsSha256: z.string() })).min(1),
  cases: z.array(z.object({ id: z.string(), imagePath: z.string(), labelPath: z.string().nullable().default(null) })),
  scores: z.array(z.enum(PREDICTION_SCORE_KEYS)).default([]),
  /** Mean over flips (as `predict --tta`); implied by meanTtaVariance. */
  tta: z.boolean().default(false),
  /** MC-dropout samples when an MC score is asked for. */
  mcSamples: z.number().int().min(2).max(64).default(8),
  features: z.boolean().default(false),
  /** Write each label map (uint8, image grid) here; null = do not. */
  outDir: z.string().nullable().default(null),
  overlap: z.number().min(0).max(0.95).default(0.5),
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
});
export type AlScoreParams = z.input<typeof AlScoreParams>;

export interface AlScoreCase {
  id: string;
  scores: Partial<Record<ScoreKey, number>>;
  foregroundVoxels: number;
  foregroundVoxelsPerClass: number[];
  features: number[] | null;
  /** Dice per foreground class (index 0 = class 1) against labelPath; null entries: class absent in both. */
  dice: (number | null)[] | null;
  /** Foreground voxels per class of the reference label (index = class). */
  referenceVoxelsPerClass: number[] | null;
  labelFile: string | null;
  seconds: number;
}

export interface AlScoreResult {
  backend: string;
  cases: AlScoreCase[];
}

/** The layer output feeding the first decoder up-sampling: the U-Net bottleneck. */
function bottleneckOf(model: tfl.LayersModel): tfl.SymbolicTensor | null {
  const up = model.layers.find((l) => /^(upconv|upsample)_/.test(l.name));
  if (!up) return null;
  const input = up.input;
  return Array.isArray(input) ? (input[0] ?? null) : input;
}

/** Identity-pass forward that also accumulates the bottleneck's mean over tiles and space. */
function featureForward(m: LoadedModel): { forward: ForwardFn; features: () => number[] | null } {
  const b = bottleneckOf(m.model);
  if (!b) return { forward: (x) => m.model.predict(x) as tf.Tensor, features: () => null };
  const two = tfl.model({ inputs: m.model.inputs, outputs: [m.model.outputs[0], b] });
  let sum: Float64Array | null = null;
  let count = 0;
  return {
    forward: (x) => {
      const [logits, feat] = two.predict(x) as tf.Tensor[];
      const axes = Array.from({ length: feat.rank - 2 }, (_, i) => i + 1);
      const pooled = tf.mean(feat, axes).dataSync() as Float32Array; // [B, F]
      const F = feat.shape[feat.rank - 1] as number;
      const B = feat.shape[0] as number;
      sum ??= new Float64Array(F);
      for (let i = 0; i < B; i++) for (let f = 0; f < F; f++) sum[f] += pooled[i * F + f];
      count += B;
      return logits;
    },
    features: () => (sum && count ? Array.from(sum, (v) => v / count) : null),
  };
}

function hasDropout(m: LoadedModel): boolean {
  const d = (m.meta.unet as { dropout?: unknown }).dropout;
  return typeof d === 'number' && d > 0;
}

async function referenceOf(labelPath: string, id: string, n: number, K: number): Promise<Uint8Array> {
  const ref = volumeToGrid(await readNifti(labelPath));
  if (ref.data.length !== n) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The label of ${id} has ${ref.data.length} voxels, its image ${n}.`);
  const r = Uint8Array.from(ref.data, (v) => Math.round(v));
  for (const v of r) if (v >= K) throw new SegloopError('LABEL_OUT_OF_SCHEMA', `The label of ${id} holds class ${v}; the model knows ${K} classes.`);
  return r;
}

function countClasses(labels: ArrayLike<number>, K: number): number[] {
  const out = new Array<number>(K).fill(0);
  for (let v = 0; v < labels.length; v++) out[labels[v]]++;
  return out;
}

/** Test-set evaluation: the label map `predict` would give, and its Dice against the reference. */
async function evaluateOnly(models: LoadedModel[], engines: readonly InferenceEngine[], img: Awaited<ReturnType<typeof readNifti>>, id: string, labelPath: string, p: z.infer<typeof AlScoreParams>, t0: number): Promise<AlScoreCase> {
  const K = models[0].meta.numClasses;
  const pred = await predictVolume(models, [img], { tta: p.tta, overlap: p.overlap, engines });
  const r = await referenceOf(labelPath, id, pred.labels.data.length, K);
  const perClass = countClasses(pred.labels.data, K);
  return {
    id,
    scores: {},
    foregroundVoxels: perClass.slice(1).reduce((a, b) => a + b, 0),
    foregroundVoxelsPerClass: perClass,
    features: null,
    dice: dicePerClass(pred.labels.data as Uint8Array, r, K),
    referenceVoxelsPerClass: countClasses(r, K),
    labelFile: null,
    seconds: (performance.now() - t0) / 1000,
  };
}

export async function runAlScoring(raw: unknown, ctx: { signal: AbortSignal; emit(e: TaskEvent): void }): Promise<AlScoreResult> {
  const parsed = AlScoreParams.safeParse(raw);
  if (!parsed.success) throw new SegloopError('INVALID_ARGUMENT', `Invalid scoring parameters: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const p = parsed.data;
  const fns = p.scores.map((s) => getScoringFunction(s));
  const needFlips = p.tta || fns.some((f) => f.requires.includes('flips'));
  const needMc = fns.some((f) => f.requires.includes('mc'));
  const needMembers = fns.some((f) => f.requires.includes('members'));
  if (needMembers && p.models.length < 2) {
    throw new SegloopError('INVALID_ARGUMENT', 'Ensemble disagreement needs two or more models (e.g. --model 3,4).');
  }
  const backend = await initBackend({ prefer: p.backend as BackendPreference });
  ctx.emit({ type: 'backend', name: backend.name, detail: '' });
  const models = await loadModels(p.models);
  // Forward passes of whole-pool scoring on onnxruntime when it loads; features (bottleneck
  // activations) and MC-dropout samples need the tfjs model.
  const engines = await createEngines(models, 'auto', ctx);
  if (needMc && !hasDropout(models[0])) {
    throw new SegloopError('INVALID_ARGUMENT', 'MC-dropout scores (bald, mcVariance) need a model trained with dropout; this model has none.');
  }
  if (p.outDir) await fs.mkdir(p.outDir, { recursive: true });
  const results: AlScoreCase[] = [];
  const start = performance.now();
  const reportProgress = (i: number): void => {
    const done = i + 1;
    const el = (performance.now() - start) / 1000;
    ctx.emit({ type: 'progress', fraction: done / p.cases.length, message: `scored ${done}/${p.cases.length} (${p.cases[i].id})`, etaSeconds: (el / done) * (p.cases.length - done) });
  };
  for (const [i, c] of p.cases.entries()) {
    if (ctx.signal.aborted) throw new SegloopError('JOB_CANCELLED', `Scoring cancelled after ${i} of ${p.cases.length} images.`);
    const t0 = performance.now();
    const img = await readNifti(c.imagePath);
    if (!fns.length && !p.features && c.labelPath) {
      results.push(await evaluateOnly(models, engines, img, c.id, c.labelPath, p, t0));
      reportProgress(i);
      continue;
    }
    const { grids } = preprocessForModels(models, [img]);
    const flipsList = needFlips ? flipSets(models[0].meta.dims) : [[] as (0 | 1 | 2)[]];
    const all = new ProbAccumulator();
    const flips: ProbMap[] = [];
    const members: ProbMap[] = [];
    let features: number[] | null = null;
    for (const [mi, m] of models.entries()) {
      const wopts = windowOptions(m, { overlap: p.overlap });
      const mean = new ProbAccumulator();
      for (const fl of flipsList) {
        let fwd: ForwardFn = (x) => m.model.predict(x) as tf.Tensor;
        const identity = fl.length === 0;
        let fs2: ReturnType<typeof featureForward> | null = null;
        if (mi === 0 && identity && p.features) {
          fs2 = featureForward(m);
          fwd = fs2.forward;
        }
        let imgs = [...grids];
        for (const a of fl) imgs = imgs.map((g) => flipGrid(g, a));
        let pm = fs2 ? slidingWindowProbabilities(fwd, imgs, wopts) : await slidingWindowProbabilitiesAsync(engines[mi].probabilities, imgs, wopts);
        for (const a of [...fl].reverse()) pm = flipProbMap(pm, a);
        if (fs2) features = fs2.features();
        mean.add(pm);
        all.add(pm);
        if (mi === 0 && needFlips) flips.push(pm);
      }
      members.push(mean.result().mean);
    }
    const mc: ProbMap[] = [];
    if (needMc) {
      const m = models[0];
      const wopts = windowOptions(m, { overlap: p.overlap });
      const fwd: ForwardFn = (x) => m.model.apply(x, { training: true }) as tf.Tensor;
      for (let s = 0; s < p.mcSamples; s++) mc.push(slidingWindowProbabilities(fwd, grids, wopts));
    }
    const meanMap = all.result().mean;
    const input: ScoringInput = { mean: meanMap, flips, mc, members };
    const scores: Partial<Record<ScoreKey, number>> = {};
    for (const f of fns) scores[f.name] = f.score(input);
    const perClass = predictedVoxelsPerClass(meanMap);
    let dice: (number | null)[] | null = null;
    let refCounts: number[] | null = null;
    let labelFile: string | null = null;
    if (c.labelPath || p.outDir) {
      // On the image's own grid, exactly as `predict` would label it.
      const pred = await predictVolume(models, [img], { tta: p.tta, overlap: p.overlap, engines });
      if (c.labelPath) {
        const K = models[0].meta.numClasses;
        const r = await referenceOf(c.labelPath, c.id, pred.labels.data.length, K);
        dice = dicePerClass(pred.labels.data as Uint8Array, r, K);
        refCounts = countClasses(r, K);
      }
      if (p.outDir) {
        labelFile = path.join(p.outDir, `${c.id.replace(/[^A-Za-z0-9._-]+/g, '_')}.nii.gz`);
        await writeNifti(labelFile, { ...pred.labels, sformCode: img.sformCode, qformCode: img.qformCode }, { dtype: 'uint8', description: 'segloop al-score prediction' });
      }
    }
    results.push({
      id: c.id,
      scores,
      foregroundVoxels: perClass.slice(1).reduce((a, b) => a + b, 0),
      foregroundVoxelsPerClass: perClass,
      features,
      dice,
      referenceVoxelsPerClass: refCounts,
      labelFile,
      seconds: (performance.now() - t0) / 1000,
    });
    reportProgress(i);
  }
  for (const e of engines) await e.dispose();
  for (const m of models) m.model.dispose();
  return { backend: backend.name, cases: results };
}
