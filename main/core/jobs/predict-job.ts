// Prediction as seen from the project: resolves the model(s) (given ids, else the promoted model,
// else the newest candidate) and the images, runs the `predict` task in a worker process into a
// scratch folder, then files every label map (+ uncertainty map) into the project with its
// scores (one predictions row per image; files first, row after, atomically). An ensemble is
// recorded under its first model, with every member's id in the scores.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import type { ProjectStore } from '../project';
import type { ImageRow, JsonObject, ModelRow, PredictionRow, Split } from '../project/types';
import type { PredictCaseResult, PredictParams, PredictResult } from '../ml/inference/predict-task';
import type { TaskEvent } from '../worker/protocol';
import { runWorkerTask, type WorkerLauncher } from '../worker/worker-host';

export interface ModelSpec {
  meta: unknown;
  weightsPath: string;
  weightsSha256: string;
}

export interface PredictRunOptions {
  tta?: boolean;
  postprocess?: string | null;
  overlap?: number;
  backend?: string;
  signal?: AbortSignal;
  onEvent?: (e: TaskEvent) => void;
  launcher?: WorkerLauncher;
  entry?: string;
}

/** The model(s) to use: explicit ids, else the promoted model, else the newest model with weights. */
export function resolveModels(store: ProjectStore, ids: readonly number[] | undefined): ModelRow[] {
  if (ids && ids.length) return ids.map((id) => store.models.require(id));
  const promoted = store.models.promoted();
  if (promoted) return [promoted];
  const withWeights = store.models.list().filter((m) => m.weightsPath !== null);
  if (!withWeights.length) throw new SegloopError('MODEL_NOT_FOUND', 'This project has no trained model yet: run `segloop train` first.');
  return [withWeights[withWeights.length - 1]];
}

export async function modelSpecs(store: ProjectStore, models: readonly ModelRow[]): Promise<ModelSpec[]> {
  const out: ModelSpec[] = [];
  for (const m of models) {
    if (!m.weightsPath || !m.weightsSha256) throw new SegloopError('MODEL_NOT_FOUND', `Model v${m.version} (id ${m.id}) has no weights.`, { id: m.id });
    out.push({ meta: m.config, weightsPath: await store.resolve(m.weightsPath), weightsSha256: m.weightsSha256 });
  }
  return out;
}

/** Runs the predict task on image files (any paths) and returns the worker's per-case results. */
export async function predictFiles(
  models: readonly ModelSpec[],
  cases: readonly { id: string; imagePath: string }[],
  outDir: string,
  opts: PredictRunOptions = {},
): Promise<PredictResult> {
  const params: PredictParams = {
    models: [...models],
    cases: [...cases],
    outDir,
    tta: opts.tta ?? false,
    postprocess: opts.postprocess ?? null,
    overlap: opts.overlap ?? 0.5,
    backend: (opts.backend ?? 'auto') as PredictParams['backend'],
  };
  return (await runWorkerTask('predict', params, { launcher: opts.launcher, entry: opts.entry, signal: opts.signal, onEvent: opts.onEvent })) as PredictResult;
}

export interface PredictInProjectOptions extends PredictRunOptions {
  modelIds?: number[];
  imageIds?: number[];
  split?: Split;
  actor?: string;
}

export interface PredictInProjectResult {
  models: ModelRow[];
  predictions: PredictionRow[];
  cases: (PredictCaseResult & { imageId: number })[];
  backend: string;
}

export async function predictInProject(store: ProjectStore, opts: PredictInProjectOptions = {}): Promise<PredictInProjectResult> {
  const models = resolveModels(store, opts.modelIds);
  let images: ImageRow[];
  if (opts.imageIds?.length) images = opts.imageIds.map((id) => store.images.require(id));
  else if (opts.split) images = store.images.list({ split: opts.split });
  else images = store.images.list();
  if (!images.length) throw new SegloopError('IMAGE_NOT_FOUND', `No images to predict${opts.split ? ` in the ${opts.split} split` : ''}.`);
  const specs = await modelSpecs(store, models);
  const cases = await Promise.all(images.map(async (img) => ({ id: String(img.id), imagePath: await store.resolve(img.path) })));
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-predict-'));
  try {
    const res = await predictFiles(specs, cases, scratch, opts);
    const predictions: PredictionRow[] = [];
    for (const c of res.cases) {
      const bytes = new Uint8Array(await fs.readFile(c.labelFile));
      const uncertaintyBytes = c.uncertaintyFile ? new Uint8Array(await fs.readFile(c.uncertaintyFile)) : null;
      const scores: JsonObject = JSON.parse(
        JSON.stringify({ ...c.scores, ensemble: models.map((m) => m.id), postprocess: opts.postprocess ?? null, backend: res.backend }),
      );
      predictions.push(
        await store.addPredictionFiles({ imageId: Number(c.id), modelId: models[0].id, scores, tta: opts.tta ?? false, bytes, uncertaintyBytes }, { actor: opts.actor }),
      );
    }
    return { models, predictions, cases: res.cases.map((c) => ({ ...c, imageId: Number(c.id) })), backend: res.backend };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
