// One training step of the DESIGN reference U-Net (depth 4, width 16, 40x56x40, batch 2) on the
// backend initBackend() picks. Run: node bin/run-ts.mjs main/core/ml/models/ref/bench-step.ts [model]
// PyTorch twin for the ratio: /usr/bin/python3 main/core/ml/models/ref/torch-step.py
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend';
import { createModel } from '../index';
import { createLoss } from '../../losses';
const name = process.argv[2] ?? 'unet3d';
const r = await initBackend();
const { model } = createModel(name, { depth: 4, baseWidth: 16, numClasses: 3 });
const loss = createLoss({ numClasses: 3 });
const opt = tf.train.adam(1e-3);
const x = tf.randomNormal([2, 40, 56, 40, 1]);
const y = tf.cast(tf.greater(tf.squeeze(x, [4]), 1), 'int32');
const times: number[] = [];
for (let s = 0; s < 4; s++) {
  const t0 = performance.now();
  const l = opt.minimize(() => loss(model.apply(x, { training: true }) as tf.Tensor, y), true) as tf.Scalar;
  l.dataSync(); l.dispose();
  times.push(performance.now() - t0);
}
console.log(JSON.stringify({ backend: r.name, model: name, params: model.countParams(), stepMs: times.map(Math.round) }));
