// Segmentation losses on LOGITS [B, ...spatial, K] (softmax is applied here, in log space).
// Targets: int class indices [B, ...spatial] or one-hot [B, ...spatial, K].
//
// Partially labelled images (literature 003, "adaptive loss" + label dropout): each sample has a
// `labelledClasses` row of K 0/1 flags (background is always labelled). Class k = 0 in that row
// means "this image's annotator did not label k", so voxels of k appear as background.
//   partial: 'merge' (default; our reading of the paper's adaptive loss, the "marginal" loss of
//     Shi et al. 2021): the predicted probabilities of the missing classes are summed into
//     background, the target likewise, and Dice is averaged over labelled foreground classes
//     only. Predicting a missing class where the label says background is therefore not
//     penalised, and moving probability between background and a missing class changes nothing.
//   partial: 'exclude': missing channels are removed from the softmax (renormalised over the
//     labelled classes) and from Dice; voxels whose target is a missing class get no CE.
// Label dropout (applyLabelDropout) turns present classes into missing ones at random (seeded)
// so the model cannot learn "which labels exist" from the domain of the image.

import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; tfjs-layers registers them all, under Node's CJS
// bundle and under ESM resolution alike (a deep import of tfjs-core/dist/register_all_gradients
// breaks plain Node ESM: ERR_UNSUPPORTED_DIR_IMPORT).
import '@tensorflow/tfjs-layers';
import { SegloopError } from '../../../shared/errors';
import type { Rng } from './data/prng';

export interface SegLossOptions {
  numClasses: number;
  /** Weight of the cross-entropy term (default 1). */
  ceWeight?: number;
  /** Weight of the soft Dice term, which enters as (1 - mean Dice) (default 1). */
  diceWeight?: number;
  /** Per-class CE weights; the weighted CE is normalised like torch's (sum of target weights). */
  classWeights?: number[];
  /** Dice smoothing added to numerator and denominator (default 1e-5, nnU-Net's). */
  smooth?: number;
  /** Average Dice over background too (default false, like nnU-Net). */
  diceIncludeBackground?: boolean;
  /** Sum Dice statistics over the batch before dividing (nnU-Net "batch dice"; default false). */
  batchDice?: boolean;
  partial?: 'merge' | 'exclude';
}

export interface SegLossParts {
  total: tf.Scalar;
  ce: tf.Scalar;
  dice: tf.Scalar;
}

const NEG = -1e4; // "log(0)" that stays finite through logSumExp and gradients.

function checkShapes(logits: tf.Tensor, target: tf.Tensor, K: number): void {
  if (logits.shape[logits.rank - 1] !== K) {
    throw new SegloopError('INVALID_ARGUMENT', `Model output has ${logits.shape[logits.rank - 1]} channels but the loss expects ${K} classes.`);
  }
  const spatialLogits = logits.shape.slice(0, -1).join('x');
  const spatialTarget = (target.rank === logits.rank ? target.shape.slice(0, -1) : target.shape).join('x');
  if (spatialLogits !== spatialTarget) {
    throw new SegloopError('INVALID_ARGUMENT', `Prediction ${logits.shape.join('x')} and target ${target.shape.join('x')} do not match.`);
  }
}

function maskTensor(labelled: tf.Tensor | readonly (readonly number[])[] | undefined, B: number, K: number): tf.Tensor2D {
  if (labelled === undefined) return tf.ones([B, K]) as tf.Tensor2D;
  const m = labelled instanceof tf.Tensor ? tf.cast(labelled, 'float32') : tf.tensor2d(labelled.map((r) => [...r]), undefined, 'float32');
  if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== K) {
    throw new SegloopError('INVALID_ARGUMENT', `labelledClasses must be ${B}x${K} (batch x classes), got ${m.shape.join('x')}.`);
  }
  // Background is always labelled.
  return tf.maximum(m, tf.oneHot(tf.zeros([B], 'int32'), K)) as tf.Tensor2D;
}

/** Loss with its CE and Dice parts (all scalars; caller disposes, or call inside tf.tidy). */
export function segmentationLossParts(
  logits: tf.Tensor,
  target: tf.Tensor,
  opts: SegLossOptions,
  labelledClasses?: tf.Tensor | readonly (readonly number[])[],
): SegLossParts {
  const K = opts.numClasses;
  checkShapes(logits, target, K);
  return tf.tidy(() => {
    const B = logits.shape[0];
    const rank = logits.rank;
    const flatLogits = tf.reshape(logits, [B, -1, K]);
    const y = target.rank === rank ? tf.reshape(tf.cast(target, 'float32'), [B, -1, K]) : tf.cast(tf.oneHot(tf.reshape(tf.cast(target, 'int32'), [B, -1]), K), 'float32');
    const m = tf.reshape(maskTensor(labelledClasses, B, K), [B, 1, K]);
    const missing = tf.sub(1, m);
    const bg = tf.reshape(tf.oneHot(tf.tensor1d([0], 'int32'), K), [1, 1, K]);
    const mode = opts.partial ?? 'merge';

    let logP: tf.Tensor; // [B, N, K]; channels that do not take part are ignored below via m
    let yEff: tf.Tensor;
    if (mode === 'merge') {
      const logSm = tf.logSoftmax(flatLogits);
      // log(p0 + sum of missing p): logSumExp over the set {0} ∪ missing.
      const bgSet = tf.maximum(bg, missing);
      const logBg = tf.logSumExp(tf.add(logSm, tf.mul(tf.sub(1, bgSet), NEG)), 2, true);
      logP = tf.add(tf.mul(logSm, tf.sub(1, bg)), tf.mul(logBg, bg));
      const yMissing = tf.sum(tf.mul(y, missing), 2, true);
      yEff = tf.add(tf.mul(y, m), tf.mul(yMissing, bg));
    } else {
      logP = tf.logSoftmax(tf.add(flatLogits, tf.mul(missing, NEG)));
      yEff = tf.mul(y, m);
    }
    const pEff = tf.mul(tf.exp(logP), m);

    // Cross-entropy, torch-style weighting: sum_i w_{y_i} (-log p_{y_i}) / sum_i w_{y_i}.
    const w = tf.reshape(tf.tensor1d(opts.classWeights ?? new Array<number>(K).fill(1)), [1, 1, K]);
    if ((opts.classWeights?.length ?? K) !== K) {
      throw new SegloopError('INVALID_ARGUMENT', `classWeights has ${opts.classWeights?.length} entries for ${K} classes.`);
    }
    const yw = tf.mul(yEff, w);
    const ceNum = tf.neg(tf.sum(tf.mul(yw, tf.mul(logP, m))));
    const ce = tf.div(ceNum, tf.maximum(tf.sum(yw), 1e-12)) as tf.Scalar;

    // Soft Dice per (sample, class) or per class over the batch.
    const smooth = opts.smooth ?? 1e-5;
    const axes = opts.batchDice ? [0, 1] : [1];
    const inter = tf.sum(tf.mul(pEff, yEff), axes);
    const denom = tf.add(tf.sum(pEff, axes), tf.sum(yEff, axes));
    const dice = tf.div(tf.add(tf.mul(inter, 2), smooth), tf.add(denom, smooth)); // [B,K] or [K]
    let dMask = opts.batchDice ? tf.max(tf.reshape(m, [B, K]), 0) : tf.reshape(m, [B, K]);
    if (!opts.diceIncludeBackground) dMask = tf.mul(dMask, tf.sub(1, opts.batchDice ? tf.reshape(bg, [K]) : tf.reshape(bg, [1, K])));
    const meanDice = tf.div(tf.sum(tf.mul(dice, dMask)), tf.maximum(tf.sum(dMask), 1)) as tf.Scalar;
    const diceLoss = tf.sub(1, meanDice) as tf.Scalar;

    const total = tf.add(tf.mul(ce, opts.ceWeight ?? 1), tf.mul(diceLoss, opts.diceWeight ?? 1)) as tf.Scalar;
    return { total, ce, dice: diceLoss };
  });
}

/** Dice + CE loss as one scalar. */
export function segmentationLoss(
  logits: tf.Tensor,
  target: tf.Tensor,
  opts: SegLossOptions,
  labelledClasses?: tf.Tensor | readonly (readonly number[])[],
): tf.Scalar {
  const parts = segmentationLossParts(logits, target, opts, labelledClasses);
  parts.ce.dispose();
  parts.dice.dispose();
  return parts.total;
}

export type LossFn = (logits: tf.Tensor, target: tf.Tensor, labelledClasses?: tf.Tensor | readonly (readonly number[])[]) => tf.Scalar;

/** Loss factory for the trainer: fixes the options once. */
export function createLoss(opts: SegLossOptions): LossFn {
  return (logits, target, labelledClasses) => segmentationLoss(logits, target, opts, labelledClasses);
}

/**
 * Label dropout: for each sample, each labelled foreground class that is present in the image is
 * marked missing with probability p. Returns a new B x K 0/1 matrix; background stays labelled.
 * `present[b][k]` says whether class k has voxels in sample b (drop only what exists, as the paper).
 */
export function applyLabelDropout(labelled: readonly (readonly number[])[], present: readonly (readonly boolean[])[], p: number, rng: Rng): number[][] {
  if (!(p >= 0 && p <= 1)) throw new SegloopError('INVALID_ARGUMENT', `Label dropout probability must be in [0, 1], got ${p}.`);
  return labelled.map((row, b) =>
    row.map((v, k) => (k === 0 ? 1 : v && present[b]?.[k] && rng.chance(p) ? 0 : v ? 1 : 0)),
  );
}
