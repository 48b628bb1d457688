// A trained model as Segloop stores it: the architecture name + resolved U-Net config + the
// preprocessing and patch the model was trained with (ModelMeta, kept in the models row's
// config and in checkpoints), and ONE weights file: all weights (trainable and not) as
// little-endian float32, concatenated in model.weights order. Loading rebuilds the model from
// the registry and checks every shape, so a weights file never silently meets the wrong net.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SegloopError } from '../../../../shared/errors';
import { createModel, type UNetConfig } from '../models';
import type { PreprocessSpec } from '../data/preprocess';

export const WEIGHTS_FORMAT = 'segloop-weights/1';

export const WeightSpec = z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()) });
export type WeightSpec = z.infer<typeof WeightSpec>;

export const ModelMeta = z.object({
  format: z.literal(WEIGHTS_FORMAT),
  architecture: z.string(),
  unet: z.record(z.string(), z.unknown()),
  dims: z.union([z.literal(2), z.literal(3)]),
  /** Volume order: [PX, PY] (2D) or [PX, PY, PZ] (3D). */
  patchSize: z.array(z.number().int().positive()),
  numClasses: z.number().int().min(2),
  preprocess: z.object({
    targetSpacing: z.tuple([z.number(), z.number(), z.number()]),
    normalisation: z.record(z.string(), z.unknown()),
    numClasses: z.number().int(),
  }),
  weightSpecs: z.array(WeightSpec),
});
export type ModelMeta = z.infer<typeof ModelMeta>;

export function serializeWeights(model: tfl.LayersModel): { bytes: Uint8Array; specs: WeightSpec[] } {
  const specs = model.weights.map((w) => ({ name: w.originalName ?? w.name, shape: [...w.shape] as number[] }));
  const total = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const w of model.weights) {
    const t = w.read();
    const d = t.dataSync() as Float32Array;
    all.set(d, off);
    off += d.length;
  }
  return { bytes: new Uint8Array(all.buffer), specs };
}

export function loadWeightsInto(model: tfl.LayersModel, bytes: Uint8Array, specs: readonly WeightSpec[], what = 'weights file'): void {
  if (specs.length !== model.weights.length) {
    throw new SegloopError('CHECKSUM_MISMATCH', `The ${what} holds ${specs.length} tensors but the model has ${model.weights.length}: it belongs to another architecture.`);
  }
  if (bytes.byteLength % 4 !== 0) throw new SegloopError('CHECKSUM_MISMATCH', `The ${what} is truncated (${bytes.byteLength} bytes).`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let off = 0;
  const values: tf.Tensor[] = [];
  model.weights.forEach((w, i) => {
    const shape = specs[i].shape;
    if (shape.join('x') !== w.shape.join('x')) {
      values.forEach((t) => t.dispose());
      throw new SegloopError('CHECKSUM_MISMATCH', `Weight ${i} (${w.name}) has shape ${w.shape.join('x')} but the ${what} says ${shape.join('x')}.`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    values.push(tf.tensor(all.subarray(off, off + n), shape, 'float32'));
    off += n;
  });
  if (off !== all.length) {
    values.forEach((t) => t.dispose());
    throw new SegloopError('CHECKSUM_MISMATCH', `The ${what} has ${all.length} values, the model needs ${off}.`);
  }
  model.setWeights(values);
  values.forEach((t) => t.dispose());
}

export interface LoadedModel {
  meta: ModelMeta;
  model: tfl.LayersModel;
}

export function buildModel(meta: ModelMeta, bytes: Uint8Array | null): LoadedModel {
  const { model } = createModel(meta.architecture, meta.unet as unknown as Partial<UNetConfig>);
  if (bytes) loadWeightsInto(model, bytes, meta.weightSpecs);
  return { meta, model };
}

export function parseModelMeta(raw: unknown, where: string): ModelMeta {
  const r = ModelMeta.safeParse(raw);
  if (!r.success) {
    throw new SegloopError('INVALID_ARGUMENT', `${where} is not a Segloop model description: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}.`);
  }
  return r.data;
}

export function preprocessSpecOf(meta: ModelMeta): PreprocessSpec {
  return meta.preprocess as unknown as PreprocessSpec;
}
