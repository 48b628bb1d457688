// The one seeded PRNG of the code base (mulberry32: 32-bit state, fast, good enough for sampling,
// augmentation, splits and bootstrap; not for cryptography). Same seed -> same sequence, on every
// platform. Two seedings exist for historical reasons and are kept so that stored splits, sampled
// batches and bootstrap CIs reproduce: `mulberry32(seed)` starts from the seed itself, `createRng`
// from `seed ^ 0x9e3779b9` (the data pipeline's convention).

/** Uniform in [0, 1), seeded directly with `seed >>> 0`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An independent generator derived from this one (for per-sample streams). */
  fork(): Rng;
}

export function createRng(seed: number): Rng {
  const next = mulberry32((Math.floor(seed) ^ 0x9e3779b9) >>> 0);
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.min(n - 1, Math.floor(next() * n)),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => next() < p,
    fork: () => createRng(Math.floor(next() * 4294967296)),
  };
  return rng;
}

/**
 * Fisher-Yates in place with draws from `next` (uniform in [0, 1)); returns the list. Patient
 * splits and the random pruning baseline shuffle with it, so the same seed gives the same order.
 */
export function shuffleInPlace<T>(list: T[], next: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}
