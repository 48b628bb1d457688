import { describe, expect, it } from 'vitest';
import { chainPoints, diceOption, formatEta, formatStep, lossOption, parseProgressMessage, runNote, shortBackend } from './training-charts';

const p = (epoch: number, loss: number, dice: (number | null)[]) => ({ epoch, epochs: 3, trainLoss: loss, valDice: dice, valMeanDice: null, lr: 1e-3, seconds: 2, steps: 4, stepSeconds: 0.5 });

describe('training charts', () => {
  it('plots one loss point and one Dice point per class per epoch (absent classes as gaps)', () => {
    const pts = [p(1, 0.9, [0.1, null]), p(2, 0.7, [0.3, 0.2])];
    expect((lossOption(pts).series as { data: number[][] }[])[0].data).toEqual([[1, 0.9], [2, 0.7]]);
    const s = diceOption(pts, ['a', 'b']).series as { name: string; data: (number | null)[][] }[];
    expect(s.map((x) => x.name)).toEqual(['a', 'b']);
    expect(s[1].data).toEqual([[1, null], [2, 0.2]]);
    expect(formatEta(30)).toBe('30 s left');
    expect(formatEta(600)).toBe('10 min left');
    expect(formatEta(null)).toBe('');
  });

  it('joins a resumed run to the runs it continues (epoch numbering goes on; redone epochs replace)', () => {
    const runs = [
      { id: '3', resumedFromRunId: '2', epochs: [p(3, 0.5, [0.4, 0.4]), p(4, 0.4, [0.5, 0.5])] },
      { id: '2', resumedFromRunId: null, epochs: [p(1, 0.9, [0.1, 0.1]), p(2, 0.7, [0.2, 0.2]), p(3, 0.6, [0.3, 0.3])] },
      { id: '1', resumedFromRunId: null, epochs: [p(1, 1, [0, 0])] },
    ];
    expect(chainPoints(runs, '3').map((x) => [x.epoch, x.trainLoss])).toEqual([[1, 0.9], [2, 0.7], [3, 0.5], [4, 0.4]]);
    expect(chainPoints(runs, '3', [p(5, 0.3, [0.6, 0.6])]).map((x) => x.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(chainPoints(runs, '1').map((x) => x.epoch)).toEqual([1]);
    expect(chainPoints(runs, null, [p(1, 0.8, [0.2, 0.2])]).map((x) => x.epoch)).toEqual([1]);
    // A cycle in corrupt data does not hang.
    expect(chainPoints([{ id: 'a', resumedFromRunId: 'a', epochs: [p(1, 1, [0, 0])] }], 'a')).toHaveLength(1);
    expect(formatStep(0.4321)).toBe('432 ms');
    expect(formatStep(2.5)).toBe('2.50 s');
    expect(formatStep(null)).toBe('—');
    expect(shortBackend('wasm (2 threads; our kernels: Conv3D, Slice)')).toBe('wasm (2 threads)');
    expect(shortBackend('tensorflow (GPU 0)')).toBe('tensorflow (GPU 0)');
    expect(shortBackend(null)).toBe('—');
    expect(runNote('Cancelled. Continue it with `segloop train --resume`.', true)).toBe('Cancelled. Resume it with the Resume button.');
    expect(runNote('WORKER_CRASHED: killed. Continue it from its last checkpoint with `segloop train --resume`.', false)).toBe('WORKER_CRASHED: killed.');
    expect(runNote(null, false)).toBe('');
  });
});

describe('the live progress line (first epoch)', () => {
  it('splits the trainer line into step, measured step time, plan estimate, time left in the epoch and the warning', () => {
    const m = 'epoch 1/20 step 3/50 loss 0.7159 · 1.21 s/step (plan ~1.23 s) · epoch 1 steps done in ~57 s · ⚠ steps 5.2x slower than planned (1.23 s): try a smaller batch: --batch-size 2';
    const p = parseProgressMessage(m);
    expect(p.step).toBe('epoch 1/20 step 3/50 loss 0.7159');
    expect(p.epoch).toBe(1);
    expect(p.stepSeconds).toBeCloseTo(1.21, 9);
    expect(p.planSeconds).toBeCloseTo(1.23, 9);
    expect(p.epochLeft).toBe('epoch 1 steps done in ~57 s');
    expect(p.warning).toBe('⚠ steps 5.2x slower than planned (1.23 s): try a smaller batch: --batch-size 2');
    expect(p.text).toBe('epoch 1/20 step 3/50 loss 0.7159 · 1.21 s/step (plan ~1.23 s) · epoch 1 steps done in ~57 s');
    expect(parseProgressMessage('epoch 4 step 9/50 loss 0.5 · 35 ms/step').stepSeconds).toBeCloseTo(0.035, 9);
  });

  it('other lines (loading) have no step and no warning', () => {
    const p = parseProgressMessage('loading 3/12 images');
    expect(p).toMatchObject({ step: null, epoch: null, stepSeconds: null, warning: null, text: 'loading 3/12 images' });
  });
});
