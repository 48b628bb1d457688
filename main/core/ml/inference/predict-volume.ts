// One image -> label map (+ uncertainty) with one or more models: preprocess as the model was
// trained (spacing, normalisation), sliding window (+ flips), mean over models x flips,
// back to the image's own grid, argmax, optional post-processing. Output volumes carry the
// image's affine, so they overlay the scan exactly.
import * as tf from '@tensorflow/tfjs-core';
import { SegloopError } from '../../../../shared/errors';
import type { Volume } from '../../imaging/volume';
import type { Grid } from '../data/layout';
import { preprocessCase } from '../data/preprocess';
import { resampleBack, type Vec3 } from '../data/resample';
import { postprocessLabels, type PostprocessOptions } from '../postprocess';
import { preprocessSpecOf, type LoadedModel } from './model-weights';
import { argmaxLabels, type ForwardFn, type ProbMap, type SlidingWindowOptions } from './sliding-window';
import { tfjsEngine, type InferenceEngine } from './engine';
import { ensemblePredictAsync, meanEntropy } from './tta';

export interface PredictOptions {
  tta?: boolean;
  overlap?: number;
  postprocess?: PostprocessOptions | null;
  /** Tiles per forward pass. */
  batchSize?: number;
  /** One engine per model (engine.ts createEngine); default: each model's tfjs forward pass. */
  engines?: readonly InferenceEngine[];
}

export interface VolumePrediction {
  labels: Volume;
  /** Voxel-wise variance across ensemble members (flips x models); null with a single member. */
  uncertainty: Volume | null;
  probabilities: ProbMap;
  scores: { meanEntropy: number; meanTtaVariance: number | null; members: number; foregroundVoxels: number };
}

export function forwardOf(model: LoadedModel['model']): ForwardFn {
  return (x) => model.predict(x) as tf.Tensor;
}

export function windowOptions(m: LoadedModel, opts: PredictOptions = {}): SlidingWindowOptions {
  return { dims: m.meta.dims, patchSize: m.meta.patchSize, numClasses: m.meta.numClasses, overlap: opts.overlap ?? 0.5, batchSize: opts.batchSize };
}

/** Preprocessed channels of one case for the given model (all ensemble members must agree). */
export function preprocessForModels(models: readonly LoadedModel[], images: readonly Volume[]): { grids: Grid[]; scale: Vec3; originalShape: Vec3 } {
  if (models.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'Prediction needs at least one model.');
  const spec = preprocessSpecOf(models[0].meta);
  for (const m of models.slice(1)) {
    if (JSON.stringify(preprocessSpecOf(m.meta)) !== JSON.stringify(spec) || m.meta.numClasses !== models[0].meta.numClasses) {
      throw new SegloopError('INVALID_ARGUMENT', 'The models of an ensemble must share preprocessing and classes; these differ.');
    }
  }
  const pre = preprocessCase(images, null, spec);
  return { grids: pre.images, scale: pre.scale, originalShape: pre.originalShape };
}

function backToImageGrid(p: ProbMap, originalShape: Vec3, scale: Vec3): ProbMap {
  if (scale.every((s) => Math.abs(s - 1) < 1e-6) && p.shape.every((s, a) => s === originalShape[a])) return p;
  const K = p.numClasses;
  const n = p.data.length / K;
  const m = originalShape[0] * originalShape[1] * originalShape[2];
  const out = new Float32Array(m * K);
  for (let c = 0; c < K; c++) {
    const g = new Float32Array(n);
    for (let v = 0; v < n; v++) g[v] = p.data[v * K + c];
    const r = resampleBack({ shape: p.shape, data: g }, originalShape, scale, 'linear');
    for (let v = 0; v < m; v++) out[v * K + c] = r.data[v];
  }
  return { shape: [...originalShape], numClasses: K, data: out };
}

export async function predictVolume(models: readonly LoadedModel[], images: readonly Volume[], opts: PredictOptions = {}): Promise<VolumePrediction> {
  const { grids, scale, originalShape } = preprocessForModels(models, images);
  if (opts.engines && opts.engines.length !== models.length) throw new SegloopError('INVALID_ARGUMENT', `${opts.engines.length} inference engines for ${models.length} models.`);
  const engines = opts.engines ?? models.map((m) => tfjsEngine(m.model));
  const members = models.map((m, i) => ({ probabilities: engines[i].probabilities, opts: windowOptions(m, opts) }));
  const ens = await ensemblePredictAsync(members, grids, opts.tta ?? false);
  const probs = backToImageGrid(ens.mean, originalShape, scale);
  let variance = ens.variance;
  if (variance && probs !== ens.mean) {
    variance = resampleBack({ shape: ens.mean.shape, data: variance }, originalShape, scale, 'linear').data;
  }
  let labels = argmaxLabels(probs);
  if (opts.postprocess) labels = postprocessLabels(labels, originalShape, probs.numClasses, opts.postprocess).labels;
  const ref = images[0];
  const like = { shape: [...ref.shape] as Vec3, spacing: [...ref.spacing] as Vec3, affine: ref.affine.map((r) => [...r]) as Volume['affine'], channels: 1 };
  let fg = 0;
  for (const v of labels) if (v) fg++;
  let meanVar: number | null = null;
  if (variance) {
    let s = 0;
    for (const v of variance) s += v;
    meanVar = s / variance.length;
  }
  return {
    labels: { ...like, data: labels, diskDtype: 'uint8' },
    uncertainty: variance ? { ...like, data: variance, diskDtype: 'float32' } : null,
    probabilities: probs,
    scores: { meanEntropy: meanEntropy(probs), meanTtaVariance: meanVar, members: ens.members, foregroundVoxels: fg },
  };
}
