// Model files in a project folder: <dir>/model.json (topology, weight specs, Segloop metadata)
// + <dir>/weights.bin (all weights, little-endian float32, in weightSpecs order). tfjs-node's
// file:// handler is unavailable without tfjs-node, so this is a small custom IOHandler.
// Writes are atomic (temp file + rename); an existing model is never overwritten unless asked.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SegloopError } from '../../../../shared/errors';
import type { CreatedModel } from './registry';
import type { UNetConfig } from './unet';
import './layers'; // registers the custom layers needed to deserialise

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
const FORMAT = 'segloop-model/1';

const modelFileSchema = z.object({
  format: z.literal(FORMAT),
  architecture: z.string(),
  config: z.record(z.string(), z.unknown()),
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z.array(z.object({ name: z.string(), shape: z.array(z.number()), dtype: z.string() }).passthrough()),
  weightsFile: z.string(),
  weightsSha256: z.string(),
});

export interface SavedModelInfo {
  dir: string;
  weightsPath: string;
  weightsSha256: string;
  weightBytes: number;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export async function saveModel(created: CreatedModel, dir: string, opts: { overwrite?: boolean } = {}): Promise<SavedModelInfo> {
  await fs.mkdir(dir, { recursive: true });
  const jsonPath = path.join(dir, MODEL_JSON);
  if (!opts.overwrite) {
    const exists = await fs.stat(jsonPath).then(() => true, () => false);
    if (exists) throw new SegloopError('INVALID_ARGUMENT', `A model is already saved in ${dir}; model versions are immutable: save into a new folder.`, { dir });
  }
  let info: SavedModelInfo | null = null;
  const handler: tf.io.IOHandler = {
    save: async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
      const sha = createHash('sha256').update(weights).digest('hex');
      // Weights first: a model.json never points at missing weights.
      const weightsPath = path.join(dir, WEIGHTS_BIN);
      await writeAtomic(weightsPath, weights);
      const file = {
        format: FORMAT,
        architecture: created.name,
        config: created.config,
        modelTopology: artifacts.modelTopology,
        weightSpecs: artifacts.weightSpecs,
        weightsFile: WEIGHTS_BIN,
        weightsSha256: sha,
      };
      await writeAtomic(jsonPath, JSON.stringify(file));
      info = { dir, weightsPath, weightsSha256: sha, weightBytes: weights.byteLength };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    },
  };
  await created.model.save(handler, { includeOptimizer: false });
  if (!info) throw new SegloopError('INTERNAL_ERROR', `Saving the model to ${dir} did not complete.`);
  return info;
}

export async function loadModel(dir: string): Promise<CreatedModel> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let raw: string;
  try {
    raw = await fs.readFile(jsonPath, 'utf8');
  } catch {
    throw new SegloopError('MODEL_NOT_FOUND', `No model file at ${jsonPath}.`, { dir });
  }
  let parsed: z.infer<typeof modelFileSchema>;
  try {
    parsed = modelFileSchema.parse(JSON.parse(raw));
  } catch (err) {
    throw new SegloopError('INVALID_ARGUMENT', `${jsonPath} is not a Segloop model file (${(err as Error).message.slice(0, 200)}).`, { dir });
  }
  const weightsPath = path.join(dir, path.basename(parsed.weightsFile));
  let weights: Buffer;
  try {
    weights = await fs.readFile(weightsPath);
  } catch {
    throw new SegloopError('MODEL_NOT_FOUND', `The weights file ${weightsPath} is missing.`, { dir });
  }
  const sha = createHash('sha256').update(weights).digest('hex');
  if (sha !== parsed.weightsSha256) {
    throw new SegloopError('CHECKSUM_MISMATCH', `The weights file ${weightsPath} is damaged (checksum differs from model.json).`, { dir, expected: parsed.weightsSha256, actual: sha });
  }
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      weightSpecs: parsed.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData,
    }),
  );
  return { name: parsed.architecture, config: parsed.config as unknown as UNetConfig, model };
}
