// The `al-score` task of the worker process: loads the model(s) once and, per image, runs the
// forward passes the requested scores need (identity; flips for TTA variance; MC-dropout
// samples for BALD / MC variance; one pass per ensemble member), computes every requested
// score (scoring.ts), the predicted voxels per class, the pooled encoder features (mean of the
// U-Net bottleneck over tiles and space, from the identity pass: no extra forward) and, when a
// reference label is given, the Dice per foreground class (the simulation's test evaluation).
// Scores are computed on the model's preprocessed grid (target spacing); label maps and Dice on
// the image's own grid, from the same passes (no second prediction). Tiles of several images and
// of their flips share forward passes up to the engine's memory bound (slidingWindowManyAsync):
// images are read into a chunk until its tiles fill a pass, then scored; progress after every
// image; cancel between forward passes and between images.
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
import { labelsOnImageGrid, predictVolume, preprocessForModels, windowOptions } from '../ml/inference/predict-volume';
import { slidingWindowManyAsync, slidingWindowProbabilities, tileCount, tilesPerPass, type ForwardFn, type ProbMap } from '../ml/inference/sliding-window';
import { flippedImages, flipSets, ProbAccumulator, unflipProbMap, type FlipSet } from '../ml/inference/tta';
import { volumeToGrid, type Grid } from '../ml/data/layout';
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
  /** Forward passes: onnxruntime when it loads (auto), or forced either way (as predict's). */
  inference: z.enum(['auto', 'onnxruntime', 'tfjs']).default('auto'),
  /** Tiles per forward pass; default: as many as the engine's memory bound allows (engine.ts). */
  tilesPerPass: z.number().int().min(1).max(4096).optional(),
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
  /** What computed the forward passes: 'onnxruntime, N threads', or the tfjs backend's name. */
  backend: string;
  /** The engine of each model (engine.ts): path, threads, one line for logs. */
  inference: { path: InferenceEngine['path']; threads: number | null; describe: string }[];
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

/** One pool image read and preprocessed, waiting in a chunk for its forward passes. */
interface Pending {
  index: number;
  c: z.infer<typeof AlScoreParams>['cases'][number];
  img: Awaited<ReturnType<typeof readNifti>>;
  pre: ReturnType<typeof preprocessForModels>;
  t0: number;
}

/** Images a chunk may hold at most (progress and cancel come per chunk of forward passes). */
const MAX_CHUNK_IMAGES = 16;

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
  // The forward passes of whole-pool scoring (identity, flips, ensemble members) run on the
  // fastest engine (onnxruntime when it loads; engine.ts) with the tiles of several images and
  // flips batched per pass. Two kinds stay on tfjs: the identity pass of model 1 when pooled
  // bottleneck features are asked for (they are an intermediate activation), and MC-dropout
  // samples (dropout active at inference).
  const engines = await createEngines(models, p.inference, ctx, { tilesPerPass: p.tilesPerPass });
  if (needMc && !hasDropout(models[0])) {
    throw new SegloopError('INVALID_ARGUMENT', 'MC-dropout scores (bald, mcVariance) need a model trained with dropout; this model has none.');
  }
  if (p.outDir) await fs.mkdir(p.outDir, { recursive: true });
  const wopts = models.map((m, i) => windowOptions(m, { overlap: p.overlap, batchSize: p.tilesPerPass }, engines[i]));
  // tfjs passes (features, MC dropout) keep the tfjs tile batch the engine would use (engine.ts).
  const tfjsOpts = windowOptions(models[0], { overlap: p.overlap, batchSize: p.tilesPerPass });
  const perPass = tilesPerPass(wopts[0]);
  const flipsList: FlipSet[] = needFlips ? flipSets(models[0].meta.dims) : [[]];
  // A cancel is seen between forward passes (each pass awaits the engine), not only between images.
  const guarded = engines.map((e) => async (x: Float32Array, dims: readonly number[]) => {
    if (ctx.signal.aborted) throw new SegloopError('JOB_CANCELLED', 'Scoring cancelled.');
    return e.probabilities(x, dims);
  });
  const results: AlScoreCase[] = [];
  const start = performance.now();
  const reportProgress = (i: number): void => {
    const done = i + 1;
    const el = (performance.now() - start) / 1000;
    ctx.emit({ type: 'progress', fraction: done / p.cases.length, message: `scored ${done}/${p.cases.length} (${p.cases[i].id})`, etaSeconds: (el / done) * (p.cases.length - done) });
  };
  const cancelled = (i: number): SegloopError => new SegloopError('JOB_CANCELLED', `Scoring cancelled after ${i} of ${p.cases.length} images.`);

  /** Forward passes of a chunk of images, then their scores, in case order. */
  const scoreChunk = async (chunk: Pending[]): Promise<void> => {
    // maps[image][model][flip]
    const maps: ProbMap[][][] = chunk.map(() => models.map(() => []));
    let features: (number[] | null)[] = chunk.map(() => null);
    for (const [mi, m] of models.entries()) {
      const tfjsIdentity = mi === 0 && p.features;
      const jobs: { ci: number; fi: number; grids: Grid[] }[] = [];
      chunk.forEach((pc, ci) =>
        flipsList.forEach((fl, fi) => {
          if (tfjsIdentity && fl.length === 0) return;
          jobs.push({ ci, fi, grids: flippedImages(pc.pre.grids, fl) });
        }),
      );
      const got = await slidingWindowManyAsync(guarded[mi], jobs.map((j) => j.grids), wopts[mi]);
      jobs.forEach((j, k) => (maps[j.ci][mi][j.fi] = unflipProbMap(got[k], flipsList[j.fi])));
      if (tfjsIdentity) {
        features = chunk.map((pc, ci) => {
          const fs2 = featureForward(m);
          const fi = flipsList.findIndex((fl) => fl.length === 0);
          maps[ci][mi][fi] = slidingWindowProbabilities(fs2.forward, pc.pre.grids, tfjsOpts);
          return fs2.features();
        });
      }
    }
    for (const [ci, pc] of chunk.entries()) {
      const all = new ProbAccumulator();
      // What `predict` (tta as asked) would average: every member with TTA, the identity passes without.
      const forLabels = new ProbAccumulator();
      const flips: ProbMap[] = [];
      const members: ProbMap[] = [];
      for (const mi of models.keys()) {
        const mean = new ProbAccumulator();
        flipsList.forEach((fl, fi) => {
          const pm = maps[ci][mi][fi];
          mean.add(pm);
          all.add(pm);
          if (p.tta || fl.length === 0) forLabels.add(pm);
          if (mi === 0 && needFlips) flips.push(pm);
        });
        members.push(mean.result().mean);
      }
      const mc: ProbMap[] = [];
      if (needMc) {
        const m = models[0];
        const fwd: ForwardFn = (x) => m.model.apply(x, { training: true }) as tf.Tensor;
        for (let s = 0; s < p.mcSamples; s++) mc.push(slidingWindowProbabilities(fwd, pc.pre.grids, tfjsOpts));
      }
      const meanMap = all.result().mean;
      const input: ScoringInput = { mean: meanMap, flips, mc, members };
      const scores: Partial<Record<ScoreKey, number>> = {};
      for (const f of fns) scores[f.name] = f.score(input);
      const perClass = predictedVoxelsPerClass(meanMap);
      let dice: (number | null)[] | null = null;
      let refCounts: number[] | null = null;
      let labelFile: string | null = null;
      if (pc.c.labelPath || p.outDir) {
        // On the image's own grid, exactly as `predict` would label it — from the passes above.
        const { labels } = labelsOnImageGrid(forLabels.result().mean, pc.pre, pc.img);
        if (pc.c.labelPath) {
          const K = models[0].meta.numClasses;
          const r = await referenceOf(pc.c.labelPath, pc.c.id, labels.data.length, K);
          dice = dicePerClass(labels.data as Uint8Array, r, K);
          refCounts = countClasses(r, K);
        }
        if (p.outDir) {
          labelFile = path.join(p.outDir, `${pc.c.id.replace(/[^A-Za-z0-9._-]+/g, '_')}.nii.gz`);
          await writeNifti(labelFile, { ...labels, sformCode: pc.img.sformCode, qformCode: pc.img.qformCode }, { dtype: 'uint8', description: 'segloop al-score prediction' });
        }
      }
      results.push({
        id: pc.c.id,
        scores,
        foregroundVoxels: perClass.slice(1).reduce((a, b) => a + b, 0),
        foregroundVoxelsPerClass: perClass,
        features: features[ci],
        dice,
        referenceVoxelsPerClass: refCounts,
        labelFile,
        seconds: (performance.now() - pc.t0) / 1000,
      });
      reportProgress(pc.index);
    }
  };

  // Images join a chunk until its tiles fill one forward pass (a hippocampus crop is one 3D
  // tile: alone it would be a pass of one), within MAX_CHUNK_IMAGES.
  let chunk: Pending[] = [];
  let chunkTiles = 0;
  for (const [i, c] of p.cases.entries()) {
    if (ctx.signal.aborted) throw cancelled(i);
    const t0 = performance.now();
    const img = await readNifti(c.imagePath);
    if (!fns.length && !p.features && c.labelPath) {
      if (chunk.length) await scoreChunk(chunk);
      chunk = [];
      chunkTiles = 0;
      results.push(await evaluateOnly(models, engines, img, c.id, c.labelPath, p, t0));
      reportProgress(i);
      continue;
    }
    const pre = preprocessForModels(models, [img]);
    chunk.push({ index: i, c, img, pre, t0 });
    chunkTiles += tileCount(pre.grids[0].shape, wopts[0]) * flipsList.length;
    if (chunkTiles >= perPass || chunk.length >= MAX_CHUNK_IMAGES) {
      await scoreChunk(chunk);
      chunk = [];
      chunkTiles = 0;
    }
  }
  if (chunk.length) {
    if (ctx.signal.aborted) throw cancelled(results.length);
    await scoreChunk(chunk);
  }
  for (const e of engines) await e.dispose();
  for (const m of models) m.model.dispose();
  // As `predict`: `backend` names what computed the forward passes (stored with each prediction).
  const ran = [...new Set(engines.map((e) => (e.path === 'onnxruntime' ? `onnxruntime, ${e.threads} threads` : backend.name)))].join(' + ');
  return { backend: ran, inference: engines.map((e) => ({ path: e.path, threads: e.threads, describe: e.describe })), cases: results };
}
