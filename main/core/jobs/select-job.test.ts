// selectInProject on a real tiny project: the 8 demo cases (3 labelled, 1 in the test split,
// 4 in the unlabelled pool) and a 2D U-Net trained a few steps in the worker. Checks what a round
// records (ordered picks with reasons, seed, scores under the documented keys, one prediction
// per scored image), that uncertainty strategies rank by the scores they stored, that a cancel
// or any bad request records nothing, and that the model-free baseline runs without a model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREDICTION_SCORE_KEYS, ROUND_META_KEY, alRoundsOf, queueOf } from '../active-learning';
import { disposeTinyAlProject, makeTinyAlProject, type TinyProject } from './select-test-project';
import type { TaskEvent } from '../worker/protocol';
import { JobQueue } from './job-queue';
import { planSelection, selectInProject, submitSelection } from './select-job';

let p: TinyProject;
let untrained: TinyProject;

beforeAll(async () => {
  p = await makeTinyAlProject({ labelled: 3, test: 1 });
  untrained = await makeTinyAlProject({ labelled: 2, test: 1, train: false });
}, 300_000);

afterAll(async () => {
  await disposeTinyAlProject(p);
  await disposeTinyAlProject(untrained);
});

const recorded = (t: TinyProject): { rounds: number; predictions: number } => ({ rounds: t.store.alRounds.count(), predictions: t.store.predictions.count() });
const pool = (): number[] => p.imageIds.filter((id) => !p.labelledIds.includes(id) && !p.testIds.includes(id));

describe('selectInProject', { timeout: 600_000 }, () => {
  it('refuses bad requests with a typed error before any work, recording nothing', async () => {
    const before = recorded(p);
    const bad: [Parameters<typeof selectInProject>[1], string][] = [
      [{ strategy: 'no-such-strategy', count: 1 }, 'UNKNOWN_STRATEGY'],
      [{ strategy: 'entropy', count: 0 }, 'INVALID_ARGUMENT'],
      [{ strategy: 'entropy', count: -2 }, 'INVALID_ARGUMENT'],
      [{ strategy: 'entropy', count: pool().length + 1 }, 'BUDGET_EXCEEDS_POOL'],
      [{ strategy: 'entropy', count: 1, modelId: 999 }, 'MODEL_NOT_FOUND'],
      [{ strategy: 'top-k', count: 1, params: { score: 'bogus' } }, 'INVALID_ARGUMENT'],
      [{ strategy: 'power-entropy', count: 1, params: { beta: -1 } }, 'INVALID_ARGUMENT'],
    ];
    for (const [opts, code] of bad) {
      await expect(selectInProject(p.store, opts), JSON.stringify(opts)).rejects.toMatchObject({ code });
    }
    // Uncertainty needs a model; a project without one refuses (random still works, below).
    await expect(selectInProject(untrained.store, { strategy: 'entropy', count: 1 })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(selectInProject(untrained.store, { strategy: 'improved-random', count: 1 })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(recorded(p)).toEqual(before);
    expect(recorded(untrained)).toEqual({ rounds: 0, predictions: 0 });
  });

  it('entropy: scores the pool in the worker, picks highest mean entropy first, files one prediction per scored image and the round', async () => {
    const events: TaskEvent[] = [];
    const out = await selectInProject(p.store, { strategy: 'entropy', count: 3, seed: 7, actor: 'tester', onEvent: (e) => events.push(e) });
    expect(out.modelId).toBe(p.model?.id);
    expect(events.some((e) => e.type === 'progress' && e.fraction === 1)).toBe(true);
    // Every pool image scored, nothing else (never a labelled or test image).
    expect(Object.keys(out.scores).map(Number).sort((a, b) => a - b)).toEqual(pool());
    for (const s of Object.values(out.scores)) {
      expect(s.meanEntropy).toBeGreaterThanOrEqual(0);
      expect(s.meanEntropy).toBeLessThanOrEqual(Math.log(3) + 1e-9);
      expect(Number.isFinite(s.margin)).toBe(true);
    }
    const byEntropy = pool().sort((a, b) => out.scores[b].meanEntropy - out.scores[a].meanEntropy || a - b);
    expect(out.picks.map((x) => x.imageId)).toEqual(byEntropy.slice(0, 3));
    expect(out.picks.map((x) => x.rank)).toEqual([1, 2, 3]);
    for (const pick of out.picks) {
      expect(pick.score).toBeCloseTo(out.scores[pick.imageId].meanEntropy, 12);
      expect(pick.reason).toMatch(/meanEntropy|entropy/);
    }
    // The round row: same order in `selected`, seed/model/picks in its metadata.
    const row = p.store.alRounds.get(out.roundId)!;
    expect(row.selected).toEqual(out.picks.map((x) => x.imageId));
    expect(row.modelId).toBe(p.model?.id);
    const meta = (row.scores as Record<string, unknown>)[ROUND_META_KEY] as { seed: number; scoreKey: string; picks: unknown[] };
    expect(meta).toMatchObject({ seed: 7, scoreKey: 'meanEntropy' });
    expect(meta.picks).toEqual(out.picks);
    // One prediction per pool image, its scores under the documented keys.
    for (const id of pool()) {
      const pred = p.store.predictions.latestForImage(id)!;
      expect(pred.modelId).toBe(p.model?.id);
      const keys = Object.keys(pred.scores ?? {}).filter((k) => (PREDICTION_SCORE_KEYS as readonly string[]).includes(k));
      expect(keys).toEqual(expect.arrayContaining(['meanEntropy', 'foregroundEntropy', 'margin']));
      expect((pred.scores as Record<string, number>).meanEntropy).toBe(out.scores[id].meanEntropy);
    }
    for (const id of [...p.labelledIds, ...p.testIds]) expect(p.store.predictions.latestForImage(id)).toBeNull();
    // Read back as the queue "label next" follows.
    const round = alRoundsOf(p.store).find((r) => r.id === out.roundId)!;
    expect(queueOf(round, p.labelledIds).map((x) => x.imageId)).toEqual(out.picks.map((x) => x.imageId));
  });

  it('power-entropy is deterministic under a seed and its picks come from the pool', async () => {
    const a = await selectInProject(p.store, { strategy: 'power-entropy', count: 2, seed: 11 });
    const b = await selectInProject(p.store, { strategy: 'power-entropy', count: 2, seed: 11 });
    expect(b.picks).toEqual(a.picks);
    for (const x of a.picks) expect(pool()).toContain(x.imageId);
  });

  it('a cancel during scoring stops the worker and records nothing', async () => {
    const before = recorded(p);
    const ac = new AbortController();
    const run = selectInProject(p.store, {
      strategy: 'entropy',
      count: 1,
      tta: true,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'progress') ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(recorded(p)).toEqual(before);
  });

  it('as a queue job: exclusive with a model, progress reported; a bad request creates no job', async () => {
    const queue = new JobQueue({ busy: 'queue' });
    const progress: number[] = [];
    queue.onDidChangeJob((j) => {
      if (j.status === 'running' && j.progress !== null) progress.push(j.progress);
    });
    const h = submitSelection(queue, p.store, { strategy: 'margin', count: 1, seed: 2 });
    expect(queue.get(h.id).exclusive).toBe(true);
    const v = await h.result;
    expect(queue.get(h.id).status).toBe('done');
    expect(progress.some((f) => f > 0)).toBe(true);
    expect(p.store.alRounds.get(v.roundId)?.strategy).toBe('margin');
    // A bad request throws from submit: no job is created.
    expect(() => submitSelection(queue, p.store, { strategy: 'entropy', count: 99 })).toThrow(expect.objectContaining({ code: 'BUDGET_EXCEEDS_POOL' }));
    expect(queue.list()).toHaveLength(1);
  });

  it('random needs no model: it runs on a project without one and records the round (no predictions)', async () => {
    const plan = planSelection(untrained.store, { strategy: 'random', count: 2, seed: 3 });
    expect(plan.models).toEqual([]);
    const a = await selectInProject(untrained.store, { strategy: 'random', count: 2, seed: 3 });
    expect(a.modelId).toBeNull();
    expect(a.picks).toHaveLength(2);
    const unl = untrained.imageIds.filter((id) => !untrained.labelledIds.includes(id) && !untrained.testIds.includes(id));
    for (const x of a.picks) expect(unl).toContain(x.imageId);
    expect(recorded(untrained)).toEqual({ rounds: 1, predictions: 0 });
    expect(untrained.store.alRounds.get(a.roundId)?.selected).toEqual(a.picks.map((x) => x.imageId));
    const b = await selectInProject(untrained.store, { strategy: 'random', count: 2, seed: 3 });
    expect(b.picks).toEqual(a.picks);
  });

  it('a pool with no unlabelled image is refused (NO_UNLABELLED_IMAGES), nothing recorded', async () => {
    const full = await makeTinyAlProject({ labelled: 5, test: 3, train: false });
    try {
      await expect(selectInProject(full.store, { strategy: 'random', count: 1 })).rejects.toMatchObject({ code: 'NO_UNLABELLED_IMAGES' });
      expect(recorded(full)).toEqual({ rounds: 0, predictions: 0 });
    } finally {
      await disposeTinyAlProject(full);
    }
  });
});
