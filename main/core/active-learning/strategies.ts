// Selection strategies of active learning, registered by name. A strategy takes the scored
// candidates (unlabelled, non-test images only: `selectFromPool` removes the others before any
// strategy sees them and checks the result again after), a budget and a seed, and returns an
// ordered selection with the reason for every pick. Same inputs + same seed = same picks.
//
// The rules, exactly (whole images; nnActive and ClaSP work on patches, see
// experiments/active-learning.md for how we adapted them):
// - random: a seeded uniform shuffle, first `budget`.
// - improved-random (nnActive's "Random 33% FG", for whole images): each pick, with probability
//   `fgFraction` (default 1/3), choose a foreground class c uniformly, then an image with
//   probability proportional to the CURRENT MODEL's predicted voxels of class c (never an image
//   predicting none); otherwise an image uniformly. nnActive centres its foreground patches on
//   label voxels; in a real project the pool has no labels, so the model's prediction stands in.
// - top-k (`entropy`, `fg-entropy`, `tta-variance`, `mc-variance`, `bald`, `margin`,
//   `disagreement`, or `top-k --param score=<key>`): highest score first, ties by image id.
// - power (`power-entropy` = PowerPE, `power-bald` = PowerBALD, `power-fg-entropy`, or
//   `power --param score=<key>`): Gumbel-top-k on beta*log(score) + Gumbel noise, i.e. sampling
//   without replacement with probability proportional to score^beta (Kirsch et al. 2023;
//   nnActive found it more robust than top-k). beta default 1.
// - clasp (ClaSP-like class-stratified): cycle through the foreground classes; for class c take
//   the best remaining image (by `score`, default meanEntropy; with beta > 0 by the power key)
//   among those the model predicts at least `minVoxels` of c in; none left for c -> the best
//   remaining image overall. So each class is covered before the ranking repeats.
// - k-center: k-center greedy on L2-normalised pooled encoder features; the labelled images'
//   features are the initial centres (none: start from the candidate nearest the pool mean).
// - any strategy + `diversity: F` (F > 1): the strategy ranks ceil(F * budget) candidates, then
//   k-center greedy picks `budget` of them, in the ranking's order on ties (uncertainty first,
//   then spread; Yang et al. 2017 "suggestive annotation" style).
import { SegloopError } from '../../../shared/errors';
import { createRng, type Rng } from '../ml/data/prng';
import { PREDICTION_SCORE_KEYS, type ParamSpec, type ScoreKey } from './scoring';

export interface CandidateImage {
  imageId: number;
  /** Scores under PREDICTION_SCORE_KEYS (only those that were computed). */
  scores: Partial<Record<ScoreKey, number>>;
  /** Predicted voxels per class (index = class, 0 = background). */
  foregroundVoxelsPerClass?: readonly number[];
  /** Pooled encoder features of the current model. */
  features?: readonly number[];
}

export interface Pick {
  imageId: number;
  /** 1 = first to label. */
  rank: number;
  /** The value the strategy ranked by (null: none, e.g. random). */
  score: number | null;
  reason: string;
}

export interface StrategyNeeds {
  scores: ScoreKey[];
  foreground: boolean;
  features: boolean;
}

export interface StrategyContext {
  budget: number;
  rng: Rng;
  params: Record<string, unknown>;
  /** Features of the already labelled images (k-center's initial centres). */
  labelledFeatures: readonly (readonly number[])[];
}

export interface Strategy {
  name: string;
  description: string;
  params: readonly ParamSpec[];
  needs(params: Record<string, unknown>): StrategyNeeds;
  select(candidates: readonly CandidateImage[], ctx: StrategyContext): Pick[];
}

const registry = new Map<string, Strategy>();

export function registerStrategy(s: Strategy): void {
  registry.set(s.name, s);
}

export function listStrategies(): Strategy[] {
  return [...registry.values()];
}

export function getStrategy(name: string): Strategy {
  const s = registry.get(name);
  if (!s) throw new SegloopError('UNKNOWN_STRATEGY', `Unknown active-learning strategy "${name}". Known: ${[...registry.keys()].join(', ')}.`, { name });
  return s;
}

function scoreKeyParam(params: Record<string, unknown>, fallback: ScoreKey): ScoreKey {
  const v = params.score ?? fallback;
  if (typeof v !== 'string' || !(PREDICTION_SCORE_KEYS as readonly string[]).includes(v)) {
    throw new SegloopError('INVALID_ARGUMENT', `Unknown score "${String(v)}". Known: ${PREDICTION_SCORE_KEYS.join(', ')}.`, { score: v });
  }
  return v as ScoreKey;
}

function numParam(params: Record<string, unknown>, name: string, fallback: number, min: number, max = Infinity): number {
  const v = params[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new SegloopError('INVALID_ARGUMENT', `Parameter ${name} must be a number in [${min}, ${max}], got ${String(v)}.`, { [name]: v });
  }
  return v;
}

function scoreOf(c: CandidateImage, key: ScoreKey): number {
  const v = c.scores[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SegloopError('INVALID_ARGUMENT', `Image ${c.imageId} has no ${key} score: the pool must be scored with it first.`, { imageId: c.imageId, score: key });
  }
  return v;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));

function gumbel(rng: Rng): number {
  return -Math.log(-Math.log(Math.min(Math.max(rng.next(), 1e-300), 1 - 1e-16)));
}

function ranked(items: { c: CandidateImage; key: number; score: number | null; why: string }[], budget: number): Pick[] {
  items.sort((a, b) => b.key - a.key || a.c.imageId - b.c.imageId);
  return items.slice(0, budget).map((it, i) => ({ imageId: it.c.imageId, rank: i + 1, score: it.score, reason: it.why }));
}

const none: StrategyNeeds = { scores: [], foreground: false, features: false };

registerStrategy({
  name: 'random',
  description: 'Uniform random picks (seeded): the baseline every strategy must beat.',
  params: [],
  needs: () => none,
  select: (cands, ctx) => {
    const order = [...cands].sort((a, b) => a.imageId - b.imageId);
    for (let i = order.length - 1; i > 0; i--) {
      const j = ctx.rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order.slice(0, ctx.budget).map((c, i) => ({ imageId: c.imageId, rank: i + 1, score: null, reason: 'random draw' }));
  },
});

registerStrategy({
  name: 'improved-random',
  description: "nnActive's foreground-aware random baseline for whole images: a fraction of the picks is drawn in proportion to the current model's predicted voxels of a random foreground class.",
  params: [{ name: 'fgFraction', type: 'number', default: 1 / 3, description: 'probability that a pick is foreground-biased' }],
  needs: () => ({ scores: [], foreground: true, features: false }),
  select: (cands, ctx) => {
    const f = numParam(ctx.params, 'fgFraction', 1 / 3, 0, 1);
    const left = [...cands].sort((a, b) => a.imageId - b.imageId);
    const K = Math.max(0, ...left.map((c) => c.foregroundVoxelsPerClass?.length ?? 0));
    const picks: Pick[] = [];
    while (picks.length < ctx.budget && left.length) {
      let idx = -1;
      let why = 'uniform draw';
      if (K > 1 && ctx.rng.chance(f)) {
        const cls = 1 + ctx.rng.int(K - 1);
        const w = left.map((c) => c.foregroundVoxelsPerClass?.[cls] ?? 0);
        const total = w.reduce((a, b) => a + b, 0);
        if (total > 0) {
          let r = ctx.rng.next() * total;
          idx = w.findIndex((x) => (r -= x) < 0 && x > 0);
          if (idx < 0) idx = w.length - 1 - [...w].reverse().findIndex((x) => x > 0);
          why = `foreground-biased draw for class ${cls} (${w[idx]} predicted voxels)`;
        } else {
          why = `uniform draw (no candidate predicts class ${cls})`;
        }
      }
      if (idx < 0) idx = ctx.rng.int(left.length);
      const c = left.splice(idx, 1)[0];
      picks.push({ imageId: c.imageId, rank: picks.length + 1, score: null, reason: why });
    }
    return picks;
  },
});

function topK(name: string, key: ScoreKey | null, description: string): Strategy {
  return {
    name,
    description,
    params: key ? [] : [{ name: 'score', type: 'string', default: 'meanEntropy', description: `score to rank by: ${PREDICTION_SCORE_KEYS.join(', ')}` }],
    needs: (p) => ({ scores: [key ?? scoreKeyParam(p, 'meanEntropy')], foreground: false, features: false }),
    select: (cands, ctx) => {
      const k = key ?? scoreKeyParam(ctx.params, 'meanEntropy');
      return ranked(
        cands.map((c) => ({ c, key: scoreOf(c, k), score: scoreOf(c, k), why: `top-k by ${k} (${fmt(scoreOf(c, k))})` })),
        ctx.budget,
      ).map((p) => ({ ...p, reason: `${p.reason}, rank ${p.rank}` }));
    },
  };
}

registerStrategy(topK('top-k', null, 'The highest-scoring images by a chosen score (param score).'));
registerStrategy(topK('entropy', 'meanEntropy', 'Top-k by mean voxel entropy.'));
registerStrategy(topK('fg-entropy', 'foregroundEntropy', 'Top-k by entropy over the predicted foreground (+ margin).'));
registerStrategy(topK('tta-variance', 'meanTtaVariance', 'Top-k by flip-TTA variance.'));
registerStrategy(topK('mc-variance', 'mcVariance', 'Top-k by MC-dropout variance (models with dropout).'));
registerStrategy(topK('bald', 'bald', 'Top-k by BALD mutual information (models with dropout).'));
registerStrategy(topK('margin', 'margin', 'Top-k by 1 - top-1/top-2 margin.'));
registerStrategy(topK('disagreement', 'ensembleDisagreement', 'Top-k by ensemble / checkpoint disagreement (two or more models).'));

function powerKey(c: CandidateImage, k: ScoreKey, beta: number, rng: Rng): number {
  return beta * Math.log(Math.max(scoreOf(c, k), 1e-30)) + gumbel(rng);
}

function power(name: string, key: ScoreKey | null, description: string): Strategy {
  const params: ParamSpec[] = [{ name: 'beta', type: 'number', default: 1, description: 'exponent: P(pick) proportional to score^beta (0 = uniform, large = top-k)' }];
  if (!key) params.unshift({ name: 'score', type: 'string', default: 'meanEntropy', description: `score: ${PREDICTION_SCORE_KEYS.join(', ')}` });
  return {
    name,
    description,
    params,
    needs: (p) => ({ scores: [key ?? scoreKeyParam(p, 'meanEntropy')], foreground: false, features: false }),
    select: (cands, ctx) => {
      const k = key ?? scoreKeyParam(ctx.params, 'meanEntropy');
      const beta = numParam(ctx.params, 'beta', 1, 0);
      const sorted = [...cands].sort((a, b) => a.imageId - b.imageId);
      return ranked(
        sorted.map((c) => ({ c, key: powerKey(c, k, beta, ctx.rng), score: scoreOf(c, k), why: `power sampling on ${k}^${beta} (${fmt(scoreOf(c, k))})` })),
        ctx.budget,
      );
    },
  };
}

registerStrategy(power('power', null, 'Sampling without replacement with probability proportional to score^beta (Gumbel-top-k).'));
registerStrategy(power('power-entropy', 'meanEntropy', 'PowerPE: power sampling on mean entropy.'));
registerStrategy(power('power-fg-entropy', 'foregroundEntropy', 'Power sampling on foreground entropy.'));
registerStrategy(power('power-bald', 'bald', 'PowerBALD: power sampling on BALD (models with dropout).'));

registerStrategy({
  name: 'clasp',
  description: 'Class-stratified (ClaSP-like): cover each foreground class the model predicts before the ranking repeats.',
  params: [
    { name: 'score', type: 'string', default: 'meanEntropy', description: `score within a class: ${PREDICTION_SCORE_KEYS.join(', ')}` },
    { name: 'beta', type: 'number', default: 0, description: '0 = best score per class; > 0 = power sampling per class' },
    { name: 'minVoxels', type: 'integer', default: 1, description: 'predicted voxels of a class for an image to count for it' },
  ],
  needs: (p) => ({ scores: [scoreKeyParam(p, 'meanEntropy')], foreground: true, features: false }),
  select: (cands, ctx) => {
    const k = scoreKeyParam(ctx.params, 'meanEntropy');
    const beta = numParam(ctx.params, 'beta', 0, 0);
    const minVox = numParam(ctx.params, 'minVoxels', 1, 0);
    const sorted = [...cands].sort((a, b) => a.imageId - b.imageId);
    const keyOf = new Map(sorted.map((c) => [c.imageId, beta > 0 ? powerKey(c, k, beta, ctx.rng) : scoreOf(c, k)]));
    const K = Math.max(0, ...sorted.map((c) => c.foregroundVoxelsPerClass?.length ?? 0));
    const left = new Set(sorted.map((c) => c.imageId));
    const best = (pool: CandidateImage[]): CandidateImage | undefined =>
      pool.sort((a, b) => (keyOf.get(b.imageId) ?? 0) - (keyOf.get(a.imageId) ?? 0) || a.imageId - b.imageId)[0];
    const picks: Pick[] = [];
    let cls = 1;
    while (picks.length < ctx.budget && left.size) {
      const remaining = sorted.filter((c) => left.has(c.imageId));
      let c = K > 1 ? best(remaining.filter((x) => (x.foregroundVoxelsPerClass?.[cls] ?? 0) >= Math.max(1, minVox))) : undefined;
      const why = c ? `class ${cls} (${c.foregroundVoxelsPerClass?.[cls] ?? 0} predicted voxels), ${k} ${fmt(scoreOf(c, k))}` : '';
      if (!c) c = best(remaining) as CandidateImage;
      left.delete(c.imageId);
      picks.push({ imageId: c.imageId, rank: picks.length + 1, score: scoreOf(c, k), reason: why || `no candidate left for class ${cls}: best ${k} ${fmt(scoreOf(c, k))}` });
      if (K > 1) cls = (cls % (K - 1)) + 1;
    }
    return picks;
  },
});

function normalised(f: readonly number[]): Float64Array {
  const out = Float64Array.from(f);
  let n = 0;
  for (const v of out) n += v * v;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

function dist2(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/**
 * k-center greedy over `ordered` (ties resolved by its order): repeatedly the candidate farthest
 * from its nearest centre (labelled images, then the picks so far).
 */
export function kCenterGreedy(ordered: readonly CandidateImage[], budget: number, labelledFeatures: readonly (readonly number[])[]): Pick[] {
  const feats = ordered.map((c) => {
    if (!c.features?.length) throw new SegloopError('INVALID_ARGUMENT', `Image ${c.imageId} has no encoder features: score the pool with features first.`, { imageId: c.imageId });
    return normalised(c.features);
  });
  const dim = feats[0]?.length ?? 0;
  const minD = new Float64Array(ordered.length).fill(Infinity);
  for (const lf of labelledFeatures) {
    if (lf.length !== dim) continue;
    const l = normalised(lf);
    for (let i = 0; i < feats.length; i++) minD[i] = Math.min(minD[i], dist2(feats[i], l));
  }
  const taken = new Uint8Array(ordered.length);
  const picks: Pick[] = [];
  if (!labelledFeatures.length && feats.length) {
    // No centre yet: the candidate nearest the pool mean (the most typical image).
    const mean = new Float64Array(dim);
    for (const f of feats) for (let d = 0; d < dim; d++) mean[d] += f[d] / feats.length;
    let bi = 0;
    for (let i = 1; i < feats.length; i++) if (dist2(feats[i], mean) < dist2(feats[bi], mean)) bi = i;
    taken[bi] = 1;
    picks.push({ imageId: ordered[bi].imageId, rank: 1, score: null, reason: 'k-center: most typical image (nearest the pool mean), no labelled image yet' });
    for (let i = 0; i < feats.length; i++) minD[i] = Math.min(minD[i], dist2(feats[i], feats[bi]));
  }
  while (picks.length < budget && picks.length < ordered.length) {
    let bi = -1;
    for (let i = 0; i < feats.length; i++) if (!taken[i] && (bi < 0 || minD[i] > minD[bi])) bi = i;
    taken[bi] = 1;
    picks.push({ imageId: ordered[bi].imageId, rank: picks.length + 1, score: Math.sqrt(minD[bi]), reason: `k-center: farthest from labelled/picked images (feature distance ${fmt(Math.sqrt(minD[bi]))})` });
    for (let i = 0; i < feats.length; i++) minD[i] = Math.min(minD[i], dist2(feats[i], feats[bi]));
  }
  return picks;
}

registerStrategy({
  name: 'k-center',
  description: 'Diversity only: k-center greedy on pooled encoder features of the current model.',
  params: [],
  needs: () => ({ scores: [], foreground: false, features: true }),
  select: (cands, ctx) => kCenterGreedy([...cands].sort((a, b) => a.imageId - b.imageId), ctx.budget, ctx.labelledFeatures),
});

export interface SelectFromPoolInput {
  strategy: string;
  /** Every scored image; labelled and excluded (test) ones are removed here. */
  pool: readonly CandidateImage[];
  budget: number;
  seed: number;
  params?: Record<string, unknown>;
  labelledIds: Iterable<number>;
  /** Never selectable (test split, quarantined...). */
  excludedIds?: Iterable<number>;
  labelledFeatures?: readonly (readonly number[])[];
}

/** What a strategy (with its params, diversity included) needs computed for every candidate. */
export function strategyNeeds(strategy: string, params: Record<string, unknown> = {}): StrategyNeeds {
  const s = getStrategy(strategy);
  const n = s.needs(params);
  const diversity = params.diversity;
  return { ...n, features: n.features || (typeof diversity === 'number' && diversity > 1) };
}

/** Validates, filters the pool, runs the strategy (+ diversity) and checks its answer. */
export function selectFromPool(input: SelectFromPoolInput): Pick[] {
  const s = getStrategy(input.strategy);
  const params = input.params ?? {};
  const labelled = new Set(input.labelledIds);
  const excluded = new Set(input.excludedIds ?? []);
  const seen = new Set<number>();
  const cands = input.pool.filter((c) => {
    if (labelled.has(c.imageId) || excluded.has(c.imageId) || seen.has(c.imageId)) return false;
    seen.add(c.imageId);
    return true;
  });
  if (!Number.isInteger(input.budget) || input.budget < 1) throw new SegloopError('INVALID_ARGUMENT', `The count must be a positive integer, got ${input.budget}.`);
  if (!cands.length) throw new SegloopError('NO_UNLABELLED_IMAGES', 'There is no unlabelled image outside the test split to select from.');
  if (input.budget > cands.length) {
    throw new SegloopError('BUDGET_EXCEEDS_POOL', `Asked for ${input.budget} images but only ${cands.length} unlabelled image(s) can be selected.`, { count: input.budget, pool: cands.length });
  }
  const rng = createRng(input.seed);
  const ctx: StrategyContext = { budget: input.budget, rng, params, labelledFeatures: input.labelledFeatures ?? [] };
  const diversity = params.diversity === undefined ? 1 : numParam(params, 'diversity', 1, 1, 1000);
  let picks: Pick[];
  if (diversity > 1 && s.name !== 'k-center') {
    const pre = s.select(cands, { ...ctx, budget: Math.min(cands.length, Math.ceil(diversity * input.budget)) });
    const byId = new Map(cands.map((c) => [c.imageId, c]));
    const preScore = new Map(pre.map((p) => [p.imageId, p]));
    picks = kCenterGreedy(pre.map((p) => byId.get(p.imageId) as CandidateImage), input.budget, ctx.labelledFeatures).map((p) => {
      const first = preScore.get(p.imageId) as Pick;
      return { ...p, score: first.score, reason: `${first.reason}; then ${p.reason} among the top ${pre.length}` };
    });
  } else {
    picks = s.select(cands, ctx);
  }
  const allowed = new Set(cands.map((c) => c.imageId));
  const out = new Set<number>();
  for (const p of picks) {
    if (!allowed.has(p.imageId) || out.has(p.imageId)) throw new SegloopError('INTERNAL_ERROR', `Strategy ${s.name} picked image ${p.imageId}, which is not a selectable candidate (or twice).`);
    out.add(p.imageId);
  }
  if (picks.length !== input.budget) throw new SegloopError('INTERNAL_ERROR', `Strategy ${s.name} picked ${picks.length} images instead of ${input.budget}.`);
  return picks.map((p, i) => ({ ...p, rank: i + 1 }));
}
