// Handlers of 'al:strategies' / 'al:select' / 'al:rounds' on top of core/active-learning.
// al:select is a job. Until core's selectInProject (model scoring in a worker) is available,
// strategies that need model scores or features are refused with a clear message; strategies
// that need none (random baselines) select from the unlabelled, non-test pool here.
import { SegloopError } from '../../shared/errors';
import { listStrategies, selectFromPool, strategyNeeds } from '../core/active-learning';
import type { JsonObject } from '../core/project/types';
import type { Handlers } from './dispatch';
import { idOrNull, queuedBehind, reportResult, type LoopDeps } from './loop-context';

export type AlOps = Pick<Handlers, 'al:strategies' | 'al:select' | 'al:rounds'>;

export function alOps(deps: LoopDeps): AlOps {
  const { store, jobs, author } = deps;
  return {
    async 'al:strategies'() {
      const strategies = listStrategies().map((s) => {
        const n = s.needs({});
        return { name: s.name, description: s.description, needsModel: n.scores.length > 0 || n.features || n.foreground };
      });
      return { strategies, defaultStrategy: strategies.find((s) => !s.needsModel)?.name ?? strategies[0]?.name ?? null };
    },

    async 'al:select'(input) {
      const needs = strategyNeeds(input.strategy);
      if (needs.scores.length || needs.features || needs.foreground) {
        throw new SegloopError('INVALID_ARGUMENT', `Strategy "${input.strategy}" needs model scores, which the app cannot compute yet (use \`segloop select\`), or pick a strategy without a model.`);
      }
      const labelled = store.labelVersions.latestPerImage().map((v) => v.imageId);
      const test = store.images.list({ split: 'test' }).map((i) => i.id);
      const pool = store.images.list().map((i) => ({ imageId: i.id, scores: {} }));
      // Validate now (unknown strategy, empty pool, budget) so the caller gets the error, not a failed job.
      selectFromPool({ strategy: input.strategy, pool, budget: input.count, seed: input.seed ?? 0, labelledIds: labelled, excludedIds: test });
      const handle = jobs.submit('al-select', async (ctx) => {
        ctx.report({ fraction: 0.5, message: `Selecting ${input.count} image(s) with ${input.strategy}` });
        const picks = selectFromPool({ strategy: input.strategy, pool, budget: input.count, seed: input.seed ?? Date.now() % 2 ** 31, labelledIds: labelled, excludedIds: test });
        const scores: JsonObject = Object.fromEntries(picks.map((p) => [String(p.imageId), { score: p.score, rank: p.rank, reason: p.reason }]));
        const round = store.alRounds.create({ strategy: input.strategy, modelId: null, selected: picks.map((p) => p.imageId), scores }, { actor: author });
        return { roundId: round.id, picks };
      });
      reportResult(deps, 'al-select', handle, (v) => ({ roundId: String(v.roundId), picks: v.picks.length }));
      return { jobId: handle.id, queuedBehind: queuedBehind(jobs, handle.id) };
    },

    async 'al:rounds'() {
      const latest = new Map(store.labelVersions.latestPerImage().map((v) => [v.imageId, v]));
      const rounds = store.alRounds.list().map((r) => {
        const model = r.modelId !== null ? store.models.get(r.modelId) : null;
        return {
          id: String(r.id),
          strategy: r.strategy,
          modelId: idOrNull(r.modelId),
          modelVersion: model?.version ?? null,
          createdAt: r.createdAt,
          picks: r.selected.map((imageId, i) => {
            const img = store.images.get(imageId);
            const s = r.scores[String(imageId)] as { score?: unknown; reason?: unknown } | number | undefined;
            const score = typeof s === 'number' ? s : typeof s?.score === 'number' ? s.score : null;
            const lv = latest.get(imageId);
            return {
              imageId: String(imageId),
              image: img ? (img.sourceName ?? img.path).replace(/\.nii(\.gz)?$/i, '') : String(imageId),
              rank: i + 1,
              score,
              reason: typeof s === 'object' && typeof s?.reason === 'string' ? s.reason : r.strategy,
              labelStatus: lv ? ('labelled' as const) : ('unlabelled' as const),
              labelledSinceRound: lv ? lv.createdAt > r.createdAt : false,
            };
          }),
        };
      });
      return { rounds: rounds.reverse(), currentRoundId: rounds[0]?.id ?? null };
    },
  };
}
