import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createModel, listModels } from './index';

const here = path.dirname(fileURLToPath(import.meta.url));
const PY = '/usr/bin/python3';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('model registry', () => {
  it('registers the five named architectures', () => {
    expect(listModels().map((m) => m.name).sort()).toEqual(['attention-resunet', 'attention-unet', 'resunet', 'unet2d', 'unet3d']);
  });

  it('rejects unknown names and bad configs with a clear error', () => {
    expect(() => createModel('vnet')).toThrow(/Unknown model architecture "vnet"/);
    expect(() => createModel('unet3d', { depth: 1 })).toThrow(/depth must be/);
    expect(() => createModel('unet3d', { numClasses: 1 })).toThrow(/numClasses/);
  });

  const variants = ['unet2d', 'unet3d', 'resunet', 'attention-unet', 'attention-resunet'];
  for (const name of variants) {
    for (const dims of [2, 3] as const) {
      if ((name === 'unet2d' && dims === 3) || (name === 'unet3d' && dims === 2)) continue;
      for (const upsample of ['transpose', 'nearest'] as const) {
        it(`${name} ${dims}D (${upsample}) maps [b, ...spatial, C] to [b, ...spatial, K]`, () => {
          const { model, config } = createModel(name, { dims, depth: 3, baseWidth: 4, inChannels: 2, numClasses: 3, upsample, dropout: 0.1 });
          expect(config.dims).toBe(dims);
          const spatial = dims === 3 ? [8, 12, 4] : [12, 8];
          const x = tf.randomNormal([2, ...spatial, 2]);
          const y = model.predict(x) as tf.Tensor;
          expect(y.shape).toEqual([2, ...spatial, 3]);
          expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
          tf.dispose([x, y]);
          model.dispose();
        });
      }
    }
  }

  it('batch norm works on 5D input, training and inference', () => {
    const { model } = createModel('unet3d', { depth: 2, baseWidth: 2, norm: 'batch' });
    const x = tf.randomNormal([2, 4, 4, 4, 1]);
    const yTrain = model.apply(x, { training: true }) as tf.Tensor;
    const yInfer = model.predict(x) as tf.Tensor;
    expect(yTrain.shape).toEqual([2, 4, 4, 4, 2]);
    expect(yInfer.shape).toEqual([2, 4, 4, 4, 2]);
    tf.dispose([x, yTrain, yInfer]);
    model.dispose();
  });
});

describe('parameter count against PyTorch', () => {
  it('unet3d(depth 4, width 16, 1 -> 3 classes) has the same parameter count as the torch twin', () => {
    const out = execFileSync(PY, [path.join(here, 'ref', 'unet3d_reference.py'), '4', '16', '1', '3'], { encoding: 'utf8' });
    const torchCount = (JSON.parse(out) as { params: number }).params;
    const { model } = createModel('unet3d', { depth: 4, baseWidth: 16, inChannels: 1, numClasses: 3, norm: 'instance' });
    expect(model.countParams()).toBe(torchCount);
    expect(torchCount).toBe(1402003);
    model.dispose();
  });
});
