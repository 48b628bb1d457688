// Custom tfjs-layers layers the stock library lacks or breaks on 5D input:
// - Normalization: instance or batch norm from tf.moments (tfjs-layers batchNormalization
//   throws on 5D; there is no instance norm at all).
// - NearestUpsample: nearest-neighbour x2 up-sampling for 4D and 5D (no UpSampling3D in tfjs).
// Both are registered for serialisation so saved models load back.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { normalize } from '../kernels/instance-norm';

type Kwargs = Record<string, unknown>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

export type NormKind = 'instance' | 'batch';

interface NormalizationArgs extends LayerArgs {
  kind: NormKind;
  epsilon?: number;
  momentum?: number;
}

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

export class Normalization extends tfl.layers.Layer {
  static className = 'SegloopNormalization';
  readonly kind: NormKind;
  readonly epsilon: number;
  readonly momentum: number;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;
  private movingMean: tfl.LayerVariable | null = null;
  private movingVar: tfl.LayerVariable | null = null;

  constructor(args: NormalizationArgs) {
    super(args);
    this.kind = args.kind;
    this.epsilon = args.epsilon ?? 1e-5;
    this.momentum = args.momentum ?? 0.9;
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1] as number;
    this.gamma = this.addWeight('gamma', [c], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros());
    if (this.kind === 'batch') {
      this.movingMean = this.addWeight('moving_mean', [c], 'float32', tfl.initializers.zeros(), undefined, false);
      this.movingVar = this.addWeight('moving_variance', [c], 'float32', tfl.initializers.ones(), undefined, false);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      const rank = x.rank;
      const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 1);
      const gamma = this.gamma.read() as tf.Tensor1D;
      const beta = this.beta.read() as tf.Tensor1D;
      // Training statistics go through the kernels engineer's normalize (closed-form gradient).
      if (this.kind === 'instance') return normalize(x, gamma, beta, spatial, this.epsilon);
      const mm = this.movingMean as tfl.LayerVariable;
      const mv = this.movingVar as tfl.LayerVariable;
      if (kwargs['training'] === true) {
        const axes = [0, ...spatial];
        const { mean, variance } = tf.moments(x, axes, false);
        // Variable writes are not recorded on the gradient tape.
        const m = this.momentum;
        mm.write(tf.add(tf.mul(mm.read(), m), tf.mul(mean, 1 - m)));
        mv.write(tf.add(tf.mul(mv.read(), m), tf.mul(variance, 1 - m)));
        return normalize(x, gamma, beta, axes, this.epsilon);
      }
      const normed = tf.div(tf.sub(x, mm.read()), tf.sqrt(tf.add(mv.read(), this.epsilon)));
      return tf.add(tf.mul(normed, gamma), beta);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kind: this.kind, epsilon: this.epsilon, momentum: this.momentum };
  }
}

export class NearestUpsample extends tfl.layers.Layer {
  static className = 'SegloopNearestUpsample';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return s.map((d, i) => (i === 0 || i === s.length - 1 || d == null ? d : d * 2));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = first(inputs);
      // Per axis: [pre, n, 1, post] -> concat with itself on axis 2 -> [pre, 2n, post]. Only
      // rank-4 reshape/concat (gradient: slices), which every backend differentiates; gather's
      // gradient needs UnsortedSegmentSum, missing on wasm.
      for (let axis = 1; axis < x.rank - 1; axis++) {
        const shape = x.shape;
        const pre = shape.slice(0, axis).reduce((a, b) => a * b, 1);
        const post = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const x4 = tf.reshape(x, [pre, shape[axis], 1, post]);
        const doubled = tf.concat([x4, x4], 2);
        x = tf.reshape(doubled, shape.map((d, i) => (i === axis ? 2 * d : d)));
      }
      return x;
    });
  }
}

tf.serialization.registerClass(Normalization);
tf.serialization.registerClass(NearestUpsample);
