// One training loss of a registered U-Net (2D and 3D), its value and the gradient of every weight:
// the product's wasm path (stock wasm kernels + ours) against the stock cpu backend (plain loops,
// plus our conv gradients), same seeded weights, same batch. This is the guard that found the
// wrong wasm MaxPool3D / MaxPoolGrad kernels (kernels/max-pool.ts): a broken kernel anywhere in the
// step shows up here as a gradient that disagrees.
//
// Tolerance: float32 with different summation orders gives ~1e-6 relative per weight tensor
// (measured 1.0e-6 2D, 1.9e-6 3D); 1e-3 of the tensor's largest gradient, with an absolute floor of
// 1e-7 for conv biases in front of instance norm (their true gradient is 0: both sides are ~1e-9
// noise). The wrong MaxPoolGrad moved gradients by 0.1-1x of their scale.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../main/core/ml/backend';
import { createModel } from '../../main/core/ml/models/registry';
import { createLoss } from '../../main/core/ml/losses';

interface Run { loss: number; grads: Float32Array[]; names: string[] }

async function lossAndGrads(backend: 'wasm' | 'cpu', arch: 'unet2d' | 'unet3d', shape: number[]): Promise<Run> {
  await initBackend({ prefer: backend });
  const { model } = createModel(arch, { numClasses: 3, inChannels: 1, baseWidth: 8, depth: 3 }, { seed: 42 });
  try {
    const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
    const y = tf.cast(tf.floor(tf.mul(tf.randomUniform(shape.slice(0, -1), 0, 1, 'float32', 2), 2.999)), 'int32');
    const loss = createLoss({ numClasses: 3, ceWeight: 1, diceWeight: 1, batchDice: false });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => loss(model.apply(x, { training: true }) as tf.Tensor, y) as tf.Scalar, vars);
    const out: Run = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array), names: model.trainableWeights.map((w) => w.originalName) };
    tf.dispose([x, y, value, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
  }
}

describe('training gradients: wasm (product path) equal cpu', () => {
  for (const [arch, shape] of [['unet2d', [4, 32, 48, 1]], ['unet3d', [1, 16, 24, 16, 1]]] as const) {
    it(`${arch}: loss and every weight's gradient`, async () => {
      const cpu = await lossAndGrads('cpu', arch, [...shape]);
      const wasm = await lossAndGrads('wasm', arch, [...shape]);
      expect(tf.getBackend()).toBe('wasm');
      expect(wasm.names).toEqual(cpu.names);
      expect(cpu.grads.length).toBeGreaterThan(20);
      expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4);
      const bad: string[] = [];
      cpu.grads.forEach((g, i) => {
        let scale = 0;
        let diff = 0;
        for (let j = 0; j < g.length; j++) {
          scale = Math.max(scale, Math.abs(g[j]));
          diff = Math.max(diff, Math.abs(g[j] - wasm.grads[i][j]));
        }
        if (diff > 1e-3 * scale + 1e-7) bad.push(`${cpu.names[i]}: max |Δ| ${diff.toExponential(2)} of scale ${scale.toExponential(2)}`);
      });
      expect(bad).toEqual([]);
    });
  }
});
