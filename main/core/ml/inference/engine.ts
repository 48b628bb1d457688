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
  /**
   * Input voxels one forward pass may carry (tiles x patch voxels; SlidingWindowOptions.maxBatchVoxels),
   * from the model's activation memory and the budget; null = the sliding window's defaults
   * (tfjs: 1 tile in 3D, 16 slices in 2D, what it was measured and tested with).
   */
  maxBatchVoxels: number | null;
  probabilities: ProbabilityFn;
  dispose(): Promise<void>;
}

/** tfjs forward pass + softmax on the current backend. */
export function tfjsEngine(model: tfl.LayersModel, why = ''): InferenceEngine {
  return {
    path: 'tfjs',
    threads: null,
    maxBatchVoxels: null,
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

/** Default memory budget of one onnxruntime forward pass (SEGLOOP_INFER_MEMORY_MB overrides). */
export const DEFAULT_PASS_BUDGET_MB = 512;

function budgetMB(explicit?: number): number {
  if (explicit !== undefined) return explicit;
  const env = Number(process.env.SEGLOOP_INFER_MEMORY_MB);
  return Number.isFinite(env) && env > 0 ? env : DEFAULT_PASS_BUDGET_MB;
}

/**
 * Float32 activation values per input voxel of one forward pass: the sum over every layer's
 * output (shapes propagated through the graph from a probe input), i.e. the memory if nothing
 * were freed or reused. onnxruntime's planner reuses buffers, so its real peak is lower: an upper
 * bound, which is what a memory bound needs. null when a layer cannot say its output shape.
 */
export function activationValuesPerVoxel(model: tfl.LayersModel): number | null {
  const inShape = model.inputs[0]?.shape;
  if (!inShape) return null;
  const spatial = inShape.length - 2;
  // 32 per axis divides by 2 at every level of a depth <= 6 U-Net.
  const probe = [1, ...new Array<number>(spatial).fill(32), inShape[inShape.length - 1] ?? 1];
  const probeVoxels = 32 ** spatial;
  const shapes = new Map<string, number[]>();
  let total = 0;
  try {
    for (const layer of model.layers) {
      const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
      let out: number[];
      if (inbound.length === 0) out = probe;
      else {
        const ins = inbound.map((l) => {
          const sh = shapes.get(l.name);
          if (!sh) throw new Error(`no shape for ${l.name}`);
          return sh;
        });
        out = layer.computeOutputShape(ins.length === 1 ? ins[0] : ins) as unknown as number[];
      }
      if (!Array.isArray(out) || out.some((d) => typeof d !== 'number')) return null;
      shapes.set(layer.name, out);
      total += out.reduce((a, d) => a * d, 1);
    }
  } catch {
    return null;
  }
  return total / probeVoxels;
}

/** Input voxels per forward pass that keep the activations under `budgetMB` (at least 1 voxel). */
export function maxBatchVoxelsFor(model: tfl.LayersModel, budget?: number): number | null {
  const perVoxel = activationValuesPerVoxel(model);
  if (!perVoxel) return null;
  return Math.max(1, Math.floor((budgetMB(budget) * 2 ** 20) / (4 * perVoxel)));
}

export async function onnxEngine(model: tfl.LayersModel, threads?: number, opts: { memoryBudgetMB?: number } = {}): Promise<InferenceEngine> {
  const ex = exportToOnnx(model, { output: 'probabilities' });
  const runner = await OrtRunner.create(ex.bytes, ex, { threads });
  const maxBatchVoxels = maxBatchVoxelsFor(model, opts.memoryBudgetMB);
  return {
    path: 'onnxruntime',
    threads: runner.threads,
    maxBatchVoxels,
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
export async function createEngine(model: tfl.LayersModel, opts: { prefer?: EnginePreference; threads?: number; memoryBudgetMB?: number } = {}): Promise<InferenceEngine> {
  const prefer = opts.prefer ?? 'auto';
  if (prefer === 'tfjs') return tfjsEngine(model, 'tfjs requested');
  const { availability } = await loadOnnxRuntime();
  if (!availability.ok) {
    if (prefer === 'onnxruntime') throw new SegloopError('BACKEND_UNAVAILABLE', availability.reason ?? 'onnxruntime-node is not available.');
    return tfjsEngine(model, availability.reason ?? 'onnxruntime-node unavailable');
  }
  try {
    return await onnxEngine(model, opts.threads, { memoryBudgetMB: opts.memoryBudgetMB });
  } catch (e) {
    if (prefer === 'onnxruntime') throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return tfjsEngine(model, `onnxruntime not used: ${msg}`);
  }
}
