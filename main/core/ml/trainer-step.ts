// One optimisation step of the trainer, as a part of its own: forward pass, loss, gradients,
// Adam update, and (only when a callback asks, e.g. DAD tracking) the argmax of the training
// forward pass. The benchmarks (tests/bench) time exactly this function, so what they measure is
// what `segloop train` runs.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LossFn } from './losses';

export interface StepBatch {
  x: tf.Tensor;
  /** Integer labels [B, ...spatial]. */
  y: tf.Tensor;
  /** B x K 0/1 flags of the annotated classes (adaptive loss); undefined = all labelled. */
  labelled?: number[][];
  caseIds: string[];
}

export interface StepOutput {
  loss: number;
  /** Argmax of the training forward pass and the labels, sample after sample (when asked for). */
  predicted?: Int32Array;
  reference?: ArrayLike<number>;
  caseIds: string[];
}

export interface StepOptions {
  /** Also return the argmax of the forward pass (costs one argMax and one read). */
  predictions?: boolean;
}

export type TrainStep = (batch: StepBatch, opts?: StepOptions) => Promise<StepOutput>;

export interface TrainStepParts {
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  loss: LossFn;
  /** false: ignore batch.labelled (every label treated as complete). */
  useLabelledFlags: boolean;
}

/** The step the trainer runs; it disposes the batch's tensors. */
export function createTrainStep(parts: TrainStepParts): TrainStep {
  const { model, optimizer, loss, useLabelledFlags } = parts;
  return async (batch, opts = {}) => {
    let pred: tf.Tensor | null = null;
    let cost: tf.Scalar | null = null;
    try {
      cost = optimizer.minimize(() => {
        const logits = model.apply(batch.x, { training: true }) as tf.Tensor;
        if (opts.predictions) pred = tf.keep(tf.argMax(logits, -1));
        return loss(logits, batch.y, useLabelledFlags ? batch.labelled : undefined);
      }, true);
      const out: StepOutput = { loss: cost ? (await cost.data())[0] : NaN, caseIds: batch.caseIds };
      if (pred) {
        out.predicted = (await (pred as tf.Tensor).data()) as Int32Array;
        out.reference = await batch.y.data();
      }
      return out;
    } finally {
      (pred as tf.Tensor | null)?.dispose();
      cost?.dispose();
      batch.x.dispose();
      batch.y.dispose();
    }
  };
}
