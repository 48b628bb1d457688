// The U-Net of the old benchmark, written with plain tfjs ops (no tfjs-layers). Kept because it
// tells the layers-wrapper overhead (`npm run bench:train -- --plain`: the registry's strided unet3d,
// the same net, vs this) and for tests/integration/kernels-memory.test.ts. Structure:
// 4 levels, widths 16-32-64-128, (conv3 + instance norm + leaky ReLU 0.01) x2 per
// level, stride-2 first conv for downsampling, k2/s2 transposed conv for upsampling, skip concat,
// 1x1 head; loss = softmax cross-entropy + (1 - soft Dice over foreground classes); Adam 1e-3.
import * as tf from '@tensorflow/tfjs-core';
import { instanceNorm } from '../../main/core/ml/kernels/instance-norm';

export interface BenchNetConfig {
  dims: 2 | 3;
  inChannels: number;
  classes: number;
  widths: number[];
}

interface ConvParams { w: tf.Variable; b: tf.Variable }
interface NormParams { g: tf.Variable; be: tf.Variable }
interface Block { c1: ConvParams; n1: NormParams; c2: ConvParams; n2: NormParams; stride: number }

export class BenchUNet {
  readonly enc: Block[] = [];
  readonly up: ConvParams[] = [];
  readonly dec: Block[] = [];
  readonly head: ConvParams;
  private seed = 1;

  constructor(readonly cfg: BenchNetConfig) {
    const { widths } = cfg;
    let cin = cfg.inChannels;
    widths.forEach((w, l) => {
      this.enc.push(this.block(cin, w, l === 0 ? 1 : 2));
      cin = w;
    });
    for (let l = widths.length - 2; l >= 0; l--) {
      this.up.push(this.convT(widths[l + 1], widths[l]));
      this.dec.push(this.block(2 * widths[l], widths[l], 1));
    }
    this.head = this.conv(widths[0], cfg.classes, 1);
  }

  private kshape(k: number, cin: number, cout: number): number[] {
    return this.cfg.dims === 3 ? [k, k, k, cin, cout] : [k, k, cin, cout];
  }

  private conv(cin: number, cout: number, k: number): ConvParams {
    const fanIn = cin * k ** this.cfg.dims;
    const std = Math.sqrt(2 / fanIn);
    return {
      w: tf.variable(tf.randomNormal(this.kshape(k, cin, cout), 0, std, 'float32', this.seed++)),
      b: tf.variable(tf.zeros([cout])),
    };
  }

  private convT(cin: number, cout: number): ConvParams {
    const std = Math.sqrt(2 / (cin * 2 ** this.cfg.dims));
    // tfjs transposed-conv filters are [k.., out, in].
    return {
      w: tf.variable(tf.randomNormal(this.kshape(2, cout, cin), 0, std, 'float32', this.seed++)),
      b: tf.variable(tf.zeros([cout])),
    };
  }

  private block(cin: number, cout: number, stride: number): Block {
    const norm = (): NormParams => ({ g: tf.variable(tf.ones([cout])), be: tf.variable(tf.zeros([cout])) });
    return { c1: this.conv(cin, cout, 3), n1: norm(), c2: this.conv(cout, cout, 3), n2: norm(), stride };
  }

  variables(): tf.Variable[] {
    const vs: tf.Variable[] = [];
    const blk = (b: Block) => vs.push(b.c1.w, b.c1.b, b.n1.g, b.n1.be, b.c2.w, b.c2.b, b.n2.g, b.n2.be);
    this.enc.forEach(blk);
    this.up.forEach((u) => vs.push(u.w, u.b));
    this.dec.forEach(blk);
    vs.push(this.head.w, this.head.b);
    return vs;
  }

  parameterCount(): number {
    return this.variables().reduce((a, v) => a + v.size, 0);
  }

  private convOp(x: tf.Tensor, p: ConvParams, stride: number): tf.Tensor {
    const y = this.cfg.dims === 3
      ? tf.conv3d(x as tf.Tensor5D, p.w as unknown as tf.Tensor5D, stride, 'same')
      : tf.conv2d(x as tf.Tensor4D, p.w as unknown as tf.Tensor4D, stride, 'same');
    return tf.add(y, p.b);
  }

  private upOp(x: tf.Tensor, p: ConvParams): tf.Tensor {
    const cout = p.w.shape[p.w.shape.length - 2];
    const s = x.shape as number[];
    const y = this.cfg.dims === 3
      ? tf.conv3dTranspose(x as tf.Tensor5D, p.w as unknown as tf.Tensor5D, [s[0], s[1] * 2, s[2] * 2, s[3] * 2, cout], 2, 'same')
      : tf.conv2dTranspose(x as tf.Tensor4D, p.w as unknown as tf.Tensor4D, [s[0], s[1] * 2, s[2] * 2, cout], 2, 'same');
    return tf.add(y, p.b);
  }

  private blockOp(x: tf.Tensor, b: Block): tf.Tensor {
    let h = this.convOp(x, b.c1, b.stride);
    h = tf.leakyRelu(instanceNorm(h, b.n1.g as unknown as tf.Tensor1D, b.n1.be as unknown as tf.Tensor1D), 0.01);
    h = this.convOp(h, b.c2, 1);
    return tf.leakyRelu(instanceNorm(h, b.n2.g as unknown as tf.Tensor1D, b.n2.be as unknown as tf.Tensor1D), 0.01);
  }

  /** Logits, channels last. */
  apply(x: tf.Tensor): tf.Tensor {
    const skips: tf.Tensor[] = [];
    let h = x;
    for (const b of this.enc) {
      h = this.blockOp(h, b);
      skips.push(h);
    }
    for (let i = 0; i < this.dec.length; i++) {
      const up = this.upOp(h, this.up[i]);
      h = this.blockOp(tf.concat([up, skips[skips.length - 2 - i]], -1), this.dec[i]);
    }
    return this.convOp(h, this.head, 1);
  }
}

/** Mean softmax cross-entropy + (1 - mean soft Dice over foreground classes, per sample). */
export function diceCeLoss(logits: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  const rank = logits.rank;
  const spatial = [...Array(rank - 2).keys()].map((i) => i + 1);
  const logp = tf.logSoftmax(logits);
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1)));
  const p = tf.exp(logp);
  const inter = tf.sum(tf.mul(p, onehot), spatial);
  const denom = tf.add(tf.sum(p, spatial), tf.sum(onehot, spatial));
  const dice = tf.div(tf.add(tf.mul(inter, 2), 1e-5), tf.add(denom, 1e-5));
  const c = logits.shape[rank - 1];
  const fg = tf.slice(dice, [0, 1], [-1, c - 1]);
  return tf.add(ce, tf.sub(1, tf.mean(fg))) as tf.Scalar;
}
