// A few Adam steps of a small 3D U-Net (our kernels on wasm) must not leak tensors or wasm memory.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../main/core/ml/backend';
import { BenchUNet, diceCeLoss } from '../bench/unet-bench-model';

describe('training memory on wasm', () => {
  beforeAll(async () => {
    expect((await initBackend({ prefer: 'wasm', threads: 1 })).name).toBe('wasm');
  });

  it('numTensors and numBytes stay flat over training steps of a 3D U-Net', () => {
    const net = new BenchUNet({ dims: 3, inChannels: 1, classes: 3, widths: [4, 8, 16] });
    const x = tf.randomNormal([2, 8, 12, 8, 1], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.cast(tf.floor(tf.randomUniform([2, 8, 12, 8], 0, 3, 'float32', 2)), 'int32'), 3));
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    const step = () => {
      const l = opt.minimize(() => diceCeLoss(net.apply(x), y), true, net.variables());
      losses.push(l?.dataSync()[0] ?? NaN);
      l?.dispose();
    };
    step();
    step(); // Adam creates its moment variables during the first steps.
    const before = tf.memory();
    for (let i = 0; i < 4; i++) step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(losses.every(Number.isFinite)).toBe(true);
    // It also learns: fitting one fixed batch lowers the loss.
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  });
});
