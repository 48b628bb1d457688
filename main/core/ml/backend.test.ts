import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { SegloopError } from '../../../shared/errors';
import { describeBackends, initBackend } from './backend';

describe('initBackend', () => {
  it('falls through the missing native packages to wasm and says why', async () => {
    const r = await initBackend({ threads: 2 });
    expect(r.tried.map((t) => t.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm']);
    // Where the native packages cannot install, that is a normal, reported outcome.
    for (const t of r.tried.slice(0, 2)) expect(t.ok === true || /not installed|failed to load/.test(t.reason)).toBe(true);
    expect(r.name).toBe(tf.getBackend() === 'tensorflow' ? r.name : 'wasm');
    expect(r.simd).toBe(true);
    expect(r.threads).toBeGreaterThanOrEqual(1);
    expect(r.replacedKernels).toContain('Conv2DBackpropFilter');
    // The threaded build really computes: a conv result is right whatever the pool size.
    const y = tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'valid');
    expect(Array.from(y.dataSync())).toEqual([18, 18, 18, 18]);
  });

  it('honours a preference and can switch to cpu', async () => {
    const r = await initBackend({ prefer: 'cpu' });
    expect(r.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(r.tried).toHaveLength(1);
  });

  it('rejects an unknown preference with INVALID_ARGUMENT', async () => {
    await expect(initBackend({ prefer: 'gpu' as never })).rejects.toBeInstanceOf(SegloopError);
    await expect(initBackend({ prefer: 'gpu' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('describes all four backends for segloop doctor', async () => {
    const d = await describeBackends();
    expect(d.map((b) => b.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(d.find((b) => b.name === 'wasm')?.available).toBe(true);
  });
});
