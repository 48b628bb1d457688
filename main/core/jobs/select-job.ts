// Active-learning selection as seen from the project (`segloop select`, the app's al:select):
// resolves the model (given id, else the promoted, else the newest with weights), checks the
// request BEFORE any work (strategy known, an unlabelled non-test image exists, count fits),
// scores every unlabelled non-test image in a worker process (task `al-score`: batched tiles,
// progress, cancel), runs the strategy, then files one prediction per scored image with its
// scores under PREDICTION_SCORE_KEYS and records the al_round (model, strategy, params, seed,
// ordered picks with reasons, every image's scores). Any error before the filing step leaves
// the project untouched.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import type { ProjectStore } from '../project';
import type { ImageRow, JsonObject, ModelRow } from '../project/types';
import { AL_SCORE_TASK, type AlScoreParams, type AlScoreResult } from '../active-learning/score-task';
import { getStrategy, selectFromPool, strategyNeeds, type CandidateImage, type Pick } from '../active-learning/strategies';
import { ROUND_META_KEY, type AlRoundMeta } from '../active-learning/rounds';
import type { TaskEvent } from '../worker/protocol';
import { runWorkerTask, type WorkerLauncher } from '../worker/worker-host';
import { modelSpecs, resolveModels } from './predict-job';

export interface SelectInProjectOptions {
  strategy: string;
  count: number;
  /** One model, or several for ensemble disagreement; default: promoted, else newest. */
  modelId?: number;
  modelIds?: number[];
  seed?: number;
  params?: Record<string, unknown>;
  /** Mean over test-time flips for the mean map (implied by meanTtaVariance). */
  tta?: boolean;
  backend?: string;
  signal?: AbortSignal;
  onEvent?: (e: TaskEvent) => void;
  launcher?: WorkerLauncher;
  entry?: string;
  actor?: string;
}

export interface SelectInProjectResult {
  roundId: number;
  modelId: number;
  modelVersion: number;
  strategy: string;
  seed: number;
  picks: Pick[];
  /** Scores of every scored image, keyed by image id. */
  scores: Record<number, Record<string, number>>;
  backend: string;
}

/** Images a round may pick: no label version yet, not in the test split. */
export function selectableImages(store: ProjectStore): { selectable: ImageRow[]; labelledIds: number[]; testIds: number[] } {
  const labelled = new Set(store.labelVersions.latestPerImage().map((v) => v.imageId));
  const all = store.images.list();
  return {
    selectable: all.filter((i) => !labelled.has(i.id) && i.split !== 'test'),
    labelledIds: [...labelled],
    testIds: all.filter((i) => i.split === 'test').map((i) => i.id),
  };
}

export async function selectInProject(store: ProjectStore, opts: SelectInProjectOptions): Promise<SelectInProjectResult> {
  const strategy = getStrategy(opts.strategy); // UNKNOWN_STRATEGY before anything else
  const params = opts.params ?? {};
  const needs = strategyNeeds(strategy.name, params); // INVALID_ARGUMENT on a bad score param
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new SegloopError('INVALID_ARGUMENT', `The count must be a positive integer, got ${opts.count}.`);
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw new SegloopError('INVALID_ARGUMENT', `The seed must be an integer, got ${seed}.`);
  const ids = opts.modelIds?.length ? opts.modelIds : opts.modelId !== undefined ? [opts.modelId] : undefined;
  const models: ModelRow[] = resolveModels(store, ids); // MODEL_NOT_FOUND
  const { selectable, labelledIds, testIds } = selectableImages(store);
  if (!selectable.length) throw new SegloopError('NO_UNLABELLED_IMAGES', 'Every image outside the test split already has a label: there is nothing to select.');
  if (opts.count > selectable.length) {
    throw new SegloopError('BUDGET_EXCEEDS_POOL', `Asked for ${opts.count} images but only ${selectable.length} unlabelled image(s) can be selected.`, { count: opts.count, pool: selectable.length });
  }
  const specs = await modelSpecs(store, models);
  const wantFeatures = needs.features;
  const labelledForFeatures = wantFeatures ? store.images.list().filter((i) => labelledIds.includes(i.id) && i.split !== 'test') : [];
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-select-'));
  try {
    const cases = [
      ...(await Promise.all(selectable.map(async (img) => ({ id: `pool:${img.id}`, imagePath: await store.resolve(img.path), labelPath: null })))),
      ...(await Promise.all(labelledForFeatures.map(async (img) => ({ id: `labelled:${img.id}`, imagePath: await store.resolve(img.path), labelPath: null })))),
    ];
    // Always the cheap single-pass scores, so the Cases column and later rounds have them.
    const scoreNames = [...new Set(['meanEntropy', 'foregroundEntropy', 'margin', ...needs.scores])];
    if (models.length > 1 && !scoreNames.includes('ensembleDisagreement')) scoreNames.push('ensembleDisagreement');
    const params2: AlScoreParams = {
      models: specs,
      cases,
      scores: scoreNames as AlScoreParams['scores'],
      tta: opts.tta ?? false,
      features: wantFeatures,
      outDir: scratch,
      backend: (opts.backend ?? 'auto') as AlScoreParams['backend'],
    };
    const res = (await runWorkerTask(AL_SCORE_TASK, params2, { launcher: opts.launcher, entry: opts.entry, signal: opts.signal, onEvent: opts.onEvent })) as AlScoreResult;
    const pool: CandidateImage[] = [];
    const labelledFeatures: number[][] = [];
    for (const c of res.cases) {
      const imageId = Number(c.id.split(':')[1]);
      if (c.id.startsWith('labelled:')) {
        if (c.features) labelledFeatures.push(c.features);
      } else {
        pool.push({ imageId, scores: c.scores, foregroundVoxelsPerClass: c.foregroundVoxelsPerClass, features: c.features ?? undefined });
      }
    }
    const picks = selectFromPool({ strategy: strategy.name, pool, budget: opts.count, seed, params, labelledIds, excludedIds: testIds, labelledFeatures });

    // Filing: predictions first (files, then rows), then the round in one transaction.
    const scoresById: Record<number, Record<string, number>> = {};
    for (const c of res.cases) {
      if (!c.id.startsWith('pool:')) continue;
      const imageId = Number(c.id.slice(5));
      const s: Record<string, number> = { ...(c.scores as Record<string, number>), foregroundVoxels: c.foregroundVoxels };
      scoresById[imageId] = s;
      if (c.labelFile) {
        const bytes = new Uint8Array(await fs.readFile(c.labelFile));
        const predScores: JsonObject = JSON.parse(JSON.stringify({ ...s, foregroundVoxelsPerClass: c.foregroundVoxelsPerClass, members: models.length, ensemble: models.map((m) => m.id), backend: res.backend, source: 'al-score' }));
        await store.addPredictionFiles({ imageId, modelId: models[0].id, scores: predScores, tta: opts.tta ?? false, bytes, uncertaintyBytes: null }, { actor: opts.actor });
      }
    }
    const meta: AlRoundMeta = {
      format: 'segloop-al-round/1',
      seed,
      params,
      modelIds: models.map((m) => m.id),
      modelVersion: models[0].version,
      scoreKey: needs.scores[0] ?? null,
      picks,
      backend: res.backend,
    };
    const roundScores: JsonObject = JSON.parse(JSON.stringify({ ...Object.fromEntries(Object.entries(scoresById)), [ROUND_META_KEY]: meta }));
    const round = store.alRounds.create({ strategy: strategy.name, modelId: models[0].id, selected: picks.map((p) => p.imageId), scores: roundScores }, { actor: opts.actor });
    return { roundId: round.id, modelId: models[0].id, modelVersion: models[0].version, strategy: strategy.name, seed, picks, scores: scoresById, backend: res.backend };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
