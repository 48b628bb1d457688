import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { applyLabelDropout, createLoss, segmentationLossParts, type SegLossOptions } from './losses';
import { createRng } from './data/prng';

const here = path.dirname(fileURLToPath(import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Case {
  logits: number[][][];
  target: number[][];
  labelled: number[][] | null;
  weights: number[] | null;
  partial: 'merge' | 'exclude';
  batch_dice: boolean;
  include_bg: boolean;
  smooth: number;
}

function torchRef(c: Case): { ce: number; dice: number; total: number } {
  const out = execFileSync('/usr/bin/python3', [path.join(here, 'ref', 'loss_reference.py')], { input: JSON.stringify(c), encoding: 'utf8' });
  return JSON.parse(out) as { ce: number; dice: number; total: number };
}

function makeCase(B: number, N: number, K: number, seed: number): Pick<Case, 'logits' | 'target'> {
  const rng = createRng(seed);
  const logits = Array.from({ length: B }, () => Array.from({ length: N }, () => Array.from({ length: K }, () => rng.uniform(-3, 3))));
  const target = Array.from({ length: B }, () => Array.from({ length: N }, () => rng.int(K)));
  return { logits, target };
}

function ours(c: Case, spatial: number[]): { ce: number; dice: number; total: number } {
  const B = c.logits.length;
  const K = c.logits[0][0].length;
  return tf.tidy(() => {
    const logits = tf.tensor(c.logits.flat(2), [B, ...spatial, K]);
    const target = tf.tensor(c.target.flat(), [B, ...spatial], 'int32');
    const opts: SegLossOptions = { numClasses: K, classWeights: c.weights ?? undefined, partial: c.partial, batchDice: c.batch_dice, diceIncludeBackground: c.include_bg, smooth: c.smooth };
    const p = segmentationLossParts(logits, target, opts, c.labelled ?? undefined);
    return { ce: p.ce.dataSync()[0], dice: p.dice.dataSync()[0], total: p.total.dataSync()[0] };
  });
}

describe('segmentation loss against PyTorch', () => {
  const base = makeCase(2, 4 * 3 * 2, 3, 11);
  const cases: [string, Case][] = [
    ['fully labelled, no weights', { ...base, labelled: null, weights: null, partial: 'merge', batch_dice: false, include_bg: false, smooth: 1e-5 }],
    ['fully labelled, class weights, batch dice, with background', { ...base, labelled: null, weights: [0.2, 1, 3], partial: 'merge', batch_dice: true, include_bg: true, smooth: 1 }],
    ['partial labels, merge', { ...base, labelled: [[1, 0, 1], [1, 1, 1]], weights: [0.5, 1, 2], partial: 'merge', batch_dice: false, include_bg: false, smooth: 1e-5 }],
    ['partial labels, merge, batch dice', { ...base, labelled: [[1, 0, 1], [1, 1, 0]], weights: null, partial: 'merge', batch_dice: true, include_bg: false, smooth: 1e-5 }],
    ['partial labels, exclude', { ...base, labelled: [[1, 0, 1], [1, 1, 1]], weights: [0.5, 1, 2], partial: 'exclude', batch_dice: false, include_bg: false, smooth: 1e-5 }],
  ];
  for (const [name, c] of cases) {
    it(name, () => {
      const ref = torchRef(c);
      const got = ours(c, [4, 3, 2]);
      expect(got.ce).toBeCloseTo(ref.ce, 4);
      expect(got.dice).toBeCloseTo(ref.dice, 4);
      expect(got.total).toBeCloseTo(ref.total, 4);
    });
  }

  it('one-hot and integer targets give the same loss (2D layout)', () => {
    const c = makeCase(1, 6 * 5, 4, 3);
    const loss = createLoss({ numClasses: 4, classWeights: [1, 2, 3, 4] });
    const [a, b] = tf.tidy(() => {
      const logits = tf.tensor(c.logits.flat(2), [1, 6, 5, 4]);
      const t = tf.tensor(c.target.flat(), [1, 6, 5], 'int32');
      return [loss(logits, t).dataSync()[0], loss(logits, tf.oneHot(t, 4)).dataSync()[0]];
    });
    expect(a).toBeCloseTo(b, 6);
  });

  it('rejects mismatched shapes and masks', () => {
    const logits = tf.zeros([1, 4, 4, 3]);
    expect(() => segmentationLossParts(logits, tf.zeros([1, 4, 5], 'int32'), { numClasses: 3 })).toThrow(/do not match/);
    expect(() => segmentationLossParts(logits, tf.zeros([1, 4, 4], 'int32'), { numClasses: 2 })).toThrow(/3 channels/);
    expect(() => segmentationLossParts(logits, tf.zeros([1, 4, 4], 'int32'), { numClasses: 3 }, [[1, 1]])).toThrow(/labelledClasses/);
    logits.dispose();
  });
});

describe('gradients', () => {
  it('d loss / d logits matches central finite differences (partial merge, weights)', () => {
    const c = makeCase(2, 3 * 2 * 2, 3, 5);
    const opts: SegLossOptions = { numClasses: 3, classWeights: [0.5, 1, 2], partial: 'merge' };
    const labelled = [[1, 0, 1], [1, 1, 1]];
    const shape = [2, 3, 2, 2, 3];
    const flat = c.logits.flat(2);
    const target = tf.tensor(c.target.flat(), [2, 3, 2, 2], 'int32');
    const f = (v: number[]): number => tf.tidy(() => segmentationLossParts(tf.tensor(v, shape), target, opts, labelled).total.dataSync()[0]);
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => segmentationLossParts(x, target, opts, labelled).total)(tf.tensor(flat, shape)).dataSync());
    const h = 1e-2;
    let maxErr = 0;
    for (let i = 0; i < flat.length; i += 3) {
      const up = [...flat]; up[i] += h;
      const dn = [...flat]; dn[i] -= h;
      const fd = (f(up) - f(dn)) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - g[i]));
    }
    expect(maxErr).toBeLessThan(2e-3);
    target.dispose();
  });
});

describe('partial labels', () => {
  it('merge: shifting probability between background and a missing class leaves the loss unchanged', () => {
    // Sample has classes {0,1,2}; class 1 not labelled. Change logits so that p1 grows and p0 shrinks
    // by the same amount at every voxel: the loss must not move. Changing p2 instead must move it.
    const c = makeCase(1, 16, 3, 9);
    const opts: SegLossOptions = { numClasses: 3 };
    const labelled = [[1, 0, 1]];
    const target = tf.tensor(c.target.flat().map((v) => (v === 1 ? 0 : v)), [1, 16], 'int32');
    const loss = (l: number[][]): number => tf.tidy(() => segmentationLossParts(tf.tensor(l.flat(), [1, 16, 3]), target, opts, labelled).total.dataSync()[0]);
    const logits = c.logits[0];
    const base = loss(logits);
    // Redistribute mass inside {0,1} while keeping p0 + p1 fixed: log-sum-exp of the pair constant.
    const moved = logits.map(([a, b, d]) => {
      const lse = Math.log(Math.exp(a) + Math.exp(b));
      const p1 = 0.9;
      return [lse + Math.log(1 - p1), lse + Math.log(p1), d];
    });
    expect(loss(moved)).toBeCloseTo(base, 5);
    const towards2 = logits.map(([a, b, d]) => [a, b, d + 1]);
    expect(Math.abs(loss(towards2) - base)).toBeGreaterThan(1e-3);
    // The same shift IS penalised when class 1 is labelled.
    const full = (l: number[][]): number => tf.tidy(() => segmentationLossParts(tf.tensor(l.flat(), [1, 16, 3]), target, opts).total.dataSync()[0]);
    expect(Math.abs(full(moved) - full(logits))).toBeGreaterThan(1e-2);
    target.dispose();
  });

  it('exclude: the logits of a missing class have no effect at all', () => {
    const c = makeCase(1, 16, 3, 4);
    const labelled = [[1, 1, 0]];
    const target = tf.tensor(c.target.flat().map((v) => (v === 2 ? 0 : v)), [1, 16], 'int32');
    const opts: SegLossOptions = { numClasses: 3, partial: 'exclude' };
    const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => segmentationLossParts(x, target, opts, labelled).total)(tf.tensor(c.logits.flat(2), [1, 16, 3])).arraySync() as number[][][]);
    for (const v of grad[0]) expect(Math.abs(v[2])).toBeLessThan(1e-6);
    target.dispose();
  });

  it('label dropout is seeded, keeps background, drops only present labelled classes, at about rate p', () => {
    const labelled = Array.from({ length: 4000 }, () => [1, 1, 1, 0]);
    const present = Array.from({ length: 4000 }, () => [true, true, false, true]);
    const a = applyLabelDropout(labelled, present, 0.3, createRng(1));
    const b = applyLabelDropout(labelled, present, 0.3, createRng(1));
    expect(a).toEqual(b);
    expect(a.every((r) => r[0] === 1 && r[2] === 1 && r[3] === 0)).toBe(true);
    const rate = a.filter((r) => r[1] === 0).length / a.length;
    expect(rate).toBeGreaterThan(0.27);
    expect(rate).toBeLessThan(0.33);
    expect(() => applyLabelDropout(labelled, present, 1.5, createRng(1))).toThrow(/probability/);
  });
});
