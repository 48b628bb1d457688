// Handlers of 'al:strategies' / 'al:select' / 'al:rounds' on top of core/active-learning.
// al:select is a job running core's selectInProject (the pool scored by the model in a worker
// process, any registered strategy). The request is checked completely before the job exists
// (unknown strategy, count beyond the pool, no unlabelled image, no model for a strategy that
// needs one): the caller gets the typed error and nothing is recorded.
import { editDiceByRound, listStrategiesInfo, strategyNeeds, toAlRound } from '../core/active-learning';
import { submitSelection } from '../core/jobs/select-job';
import type { Handlers } from './dispatch';
import { dbId, idOrNull, queuedBehind, reportResult, type LoopDeps } from './loop-context';

export type AlOps = Pick<Handlers, 'al:strategies' | 'al:select' | 'al:rounds'>;

/** The score a strategy ranks by with its default params (null: none). */
function scoreKeyOf(name: string): string | null {
  return strategyNeeds(name).scores[0] ?? null;
}

export function alOps(deps: LoopDeps): AlOps {
  const { store, jobs, author } = deps;
  return {
    async 'al:strategies'() {
      const strategies = listStrategiesInfo().map((s) => {
        const n = strategyNeeds(s.name);
        return {
          name: s.name,
          description: s.description,
          params: s.params.map((p) => ({ name: p.name, type: p.type, default: p.default, description: p.description })),
          scoreKey: scoreKeyOf(s.name),
          needsModel: n.scores.length > 0 || n.features || n.foreground,
        };
      });
      // With a model the product's point is uncertainty; without one only the baselines can run.
      const hasModel = store.models.list().some((m) => m.weightsPath !== null);
      const preferred = hasModel ? ['power-entropy', 'entropy'] : ['random'];
      const defaultStrategy = preferred.find((n) => strategies.some((s) => s.name === n && (hasModel || !s.needsModel))) ?? strategies.find((s) => !s.needsModel)?.name ?? null;
      return { strategies, defaultStrategy };
    },

    async 'al:select'(input) {
      const modelId = input.modelId === undefined ? undefined : dbId(input.modelId, 'MODEL_NOT_FOUND', 'model');
      // A random seed when none is given, but recorded in the round so it can be replayed.
      const seed = input.seed ?? Math.floor(Math.random() * 2 ** 31);
      const handle = submitSelection(jobs, store, { strategy: input.strategy, count: input.count, modelId, seed, params: input.params ?? {}, tta: input.tta, actor: author });
      reportResult(deps, 'al-select', handle, (v) => ({ roundId: String(v.roundId), picks: v.picks.length, scored: Object.keys(v.scores).length, modelVersion: v.modelVersion, backend: v.backend }));
      return { jobId: handle.id, queuedBehind: queuedBehind(jobs, handle.id) };
    },

    async 'al:rounds'() {
      const latest = new Map(store.labelVersions.latestPerImage().map((v) => [v.imageId, v]));
      const rounds = store.alRounds.list().map((row) => {
        const r = toAlRound(row);
        const model = r.modelId !== null ? store.models.get(r.modelId) : null;
        return {
          id: String(r.id),
          strategy: r.strategy,
          modelId: idOrNull(r.modelId),
          modelVersion: r.modelVersion ?? model?.version ?? null,
          seed: r.seed,
          params: r.params,
          scoreKey: r.scoreKey,
          scored: Object.keys(r.scores).length,
          createdAt: r.createdAt,
          picks: r.picks.map((p, i) => {
            const img = store.images.get(p.imageId);
            const lv = latest.get(p.imageId);
            return {
              imageId: String(p.imageId),
              image: img ? (img.sourceName ?? img.path).replace(/\.nii(\.gz)?$/i, '') : String(p.imageId),
              rank: i + 1,
              score: typeof p.score === 'number' && Number.isFinite(p.score) ? p.score : null,
              reason: p.reason || r.strategy,
              labelStatus: lv ? ('labelled' as const) : ('unlabelled' as const),
              labelledSinceRound: lv ? lv.createdAt > r.createdAt : false,
            };
          }),
        };
      });
      // Reads each reviewed prediction and saved label (two small NIfTI files per review).
      const stopSignal = (await editDiceByRound(store)).map((e) => ({ roundId: idOrNull(e.roundId), reviews: e.reviews, meanDice: e.meanDice }));
      return { rounds: rounds.reverse(), currentRoundId: rounds[0]?.id ?? null, stopSignal };
    },
  };
}
