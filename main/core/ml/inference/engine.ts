// Which engine runs a model's forward passes for prediction, TTA and active-learning scoring.
// onnxruntime-node (the model exported to ONNX, ../onnx/export.ts) when it loads and the model
// exports; otherwise the tfjs model on the tfjs backend. The choice and its reason travel to the
// job's log and result (`describe`), so a slow prediction is never a mystery.
//
// Training, validation during training, MC-dropout sampling and feature extraction stay on tfjs
// (they need gradients, dropout at inference, or intermediate activations).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SegloopError } from '../../../../shared/errors';
import { exportToOnnx } from '../onnx/export';
import { loadOnnxRuntime, OrtRunner } from '../onnx/ort-runner';
import type { ProbabilityFn } from './sliding-window';

export type EnginePreference = 'auto' | 'onnxruntime' | 'tfjs';

export interface InferenceEngine {
  path: 'onnxruntime' | 'tfjs';
  /** Threads the engine computes with (onnxruntime: intra-op threads; tfjs: null = the backend's). */
  threads: number | null;
  /** One line for logs: the path, its version/backend and threads, or why onnxruntime was not used. */
  describe: string;
  probabilities: ProbabilityFn;
  dispose(): Promise<void>;
}

/** tfjs forward pass + softmax on the current backend. */
export function tfjsEngine(model: tfl.LayersModel, why = ''): InferenceEngine {
  return {
    path: 'tfjs',
    threads: null,
    describe: `tfjs (${tf.getBackend()} backend)${why ? `; ${why}` : ''}`,
    probabilities: (x, dims) =>
      Promise.resolve().then(() => {
        const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor(x, [...dims], 'float32')) as tf.Tensor, -1));
        const d = probs.dataSync() as Float32Array;
        probs.dispose();
        return d;
      }),
    dispose: () => Promise.resolve(),
  };
}

export async function onnxEngine(model: tfl.LayersModel, threads?: number): Promise<InferenceEngine> {
  const ex = exportToOnnx(model, { output: 'probabilities' });
  const runner = await OrtRunner.create(ex.bytes, ex, { threads });
  return {
    path: 'onnxruntime',
    threads: runner.threads,
    describe: `onnxruntime-node ${runner.version} (cpu, ${runner.threads} intra-op threads)`,
    probabilities: async (x, dims) => (await runner.run(x, dims)).data,
    dispose: () => runner.dispose(),
  };
}

/**
 * The fastest engine that works for `model`: onnxruntime unless `prefer` is 'tfjs', it does not
 * load, or the model does not export (then tfjs, with the reason in `describe`). `prefer:
 * 'onnxruntime'` makes those failures errors instead.
 */
export async function createEngine(model: tfl.LayersModel, opts: { prefer?: EnginePreference; threads?: number } = {}): Promise<InferenceEngine> {
  const prefer = opts.prefer ?? 'auto';
  if (prefer === 'tfjs') return tfjsEngine(model, 'tfjs requested');
  const { availability } = await loadOnnxRuntime();
  if (!availability.ok) {
    if (prefer === 'onnxruntime') throw new SegloopError('BACKEND_UNAVAILABLE', availability.reason ?? 'onnxruntime-node is not available.');
    return tfjsEngine(model, availability.reason ?? 'onnxruntime-node unavailable');
  }
  try {
    return await onnxEngine(model, opts.threads);
  } catch (e) {
    if (prefer === 'onnxruntime') throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return tfjsEngine(model, `onnxruntime not used: ${msg}`);
  }
}
