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
import { listStrategiesInfo } from '../active-learning/info';
import { PREDICTION_SCORE_KEYS } from '../active-learning/scoring';
import type { TaskEvent } from '../worker/protocol';
import { runWorkerTask, type WorkerLauncher } from '../worker/worker-host';
import { modelSpecs, resolveModels } from './predict-job';
import type { JobHandle, JobQueue } from './job-queue';

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
  /** null: a model-free strategy ran without a model (nothing scored). */
  modelId: number | null;
  modelVersion: number | null;
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

/** What a validated request resolved to; made before any work, so a bad request records nothing. */
export interface SelectionPlan {
  strategy: string;
  params: Record<string, unknown>;
  seed: number;
  count: number;
  /** Empty: the strategy needs no model and none was named (random): nothing to score. */
  models: ModelRow[];
  needs: ReturnType<typeof strategyNeeds>;
  selectable: ImageRow[];
  labelledIds: number[];
  testIds: number[];
}

/**
 * Checks a request without doing any work: strategy known and its params valid, count a
 * positive integer that fits the pool, an unlabelled non-test image exists, the model(s)
 * exist with weights when the strategy needs scores/features/foreground (MODEL_NOT_FOUND
 * otherwise). Handlers call it before submitting the job so the caller gets the error.
 */
export type SelectionRequest = Omit<SelectInProjectOptions, 'tta' | 'backend' | 'signal' | 'onEvent' | 'launcher' | 'entry' | 'actor'>;

export function planSelection(store: ProjectStore, opts: SelectionRequest): SelectionPlan {
  const strategy = getStrategy(opts.strategy); // UNKNOWN_STRATEGY before anything else
  const params = opts.params ?? {};
  const needs = strategyNeeds(strategy.name, params); // INVALID_ARGUMENT on a bad score param
  checkParams(strategy.name, params);
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new SegloopError('INVALID_ARGUMENT', `The count must be a positive integer, got ${opts.count}.`);
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw new SegloopError('INVALID_ARGUMENT', `The seed must be an integer, got ${seed}.`);
  const ids = opts.modelIds?.length ? opts.modelIds : opts.modelId !== undefined ? [opts.modelId] : undefined;
  const needsModel = needs.scores.length > 0 || needs.features || needs.foreground;
  // A model-free strategy (random) scores with a model only when one is named: the baseline must
  // work on a project that has no model yet (the first round of a new project).
  const models: ModelRow[] = needsModel || ids ? resolveModels(store, ids) : []; // MODEL_NOT_FOUND
  for (const m of models) {
    if (!m.weightsPath || !m.weightsSha256) throw new SegloopError('MODEL_NOT_FOUND', `Model v${m.version} (id ${m.id}) has no weights.`, { id: m.id });
  }
  const { selectable, labelledIds, testIds } = selectableImages(store);
  if (!selectable.length) throw new SegloopError('NO_UNLABELLED_IMAGES', 'Every image outside the test split already has a label: there is nothing to select.');
  if (opts.count > selectable.length) {
    throw new SegloopError('BUDGET_EXCEEDS_POOL', `Asked for ${opts.count} images but only ${selectable.length} unlabelled image(s) can be selected.`, { count: opts.count, pool: selectable.length });
  }
  return { strategy: strategy.name, params, seed, count: opts.count, models, needs, selectable, labelledIds, testIds };
}

/**
 * A wrong parameter must be refused now, not after minutes of scoring: unknown names are an
 * error (a typo would otherwise be ignored), and the strategy itself checks the values on a
 * two-image stand-in pool that has every score, so its own range checks run.
 */
function checkParams(strategy: string, params: Record<string, unknown>): void {
  const known = listStrategiesInfo().find((s) => s.name === strategy)?.params.map((x) => x.name) ?? [];
  for (const k of Object.keys(params)) {
    if (!known.includes(k)) throw new SegloopError('INVALID_ARGUMENT', `Strategy "${strategy}" has no parameter "${k}". Known: ${known.join(', ') || 'none'}.`, { param: k });
  }
  if (!Object.keys(params).length) return;
  const scores = Object.fromEntries(PREDICTION_SCORE_KEYS.map((k) => [k, 0.5]));
  const standIn: CandidateImage[] = [1, 2].map((imageId) => ({ imageId, scores, foregroundVoxelsPerClass: [10, 5, 5], features: [imageId, 1] }));
  selectFromPool({ strategy, pool: standIn, budget: 1, seed: 1, params, labelledIds: [] });
}

function cancelledIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SegloopError('JOB_CANCELLED', 'The selection was cancelled before anything was recorded.');
}

export async function selectInProject(store: ProjectStore, opts: SelectInProjectOptions): Promise<SelectInProjectResult> {
  const plan = planSelection(store, opts);
  const { params, seed, models, needs, selectable, labelledIds, testIds } = plan;
  if (!models.length) return selectWithoutModel(store, plan, opts);
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
    const picks = selectFromPool({ strategy: plan.strategy, pool, budget: plan.count, seed, params, labelledIds, excludedIds: testIds, labelledFeatures });
    // Past this point the round gets recorded; a cancel that arrived during scoring stops here.
    cancelledIfAborted(opts.signal);

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
    const round = store.alRounds.create({ strategy: plan.strategy, modelId: models[0].id, selected: picks.map((p) => p.imageId), scores: roundScores }, { actor: opts.actor });
    return { roundId: round.id, modelId: models[0].id, modelVersion: models[0].version, strategy: plan.strategy, seed, picks, scores: scoresById, backend: res.backend };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** A model-free strategy with no model named: pick from the pool as it is, record the round. */
function selectWithoutModel(store: ProjectStore, plan: SelectionPlan, opts: SelectInProjectOptions): SelectInProjectResult {
  const pool: CandidateImage[] = plan.selectable.map((i) => ({ imageId: i.id, scores: {} }));
  opts.onEvent?.({ type: 'progress', fraction: 0.5, message: `Selecting ${plan.count} of ${pool.length} image(s) with ${plan.strategy} (no model needed)`, etaSeconds: null });
  const picks = selectFromPool({ strategy: plan.strategy, pool, budget: plan.count, seed: plan.seed, params: plan.params, labelledIds: plan.labelledIds, excludedIds: plan.testIds });
  cancelledIfAborted(opts.signal);
  const meta: AlRoundMeta = { format: 'segloop-al-round/1', seed: plan.seed, params: plan.params, modelIds: [], modelVersion: null, scoreKey: null, picks, backend: 'none' };
  const round = store.alRounds.create({ strategy: plan.strategy, modelId: null, selected: picks.map((p) => p.imageId), scores: JSON.parse(JSON.stringify({ [ROUND_META_KEY]: meta })) as JsonObject }, { actor: opts.actor });
  return { roundId: round.id, modelId: null, modelVersion: null, strategy: plan.strategy, seed: plan.seed, picks, scores: {}, backend: 'none' };
}

/**
 * The selection as a queue job (the app's al:select). Exclusive when it scores with a model
 * (one ML owner of the CPU/GPU at a time); worker progress becomes job progress; cancel aborts
 * the worker and records nothing.
 */
export function submitSelection(queue: JobQueue, store: ProjectStore, opts: Omit<SelectInProjectOptions, 'signal' | 'onEvent'>, onEvent?: (jobId: string, e: TaskEvent) => void): JobHandle<SelectInProjectResult> {
  const plan = planSelection(store, opts); // throws now: the caller sees the error, no job exists
  return queue.submit(
    'al-select',
    (ctx) =>
      selectInProject(store, {
        ...opts,
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === 'progress') ctx.report({ fraction: e.fraction, message: e.message, etaSeconds: e.etaSeconds });
          onEvent?.(ctx.id, e);
        },
      }),
    { exclusive: plan.models.length > 0 },
  );
}
