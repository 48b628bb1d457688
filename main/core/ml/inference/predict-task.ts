// The `predict` task of the worker process: loads the model(s) once, predicts each image and
// writes uint8 label / float32 uncertainty NIfTI files (in the image's own geometry) into
// `outDir`. The parent then files them into the project (or compares them, for `evaluate`).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SegloopError } from '../../../../shared/errors';
import { readNifti, writeNifti } from '../../imaging/nifti';
import { sha256Bytes } from '../../project/files';
import type { TaskEvent } from '../task-protocol';
import { initBackend, type BackendPreference } from '../backend';
import { buildModel, parseModelMeta, type LoadedModel } from './model-weights';
import { predictVolume } from './predict-volume';
import { createEngine, type InferenceEngine } from './engine';
import { parsePostprocess } from '../postprocess';

export const PredictParams = z.object({
  models: z.array(z.object({ meta: z.unknown(), weightsPath: z.string(), weightsSha256: z.string() })).min(1),
  cases: z.array(z.object({ id: z.string(), imagePath: z.string() })),
  outDir: z.string(),
  tta: z.boolean().default(false),
  postprocess: z.string().nullable().default(null),
  overlap: z.number().min(0).max(0.95).default(0.5),
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Forward passes: onnxruntime when it loads (auto), or forced either way. */
  inference: z.enum(['auto', 'onnxruntime', 'tfjs']).default('auto'),
});
export type PredictParams = z.input<typeof PredictParams>;

export interface PredictCaseResult {
  id: string;
  labelFile: string;
  uncertaintyFile: string | null;
  scores: { meanEntropy: number; meanTtaVariance: number | null; members: number; foregroundVoxels: number };
  seconds: number;
}

export interface PredictResult {
  /** What computed the forward passes: 'onnxruntime, N threads', or the tfjs backend's name. */
  backend: string;
  /** The engine that ran each model's forward passes (engine.ts): path + one line for logs. */
  inference: { path: InferenceEngine['path']; threads: number | null; describe: string }[];
  cases: PredictCaseResult[];
}

export async function loadModels(specs: z.infer<typeof PredictParams>['models']): Promise<LoadedModel[]> {
  const out: LoadedModel[] = [];
  for (const [i, s] of specs.entries()) {
    const meta = parseModelMeta(s.meta, `model ${i + 1}`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(s.weightsPath));
    } catch {
      throw new SegloopError('MODEL_NOT_FOUND', `The weights file ${s.weightsPath} is missing.`, { path: s.weightsPath });
    }
    if (sha256Bytes(bytes) !== s.weightsSha256) {
      throw new SegloopError('CHECKSUM_MISMATCH', `The weights file ${s.weightsPath} is damaged (its checksum differs from the project's record).`, { path: s.weightsPath });
    }
    out.push(buildModel(meta, bytes));
  }
  return out;
}

/** One inference engine per model, each logged (which path, threads, or why not onnxruntime). */
export async function createEngines(models: readonly LoadedModel[], prefer: 'auto' | 'onnxruntime' | 'tfjs', ctx: { emit(e: TaskEvent): void }): Promise<InferenceEngine[]> {
  const engines: InferenceEngine[] = [];
  for (const [i, m] of models.entries()) {
    const e = await createEngine(m.model, { prefer });
    engines.push(e);
    ctx.emit({ type: 'log', level: 'info', message: `model ${i + 1} (${m.meta.architecture}): inference on ${e.describe}` });
  }
  return engines;
}

export async function runPrediction(raw: unknown, ctx: { signal: AbortSignal; emit(e: TaskEvent): void }): Promise<PredictResult> {
  const parsed = PredictParams.safeParse(raw);
  if (!parsed.success) throw new SegloopError('INVALID_ARGUMENT', `Invalid prediction parameters: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const p = parsed.data;
  const postprocess = parsePostprocess(p.postprocess ?? undefined);
  const backend = await initBackend({ prefer: p.backend as BackendPreference });
  ctx.emit({ type: 'backend', name: backend.name, detail: '' });
  const models = await loadModels(p.models);
  const engines = await createEngines(models, p.inference, ctx);
  await fs.mkdir(p.outDir, { recursive: true });
  const results: PredictCaseResult[] = [];
  const start = performance.now();
  for (const [i, c] of p.cases.entries()) {
    if (ctx.signal.aborted) throw new SegloopError('JOB_CANCELLED', `Prediction cancelled after ${i} of ${p.cases.length} images.`);
    const t0 = performance.now();
    const img = await readNifti(c.imagePath);
    const pred = await predictVolume(models, [img], { tta: p.tta, overlap: p.overlap, postprocess, engines });
    const safe = c.id.replace(/[^A-Za-z0-9._-]+/g, '_');
    const labelFile = path.join(p.outDir, `${safe}.nii.gz`);
    await writeNifti(labelFile, { ...pred.labels, sformCode: img.sformCode, qformCode: img.qformCode }, { dtype: 'uint8', description: 'segloop prediction' });
    let uncertaintyFile: string | null = null;
    if (pred.uncertainty) {
      uncertaintyFile = path.join(p.outDir, `${safe}-uncertainty.nii.gz`);
      await writeNifti(uncertaintyFile, { ...pred.uncertainty, sformCode: img.sformCode, qformCode: img.qformCode }, { dtype: 'float32', description: 'segloop TTA variance' });
    }
    results.push({ id: c.id, labelFile, uncertaintyFile, scores: pred.scores, seconds: (performance.now() - t0) / 1000 });
    const done = i + 1;
    const el = (performance.now() - start) / 1000;
    ctx.emit({ type: 'progress', fraction: done / p.cases.length, message: `predicted ${done}/${p.cases.length} (${c.id})`, etaSeconds: (el / done) * (p.cases.length - done) });
  }
  for (const e of engines) await e.dispose();
  for (const m of models) m.model.dispose();
  // `backend` names what computed the forward passes (the CLI prints it, predictions store it):
  // onnxruntime when every model ran there, the tfjs backend otherwise.
  const ran = [...new Set(engines.map((e) => (e.path === 'onnxruntime' ? `onnxruntime, ${e.threads} threads` : backend.name)))].join(' + ');
  return { backend: ran, inference: engines.map((e) => ({ path: e.path, threads: e.threads, describe: e.describe })), cases: results };
}
