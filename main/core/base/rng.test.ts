import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createRng, mulberry32, shuffleInPlace } from './rng';

// An independent mulberry32 in Python (the published algorithm, written from its C form), so the
// one PRNG is checked against something it did not produce itself.
const PY_MULBERRY = `
import json, sys
def mulberry32(a):
    a &= 0xFFFFFFFF
    out = []
    for _ in range(8):
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        out.append(((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296)
    return out
seeds = json.loads(sys.stdin.read())
print(json.dumps([mulberry32(s) for s in seeds]))
`;

describe('base/rng', () => {
  const seeds = [0, 1, 42, 12345, 0xdeadbeef];

  it('mulberry32 equals an independent Python implementation', () => {
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY_MULBERRY], { input: JSON.stringify(seeds), encoding: 'utf8' })) as number[][];
    for (let i = 0; i < seeds.length; i++) {
      const next = mulberry32(seeds[i]);
      expect(Array.from({ length: 8 }, () => next())).toEqual(ref[i]);
    }
  });

  it('createRng keeps the data pipeline seeding (seed ^ 0x9e3779b9), so stored runs reproduce', () => {
    const xored = seeds.map((s) => (Math.floor(s) ^ 0x9e3779b9) >>> 0);
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY_MULBERRY], { input: JSON.stringify(xored), encoding: 'utf8' })) as number[][];
    for (let i = 0; i < seeds.length; i++) {
      const rng = createRng(seeds[i]);
      expect(Array.from({ length: 8 }, () => rng.next())).toEqual(ref[i]);
    }
  });

  it('derived draws stay in range and forks are deterministic', () => {
    const a = createRng(7);
    const b = createRng(7);
    for (let i = 0; i < 1000; i++) {
      const k = a.int(5);
      expect(k).toBe(b.int(5));
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThan(5);
      const u = a.uniform(-2, 3);
      expect(u).toBe(b.uniform(-2, 3));
      expect(u).toBeGreaterThanOrEqual(-2);
      expect(u).toBeLessThan(3);
    }
    expect(a.fork().next()).toBe(b.fork().next());
  });
});

describe('shuffleInPlace', () => {
  it('is a seeded permutation: same seed, same order; every element kept', () => {
    const a = shuffleInPlace(Array.from({ length: 50 }, (_, i) => i), createRng(7).next);
    const b = shuffleInPlace(Array.from({ length: 50 }, (_, i) => i), createRng(7).next);
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('draws j = floor(next() * (i + 1)) from the last index down (Durstenfeld)', () => {
    // With next() always 0 every element swaps with the first: [0,1,2,3] -> [1,2,3,0].
    expect(shuffleInPlace([0, 1, 2, 3], () => 0)).toEqual([1, 2, 3, 0]);
    // With next() just below 1 every element stays.
    expect(shuffleInPlace([0, 1, 2, 3], () => 0.999999)).toEqual([0, 1, 2, 3]);
  });
});
