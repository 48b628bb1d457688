// Test-time augmentation by mirroring and model ensembles. Every member (model x flip) produces
// a softmax map in the ORIGINAL orientation (flip input, predict, flip the output back); the
// prediction is their mean and the voxel-wise variance across members (averaged over classes)
// is the uncertainty map. Flips: X and Y for 2D models (Z is the slice axis), X, Y, Z for 3D —
// all 2^axes combinations, identity included.
import { flipGrid } from '../data/augment';
import type { Grid } from '../data/layout';
import { flipProbMap, slidingWindowProbabilities, slidingWindowProbabilitiesAsync, type ForwardFn, type ProbabilityFn, type ProbMap, type SlidingWindowOptions } from './sliding-window';

export type FlipSet = readonly (0 | 1 | 2)[];

export function flipSets(dims: 2 | 3): FlipSet[] {
  const axes: (0 | 1 | 2)[] = dims === 2 ? [0, 1] : [0, 1, 2];
  const sets: FlipSet[] = [];
  for (let m = 0; m < 1 << axes.length; m++) sets.push(axes.filter((_, i) => m & (1 << i)));
  return sets;
}

/** One member: predict with the given axes mirrored, returned in the original orientation. */
export function predictFlipped(forward: ForwardFn, images: readonly Grid[], opts: SlidingWindowOptions, flips: FlipSet): ProbMap {
  let imgs = [...images];
  for (const a of flips) imgs = imgs.map((g) => flipGrid(g, a));
  let p = slidingWindowProbabilities(forward, imgs, opts);
  for (const a of [...flips].reverse()) p = flipProbMap(p, a);
  return p;
}

/** predictFlipped through an asynchronous probability function (onnxruntime; engine.ts). */
export async function predictFlippedAsync(probabilities: ProbabilityFn, images: readonly Grid[], opts: SlidingWindowOptions, flips: FlipSet): Promise<ProbMap> {
  let imgs = [...images];
  for (const a of flips) imgs = imgs.map((g) => flipGrid(g, a));
  let p = await slidingWindowProbabilitiesAsync(probabilities, imgs, opts);
  for (const a of [...flips].reverse()) p = flipProbMap(p, a);
  return p;
}

export interface EnsembleResult {
  mean: ProbMap;
  /** Voxel-wise variance across members, averaged over classes; null for a single member. */
  variance: Float32Array | null;
  members: number;
}

/** Running mean and variance (Welford) over members, so memory stays at three maps. */
export class ProbAccumulator {
  private n = 0;
  private mean: Float32Array | null = null;
  private m2: Float32Array | null = null;
  private shape: ProbMap['shape'] | null = null;
  private K = 0;

  add(p: ProbMap): void {
    if (!this.mean || !this.m2) {
      this.mean = new Float32Array(p.data.length);
      this.m2 = new Float32Array(p.data.length);
      this.shape = [...p.shape];
      this.K = p.numClasses;
    } else if (p.data.length !== this.mean.length) {
      throw new Error('ensemble members differ in shape');
    }
    this.n++;
    const { mean, m2 } = this;
    for (let i = 0; i < p.data.length; i++) {
      const d = p.data[i] - mean[i];
      mean[i] += d / this.n;
      m2[i] += d * (p.data[i] - mean[i]);
    }
  }

  result(): EnsembleResult {
    if (!this.mean || !this.m2 || !this.shape) throw new Error('no ensemble members');
    const K = this.K;
    let variance: Float32Array | null = null;
    if (this.n > 1) {
      const nv = this.mean.length / K;
      variance = new Float32Array(nv);
      for (let v = 0; v < nv; v++) {
        let s = 0;
        for (let c = 0; c < K; c++) s += this.m2[v * K + c];
        // population variance over members, mean over classes
        variance[v] = s / this.n / K;
      }
    }
    return { mean: { shape: this.shape, numClasses: K, data: this.mean }, variance, members: this.n };
  }
}

/** Mean (and variance) over models x flips. Each forward has its own options (patch, dims). */
export function ensemblePredict(
  members: readonly { forward: ForwardFn; opts: SlidingWindowOptions }[],
  images: readonly Grid[],
  tta: boolean,
): EnsembleResult {
  const acc = new ProbAccumulator();
  for (const m of members) {
    for (const flips of tta ? flipSets(m.opts.dims) : [[] as FlipSet]) acc.add(predictFlipped(m.forward, images, m.opts, flips));
  }
  return acc.result();
}

/** ensemblePredict through asynchronous probability functions (one per model). */
export async function ensemblePredictAsync(
  members: readonly { probabilities: ProbabilityFn; opts: SlidingWindowOptions }[],
  images: readonly Grid[],
  tta: boolean,
): Promise<EnsembleResult> {
  const acc = new ProbAccumulator();
  for (const m of members) {
    for (const flips of tta ? flipSets(m.opts.dims) : [[] as FlipSet]) acc.add(await predictFlippedAsync(m.probabilities, images, m.opts, flips));
  }
  return acc.result();
}

/** Mean voxel entropy (nats) of a probability map. */
export function meanEntropy(p: ProbMap): number {
  const K = p.numClasses;
  const n = p.data.length / K;
  let total = 0;
  for (let v = 0; v < n; v++) {
    let h = 0;
    for (let c = 0; c < K; c++) {
      const q = p.data[v * K + c];
      if (q > 0) h -= q * Math.log(q);
    }
    total += h;
  }
  return n > 0 ? total / n : 0;
}
