// Partial labels as the trainer wires them: a case whose labelled classes are [1] (flags [1, 1, 0],
// what the trainer's loadCase makes of label_versions.labelled_classes = [1]) goes through the
// patch sampler and into createLoss exactly as in runTraining: lossFn(logits, batch.y, batch.labelled).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createLoss } from '../../main/core/ml/losses';
import { createPatchSampler, type TrainingCase } from '../../main/core/ml/data/sampler';
import { NO_AUGMENTATION } from '../../main/core/ml/data/augment';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const X = 8;
const Y = 10;
function makeCase(labelledClasses?: number[]): TrainingCase {
  const n = X * Y;
  const label = new Float32Array(n);
  // Left columns class 1, right columns class 2; every 8x8 patch sees both (an annotator who skipped class 2 would have drawn it as 0).
  for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) label[y * X + x] = x === 1 || x === 2 ? 1 : x === 4 || x === 5 ? 2 : 0;
  const img = new Float32Array(n).map((_, i) => Math.sin(i));
  return { id: 'image-1', images: [{ shape: [X, Y, 1], data: img }], label: { shape: [X, Y, 1], data: label }, labelledClasses };
}

function batchOf(c: TrainingCase, labelDropout = 0) {
  return createPatchSampler([c], { dims: 2, patchSize: [8, 8], batchSize: 2, numClasses: 3, foregroundFraction: 1, augmentation: NO_AUGMENTATION, seed: 3, labelDropout }).next();
}

function logitGrad(partial: 'merge' | 'exclude' | 'none', c: TrainingCase, logitsInit: tf.Tensor): { grad: Float32Array; loss: number; y: Int32Array } {
  const batch = batchOf(c);
  const lossFn = createLoss({ numClasses: 3, partial: partial === 'none' ? undefined : partial });
  const { value, grads } = tf.variableGrads(() => lossFn(logitsInit, batch.y, partial === 'none' ? undefined : batch.labelled), [logitsInit as tf.Variable]);
  const out = { grad: grads[(logitsInit as tf.Variable).name].dataSync() as Float32Array, loss: value.dataSync()[0], y: batch.y.dataSync() as Int32Array };
  tf.dispose([value, ...Object.values(grads), batch.x, batch.y]);
  return out;
}

describe('partial labels through sampler + loss (as runTraining wires them)', () => {
  const shape = [2, 8, 8, 3];
  const init = (): tf.Variable => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 7));

  it('the sampler hands the case labelled flags to the loss; label dropout p=1 drops every present class', () => {
    expect(batchOf(makeCase([1, 1, 0])).labelled).toEqual([[1, 1, 0], [1, 1, 0]]);
    expect(batchOf(makeCase()).labelled).toEqual([[1, 1, 1], [1, 1, 1]]);
    const dropped = batchOf(makeCase(), 1);
    dropped.present.forEach((pres, b) => pres.forEach((p, k) => expect(dropped.labelled[b][k]).toBe(k === 0 ? 1 : p ? 0 : 1)));
  });

  it("'exclude': a case labelled [1] gives no gradient at all to the class-2 logits", () => {
    const v = init();
    const { grad, y } = logitGrad('exclude', makeCase([1, 1, 0]), v);
    expect(y.some((k) => k === 2)).toBe(true); // class-2 voxels are in the patches
    let maxOther = 0;
    for (let i = 0; i < grad.length; i++) {
      if (i % 3 === 2) expect(grad[i]).toBe(0);
      else maxOther = Math.max(maxOther, Math.abs(grad[i]));
    }
    expect(maxOther).toBeGreaterThan(1e-4);
    v.dispose();
  });

  it("'merge': class-2 probability counts as background (swapping the class-0 and class-2 logits changes neither loss nor class-1 gradient)", () => {
    const v = init();
    const a = logitGrad('merge', makeCase([1, 1, 0]), v);
    const swapped = tf.variable(tf.gather(v, [2, 1, 0], 3));
    const b = logitGrad('merge', makeCase([1, 1, 0]), swapped);
    expect(b.loss).toBeCloseTo(a.loss, 5);
    for (let i = 1; i < a.grad.length; i += 3) expect(b.grad[i]).toBeCloseTo(a.grad[i], 5);
    // The naive loss (labels treated as complete) does see the swap and pushes class 2 down.
    const n1 = logitGrad('none', makeCase([1, 1, 0]), v);
    const n2 = logitGrad('none', makeCase([1, 1, 0]), swapped);
    expect(Math.abs(n1.loss - n2.loss)).toBeGreaterThan(1e-3);
    v.dispose();
    swapped.dispose();
  });

  it('a fully labelled case: merge/exclude equal the naive loss (nothing is masked)', () => {
    const v = init();
    const full = logitGrad('none', makeCase(), v);
    for (const mode of ['merge', 'exclude'] as const) {
      const g = logitGrad(mode, makeCase(), v);
      expect(g.loss).toBeCloseTo(full.loss, 5);
      g.grad.forEach((x, i) => expect(x).toBeCloseTo(full.grad[i], 5));
    }
    v.dispose();
  });
});
