import { describe, expect, it } from 'vitest';
import { diceOption, formatEta, lossOption } from './training-charts';

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
});
