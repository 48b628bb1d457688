// Normalisation that works on 4D (NHWC) and 5D (NDHWC) tensors, with a closed-form gradient
// (fewer, larger ops than autodiff through moments). tfjs-layers' batchNormalization throws on 5D.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { NORM_BACKWARD, NORM_FORWARD, fusedNormMode } from './norm-fused';

export const DEFAULT_NORM_EPSILON = 1e-5;

/**
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics over `axes` (biased variance,
 * as PyTorch's InstanceNorm/BatchNorm in training mode). gamma/beta have shape [C].
 */
export function normalize(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, axes: number[], epsilon = DEFAULT_NORM_EPSILON): tf.Tensor {
  const mode = fusedNormMode(x, axes);
  if (mode) return normalizeFused(x, gamma, beta, mode === 'instance', epsilon);
  const fn = tf.customGrad(((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xi, axes, true);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(xi, mean), invStd);
    save([xhat, invStd, gi]);
    return {
      value: tf.add(tf.mul(xhat, gi), bi),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, g] = saved;
        const allAxes = [...Array(dy.rank - 1).keys()];
        const dBeta = tf.sum(dy, allAxes);
        const dGamma = tf.sum(tf.mul(dy, xh), allAxes);
        // dx = invStd * (g*dy - mean(g*dy) - xhat * mean(g*dy*xhat)), means over `axes`.
        const gdy = tf.mul(dy, g);
        const m1 = tf.mean(gdy, axes, true);
        const m2 = tf.mean(tf.mul(gdy, xh), axes, true);
        const dx = tf.mul(inv, tf.sub(tf.sub(gdy, m1), tf.mul(xh, m2)));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return fn(x, gamma, beta);
}

/** The same through the fused kernels of norm-fused.ts (wasm, cpu): 3 passes forward, 2 backward. */
function normalizeFused(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, perSample: boolean, epsilon: number): tf.Tensor {
  const fn = tf.customGrad(((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, xhat, invStd] = tf.engine().runKernel(NORM_FORWARD, { x: xi, gamma: gi, beta: bi }, { perSample, epsilon }) as tf.Tensor[];
    save([xhat, invStd, gi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, g] = saved;
        return tf.engine().runKernel(NORM_BACKWARD, { dy, xhat: xh, invStd: inv, gamma: g }, { perSample }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return fn(x, gamma, beta);
}

/** Instance normalisation of NHWC / NDHWC input: statistics per sample and channel. */
export function instanceNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = DEFAULT_NORM_EPSILON): tf.Tensor {
  if (x.rank !== 4 && x.rank !== 5) throw new Error(`instanceNorm expects a 4D or 5D channels-last tensor, got rank ${x.rank}`);
  return normalize(x, gamma, beta, [...Array(x.rank - 2).keys()].map((i) => i + 1), epsilon);
}

/** Batch normalisation (training-mode statistics) of NHWC / NDHWC input: per channel over batch and space. */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = DEFAULT_NORM_EPSILON): tf.Tensor {
  return normalize(x, gamma, beta, [...Array(x.rank - 1).keys()], epsilon);
}

/** tfjs-layers layer wrapping instanceNorm (affine, like torch.nn.InstanceNorm3d(affine=True)). */
export class InstanceNormalization extends tfl.layers.Layer {
  static readonly className = 'SegloopInstanceNormalization';
  private readonly epsilon: number;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  constructor(config: { epsilon?: number; name?: string; trainable?: boolean } = {}) {
    super({ name: config.name, trainable: config.trainable });
    this.epsilon = config.epsilon ?? DEFAULT_NORM_EPSILON;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error('InstanceNormalization needs a known channel count');
    this.gamma = this.addWeight('gamma', [c], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!this.gamma || !this.beta) throw new Error('InstanceNormalization called before build');
    return instanceNorm(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.epsilon);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(InstanceNormalization);
