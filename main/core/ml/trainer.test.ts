import { describe, expect, it } from 'vitest';
import { epochSeed, learningRateAt } from './trainer';

describe('learning-rate schedule and per-epoch seeds', () => {
  const cfg = { lr: 1e-3, warmupFraction: 0.1, minLrFraction: 0.01 };
  it('warms up linearly, peaks, then decays by cosine to the floor', () => {
    expect(learningRateAt(0.05, cfg)).toBeCloseTo(5e-4, 10);
    expect(learningRateAt(0.1, cfg)).toBeCloseTo(1e-3, 10);
    expect(learningRateAt(0.55, cfg)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5), 10);
    expect(learningRateAt(1, cfg)).toBeCloseTo(1e-5, 12);
  });
  it('gives every epoch its own seed, the same on every call', () => {
    expect(epochSeed(1234, 3)).toBe(epochSeed(1234, 3));
    expect(new Set(Array.from({ length: 100 }, (_, e) => epochSeed(1234, e))).size).toBe(100);
  });
});
