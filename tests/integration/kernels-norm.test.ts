// instanceNorm / batchNormTrain (main/core/ml/kernels/instance-norm.ts) on 4D and 5D input against
// PyTorch float64 F.instance_norm / F.batch_norm (forward and all gradients), finite differences,
// and the tfjs-layers InstanceNormalization layer on 5D input (tfjs' batchNormalization throws there).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/core/ml/backend';
import { InstanceNormalization, batchNormTrain, instanceNorm } from '../../main/core/ml/kernels/instance-norm';
import { type Nested, randn, relErr, torchMissing, torchRef } from './kernels-test-utils';

interface NormCase { op: 'instanceNorm' | 'batchNorm'; x: Nested; gamma: Nested; beta: Nested; r: Nested; shape: number[] }

let seed = 500;
function makeCase(op: NormCase['op'], shape: number[]): NormCase {
  const c = shape[shape.length - 1];
  // Offset and scale the input so that the normalisation has real work to do.
  const scaled = (v: Nested): Nested => (Array.isArray(v) ? v.map(scaled) : Math.fround(v * 3 + 2));
  const x = scaled(randn(shape, seed++));
  return { op, shape, x, gamma: randn([c], seed++), beta: randn([c], seed++), r: randn(shape, seed++) };
}

function run(c: NormCase, x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return c.op === 'instanceNorm' ? instanceNorm(x, g as tf.Tensor1D, b as tf.Tensor1D) : batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D);
}

const CASES: NormCase[] = [
  makeCase('instanceNorm', [2, 5, 7, 3]),
  makeCase('instanceNorm', [2, 3, 5, 4, 3]),
  makeCase('batchNorm', [2, 5, 7, 3]),
  makeCase('batchNorm', [2, 3, 5, 4, 3]),
];
const noTorch = torchMissing();

describe('normalisation on 4D and 5D (wasm)', () => {
  beforeAll(async () => {
    expect((await initBackend({ prefer: 'wasm', threads: 1 })).name).toBe('wasm');
  });

  it.skipIf(noTorch !== null)(`matches PyTorch float64, forward and gradients ${noTorch ?? ''}`, () => {
    const refs = torchRef(CASES);
    CASES.forEach((c, i) => {
      const label = `${c.op} ${c.shape.length}D`;
      const [x, g, b, r] = [tf.tensor(c.x), tf.tensor(c.gamma), tf.tensor(c.beta), tf.tensor(c.r)];
      const y = run(c, x, g, b);
      const [dx, dg, db] = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(run(c, xx, gg, bb), r)))([x, g, b]);
      expect(relErr(y, refs[i].y), `${label} y`).toBeLessThan(1e-5);
      expect(relErr(dx, refs[i].dx), `${label} dx`).toBeLessThan(1e-4);
      expect(relErr(dg, refs[i].dgamma), `${label} dgamma`).toBeLessThan(1e-4);
      expect(relErr(db, refs[i].dbeta), `${label} dbeta`).toBeLessThan(1e-4);
      tf.dispose([x, g, b, r, y, dx, dg, db]);
    });
  });

  it('gradient w.r.t. x agrees with central finite differences', () => {
    const c = CASES[1];
    const [x, g, b, r] = [tf.tensor(c.x), tf.tensor(c.gamma), tf.tensor(c.beta), tf.tensor(c.r)];
    const loss = (xx: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(run(c, xx, g, b), r)).dataSync()[0]);
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(run(c, xx, g, b), r)))(x).dataSync();
    const h = 1e-2;
    for (const flat of [0, 17, x.size - 1]) {
      const e = tf.tidy(() => tf.reshape(tf.mul(tf.cast(tf.oneHot([flat], x.size), 'float32'), h), x.shape));
      const fd = (loss(tf.add(x, e)) - loss(tf.sub(x, e))) / (2 * h);
      // float32 loss values, step 1e-2: agreement to ~1e-2 of the gradient scale.
      expect(Math.abs(fd - dx[flat])).toBeLessThan(2e-2 * Math.max(1, Math.abs(dx[flat])));
      e.dispose();
    }
    tf.dispose([x, g, b, r]);
  });

  it('rejects input that is not 4D or 5D with a clear message', () => {
    const x = tf.ones([4, 3]);
    expect(() => instanceNorm(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D)).toThrow(/4D or 5D/);
  });

  it('InstanceNormalization layer trains inside a tfjs-layers model on 5D input', () => {
    const input = tfl.input({ shape: [4, 6, 5, 2] });
    const conv = tfl.layers.conv3d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
    const norm = new InstanceNormalization().apply(conv) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: norm });
    const x = tf.randomNormal([2, 4, 6, 5, 2], 0, 1, 'float32', 3);
    const y = model.predict(x) as tf.Tensor;
    // Per sample and channel: zero mean, unit variance (gamma=1, beta=0 at init).
    const { mean, variance } = tf.moments(y, [1, 2, 3]);
    expect(Math.max(...Array.from(tf.abs(mean).dataSync()))).toBeLessThan(1e-4);
    expect(Math.max(...Array.from(tf.abs(tf.sub(variance, 1)).dataSync()))).toBeLessThan(1e-2);
    const grads = tf.variableGrads(() => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar);
    expect(Object.keys(grads.grads).length).toBe(model.trainableWeights.length);
    for (const gr of Object.values(grads.grads)) expect(Array.from(gr.dataSync()).every(Number.isFinite)).toBe(true);
  });
});
