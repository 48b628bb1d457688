import { describe, expect, it } from 'vitest';
import { createRng } from '../ml/data/prng';
import { listStrategies, selectFromPool, type CandidateImage } from './strategies';

// A synthetic scored pool: 40 images with every score, predicted voxels for 2 classes, features.
function pool(): CandidateImage[] {
  const rng = createRng(7);
  return Array.from({ length: 40 }, (_, i) => ({
    imageId: i + 1,
    scores: { meanEntropy: rng.next(), foregroundEntropy: rng.next(), meanTtaVariance: rng.next(), mcVariance: rng.next(), bald: rng.next(), margin: rng.next(), ensembleDisagreement: rng.next() },
    foregroundVoxelsPerClass: [1000, i % 3 === 0 ? 0 : rng.int(500), i % 5 === 0 ? 0 : rng.int(500)],
    features: Array.from({ length: 8 }, () => rng.normal()),
  }));
}

const labelled = [1, 2, 3, 4];
const test = [5, 6, 7];

describe('strategies', () => {
  for (const s of listStrategies()) {
    for (const params of [{}, { diversity: 3 }]) {
      it(`${s.name} ${JSON.stringify(params)}: deterministic under a seed, budget respected, never a labelled or test image`, () => {
        const run = (seed: number) => selectFromPool({ strategy: s.name, pool: pool(), budget: 6, seed, params, labelledIds: labelled, excludedIds: test, labelledFeatures: pool().slice(0, 4).map((c) => c.features as number[]) });
        const a = run(11);
        expect(run(11)).toEqual(a);
        expect(a).toHaveLength(6);
        expect(new Set(a.map((p) => p.imageId)).size).toBe(6);
        expect(a.map((p) => p.rank)).toEqual([1, 2, 3, 4, 5, 6]);
        for (const p of a) {
          expect(labelled).not.toContain(p.imageId);
          expect(test).not.toContain(p.imageId);
          expect(p.reason.length).toBeGreaterThan(0);
        }
      });
    }
  }

  it('top-k ranks by its score; random differs between seeds', () => {
    const picks = selectFromPool({ strategy: 'entropy', pool: pool(), budget: 5, seed: 1, labelledIds: labelled, excludedIds: test });
    const expected = pool().filter((c) => c.imageId > 7).sort((a, b) => (b.scores.meanEntropy ?? 0) - (a.scores.meanEntropy ?? 0)).slice(0, 5).map((c) => c.imageId);
    expect(picks.map((p) => p.imageId)).toEqual(expected);
    const r1 = selectFromPool({ strategy: 'random', pool: pool(), budget: 10, seed: 1, labelledIds: [] }).map((p) => p.imageId);
    const r2 = selectFromPool({ strategy: 'random', pool: pool(), budget: 10, seed: 2, labelledIds: [] }).map((p) => p.imageId);
    expect(r1).not.toEqual(r2);
  });

  it('clasp covers both foreground classes first', () => {
    const picks = selectFromPool({ strategy: 'clasp', pool: pool(), budget: 2, seed: 1, labelledIds: [] });
    expect(picks[0].reason).toMatch(/^class 1/);
    expect(picks[1].reason).toMatch(/^class 2/);
  });

  it('bad input: unknown strategy, count larger than the pool, nothing unlabelled', () => {
    expect(() => selectFromPool({ strategy: 'nope', pool: pool(), budget: 1, seed: 1, labelledIds: [] })).toThrow(expect.objectContaining({ code: 'UNKNOWN_STRATEGY' }));
    expect(() => selectFromPool({ strategy: 'random', pool: pool(), budget: 38, seed: 1, labelledIds: labelled })).toThrow(expect.objectContaining({ code: 'BUDGET_EXCEEDS_POOL' }));
    expect(() => selectFromPool({ strategy: 'random', pool: pool(), budget: 1, seed: 1, labelledIds: pool().map((c) => c.imageId) })).toThrow(expect.objectContaining({ code: 'NO_UNLABELLED_IMAGES' }));
  });
});
