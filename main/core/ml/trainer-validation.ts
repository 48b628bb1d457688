// The trainer's validation pass: whole images through sliding-window inference, exactly as
// `segloop predict` runs, scored with the evaluation module's Dice (main/core/evaluation/metrics.ts),
// so training curves, model rows and `segloop evaluate` use one Dice and one empty-mask
// convention (both empty = 1, one empty = 0). A class the image's annotator did not label says
// nothing about the model and is left out (null), which is not an empty-mask rule.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { segmentationMetrics, type Vec3 } from '../evaluation/metrics';
import type { TrainingCase } from './data/sampler';
import { argmaxLabels, slidingWindowProbabilities } from './inference/sliding-window';

export interface ValidationResult {
  /** Mean over the scored images of the Dice of each foreground class (null: no image scored it). */
  valDice: (number | null)[];
  valMeanDice: number | null;
}

export type ValidationPass = () => Promise<ValidationResult>;

/**
 * Dice per foreground class 1..K-1 of two flat label arrays, by the evaluation module.
 * `labelled` (K 0/1 flags) turns classes that were not annotated into null.
 */
export function validationDice(pred: ArrayLike<number>, ref: ArrayLike<number>, numClasses: number, labelled?: readonly number[]): (number | null)[] {
  const classes = Array.from({ length: numClasses - 1 }, (_, k) => k + 1);
  const shape: Vec3 = [ref.length, 1, 1];
  const m = segmentationMetrics({ data: pred, shape }, { data: ref, shape }, { spacing: [1, 1, 1], classes, distances: false });
  return m.classes.map((c) => (labelled && !labelled[c.label] ? null : c.dice));
}

export function meanOf(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

export function createValidationPass(opts: {
  model: tfl.LayersModel;
  cases: readonly TrainingCase[];
  dims: 2 | 3;
  patchSize: number[];
  numClasses: number;
  overlap?: number;
}): ValidationPass {
  const K = opts.numClasses;
  return async () => {
    const sum: number[] = new Array(K - 1).fill(0);
    const n: number[] = new Array(K - 1).fill(0);
    for (const vc of opts.cases) {
      const probs = slidingWindowProbabilities((x) => opts.model.predict(x) as tf.Tensor, vc.images, { dims: opts.dims, patchSize: opts.patchSize, numClasses: K, overlap: opts.overlap ?? 0.5 });
      const d = validationDice(argmaxLabels(probs), vc.label.data, K, vc.labelledClasses);
      d.forEach((v, k) => {
        if (v !== null) {
          sum[k] += v;
          n[k]++;
        }
      });
    }
    const valDice = sum.map((s, k) => (n[k] ? s / n[k] : null));
    return { valDice, valMeanDice: opts.cases.length ? meanOf(valDice) : null };
  };
}
