import { describe, expect, it } from 'vitest';
import { compareOption, defaultPair, fmt, rowAction, shortBackend } from './models-charts';

describe('models screen helpers', () => {
  it('draws Dice and HD95 of both versions per class, gaps where a class was not measured', () => {
    const o = compareOption(
      [
        { name: 'anterior', diceA: 0.8, diceB: 0.82, hd95A: 3, hd95B: 2.5 },
        { name: 'posterior', diceA: 0.7, diceB: null, hd95A: 4, hd95B: null },
      ],
      'v1',
      'v2',
    );
    const s = o.series as { name: string; data: (number | null)[]; xAxisIndex: number }[];
    expect(s.map((x) => x.name)).toEqual(['v1 Dice', 'v2 Dice', 'v1 HD95', 'v2 HD95']);
    expect(s[1].data).toEqual([0.82, null]);
    expect(s[2].data).toEqual([3, 4]);
    expect(s.map((x) => x.xAxisIndex)).toEqual([0, 0, 1, 1]);
  });

  it('offers rollback only to older versions that were in use, promote (gate) otherwise, nothing without weights', () => {
    const p = { id: '2', version: 2 };
    expect(rowAction({ id: '2', version: 2, status: 'promoted', hasWeights: true, wasPromoted: true }, p)).toBe('in-use');
    expect(rowAction({ id: '1', version: 1, status: 'retired', hasWeights: true, wasPromoted: true }, p)).toBe('rollback');
    // An older candidate the gate refused is no rollback target: it goes through the gate.
    expect(rowAction({ id: '1', version: 1, status: 'candidate', hasWeights: true, wasPromoted: false }, p)).toBe('promote');
    expect(rowAction({ id: '3', version: 3, status: 'candidate', hasWeights: true, wasPromoted: false }, p)).toBe('promote');
    expect(rowAction({ id: '3', version: 3, status: 'retired', hasWeights: true, wasPromoted: true }, p)).toBe('promote');
    expect(rowAction({ id: '4', version: 4, status: 'candidate', hasWeights: false, wasPromoted: false }, p)).toBe('none');
    expect(rowAction({ id: '1', version: 1, status: 'candidate', hasWeights: true, wasPromoted: false }, null)).toBe('promote');
    expect(fmt(null)).toBe('—');
    expect(fmt(0.81234)).toBe('0.812');
    expect(shortBackend('wasm (2 threads; our kernels: Conv3D)')).toBe('wasm (2 threads)');
  });

  it('compares the version in use with the newest other one by default', () => {
    const ms = [{ id: '1', version: 1 }, { id: '2', version: 2 }, { id: '3', version: 3 }];
    expect(defaultPair(ms, '1')).toEqual(['1', '3']);
    expect(defaultPair(ms, '3')).toEqual(['3', '2']);
    expect(defaultPair(ms, null)).toEqual(['2', '3']);
    expect(defaultPair(ms.slice(0, 1), null)).toBeNull();
  });
});
