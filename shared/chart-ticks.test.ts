import { describe, expect, it } from 'vitest';
import { niceTicks } from './chart-ticks';

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten from 0 up to the maximum', () => {
    expect(niceTicks(4.32, 4, true)).toEqual([0, 2, 4]);
    expect(niceTicks(4.32, 5, true)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(43, 4, false)).toEqual([0, 20, 40]);
    expect(niceTicks(0.7, 4, false)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(1, 4, false)).toEqual([0, 0.5, 1]);
  });

  it('keeps integer axes on whole numbers even for a tiny maximum, and does not drift in floating point', () => {
    expect(niceTicks(0.3, 4, true)).toEqual([0]);
    expect(niceTicks(3, 4, true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0.0009, 3, false)).toEqual([0, 0.0005]);
  });
});
