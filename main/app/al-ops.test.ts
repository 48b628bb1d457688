// The active-learning operations through the real dispatcher (as both transports call them) on
// a tiny demo project with a really trained model: al:select as a job (progress events, result
// event, cancel), al:rounds and the Cases rows it feeds, and bad requests refused with a typed
// error that leave no job and no round behind.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage, OperationName, OpInput, OpOutput } from '../../shared/contract';
import { readNifti } from '../core/imaging/nifti';
import { predictInProject } from '../core/jobs/predict-job';
import { disposeTinyAlProject, makeTinyAlProject, type TinyProject } from '../core/jobs/select-test-project';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

let p: TinyProject;
let app: ProjectApp;
const events: EventMessage[] = [];

async function call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
  const r = await dispatch(app.handlers, name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as OpOutput<N>;
}

async function finished(jobId: string): Promise<Extract<EventMessage, { event: 'jobs:result' }>['payload']> {
  await expect.poll(() => events.some((e) => e.event === 'jobs:result' && e.payload.jobId === jobId), { timeout: 500_000, interval: 200 }).toBe(true);
  return (events.find((e) => e.event === 'jobs:result' && e.payload.jobId === jobId) as Extract<EventMessage, { event: 'jobs:result' }>).payload;
}

beforeAll(async () => {
  p = await makeTinyAlProject({ labelled: 3, test: 1 });
  p.store.close();
  app = await openProjectApp(p.dir, { transport: 'http', author: 'dr-al' });
  app.onEvent((m) => events.push(m));
}, 300_000);

afterAll(async () => {
  app?.dispose();
  await disposeTinyAlProject(p);
});

const pool = (): string[] => p.imageIds.filter((id) => !p.labelledIds.includes(id) && !p.testIds.includes(id)).map(String);

describe('al:* operations', { timeout: 600_000 }, () => {
  it('al:strategies lists every registered strategy with its description, params and whether it needs a model', async () => {
    const st = await call('al:strategies', {});
    const names = st.strategies.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['random', 'improved-random', 'entropy', 'power-entropy', 'clasp', 'k-center', 'margin']));
    expect(st.strategies.find((s) => s.name === 'random')).toMatchObject({ needsModel: false, scoreKey: null });
    expect(st.strategies.find((s) => s.name === 'entropy')).toMatchObject({ needsModel: true, scoreKey: 'meanEntropy' });
    expect(st.strategies.find((s) => s.name === 'power-entropy')?.params.map((x) => x.name)).toContain('beta');
    for (const s of st.strategies) expect(s.description.length).toBeGreaterThan(10);
    expect(st.defaultStrategy).toBe('power-entropy'); // the project has a model
  });

  it('refuses bad requests with typed errors: no job, no round', async () => {
    const bad: [OpInput<'al:select'>, string][] = [
      [{ strategy: 'no-such', count: 1 }, 'UNKNOWN_STRATEGY'],
      [{ strategy: 'entropy', count: 0 }, 'VALIDATION_FAILED'],
      [{ strategy: 'entropy', count: pool().length + 1 }, 'BUDGET_EXCEEDS_POOL'],
      [{ strategy: 'entropy', count: 1, modelId: '999' }, 'MODEL_NOT_FOUND'],
      [{ strategy: 'entropy', count: 1, modelId: 'DROP TABLE' }, 'VALIDATION_FAILED'],
      [{ strategy: 'power-entropy', count: 1, params: { beta: -3 } }, 'INVALID_ARGUMENT'],
      [{ strategy: 'entropy', count: 1, bogus: true } as never, 'VALIDATION_FAILED'],
    ];
    for (const [input, code] of bad) await expect(call('al:select', input), JSON.stringify(input)).rejects.toMatchObject({ code });
    expect((await call('jobs:list', {})).jobs).toEqual([]);
    expect(app.store.alRounds.count()).toBe(0);
    expect(app.store.predictions.count()).toBe(0);
  });

  it('al:select runs the strategy as a job with progress; the round becomes the queue and fills the Cases rows', async () => {
    const started = await call('al:select', { strategy: 'entropy', count: 2, seed: 4 });
    const result = await finished(started.jobId);
    expect(result).toMatchObject({ kind: 'al-select', status: 'done', error: null });
    const progress = events.filter((e) => e.event === 'jobs:progress' && e.payload.id === started.jobId && e.payload.status === 'running').map((e) => (e.payload as { progress: number | null }).progress);
    expect(progress.some((f) => f !== null && f > 0 && f < 1)).toBe(true);

    const rounds = await call('al:rounds', {});
    expect(rounds.currentRoundId).toBe(result.summary.roundId);
    const round = rounds.rounds[0];
    expect(round).toMatchObject({ strategy: 'entropy', modelId: String(p.model?.id), seed: 4, scoreKey: 'meanEntropy', scored: pool().length });
    expect(round.picks.map((x) => x.rank)).toEqual([1, 2]);
    for (const pick of round.picks) {
      expect(pool()).toContain(pick.imageId);
      expect(pick.score).not.toBeNull();
      expect(pick.reason.length).toBeGreaterThan(0);
      expect(pick.labelStatus).toBe('unlabelled');
    }
    expect(round.picks[0].score!).toBeGreaterThanOrEqual(round.picks[1].score!);

    // Cases: every pool image has an uncertainty (the round's meanEntropy), a last prediction
    // by this model, and the picks carry their rank; "label next" follows the queue.
    const rows = (await call('cases:list', {})).rows;
    for (const id of pool()) {
      const row = rows.find((r) => r.imageId === id)!;
      expect(row.uncertainty).not.toBeNull();
      expect(row.lastPrediction?.modelVersion).toBe(p.model?.version);
    }
    expect(round.picks.map((x) => rows.find((r) => r.imageId === x.imageId)?.alRank)).toEqual([1, 2]);
    expect(rows.find((r) => r.imageId === round.picks[0].imageId)?.uncertainty).toBeCloseTo(round.picks[0].score!, 12);
    expect((await call('cases:next', {})).imageId).toBe(round.picks[0].imageId);
    expect((await call('cases:next', { afterImageId: round.picks[0].imageId })).imageId).toBe(round.picks[1].imageId);
  });

  it('the uncertainty column fills from the keys `predict` stores (meanEntropy) for an image outside the round', async () => {
    const testId = p.testIds[0];
    const out = await predictInProject(app.store, { imageIds: [testId], actor: 'dr-al' });
    const stored = out.predictions[0].scores as Record<string, unknown>;
    expect(typeof stored.meanEntropy).toBe('number');
    const row = (await call('cases:list', {})).rows.find((r) => r.imageId === String(testId))!;
    expect(row.alRank).toBeNull();
    expect(row.uncertainty).toBe(stored.meanEntropy);
  });

  it('the stop signal: edit Dice per round from reviews (accept = 1, an edit = the Dice of what changed)', async () => {
    const round = (await call('al:rounds', {})).rounds[0];
    expect((await call('al:rounds', {})).stopSignal).toEqual([]);
    const [a, b] = round.picks.map((x) => app.store.predictions.latestForImage(Number(x.imageId))!);
    await call('reviews:submit', { decision: 'accept', predictionId: String(a.id), secondsSpent: 3 });
    // Edit: clear the first half of the predicted foreground voxels of b.
    const proposed = Uint8Array.from((await readNifti(await app.store.resolve(b.path))).data, (v) => Math.round(v));
    const fg = [...proposed.keys()].filter((i) => proposed[i] > 0);
    expect(fg.length).toBeGreaterThan(1);
    const saved = proposed.slice();
    for (const i of fg.slice(0, Math.floor(fg.length / 2))) saved[i] = 0;
    await call('reviews:submit', { decision: 'edit', predictionId: String(b.id), secondsSpent: 20, voxelsGzBase64: gzipSync(saved).toString('base64') });
    // Independent Dice of the edit: mean over the foreground classes present in either map.
    const dice: number[] = [];
    for (const k of [1, 2]) {
      let inter = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < proposed.length; i++) {
        if (proposed[i] === k) na++;
        if (saved[i] === k) nb++;
        if (proposed[i] === k && saved[i] === k) inter++;
      }
      if (na + nb > 0) dice.push((2 * inter) / (na + nb));
    }
    const editDice = dice.reduce((x, y) => x + y, 0) / dice.length;
    expect(editDice).toBeLessThan(1);
    const stop = (await call('al:rounds', {})).stopSignal;
    expect(stop).toHaveLength(1);
    expect(stop[0]).toMatchObject({ roundId: round.id, reviews: 2 });
    expect(stop[0].meanDice).toBeCloseTo((1 + editDice) / 2, 12);
  });

  it('jobs:cancel during scoring: the job ends cancelled and nothing is recorded', async () => {
    const rounds = app.store.alRounds.count();
    const predictions = app.store.predictions.count();
    const started = await call('al:select', { strategy: 'entropy', count: 1, tta: true, seed: 1 });
    await expect.poll(() => events.some((e) => e.event === 'jobs:progress' && e.payload.id === started.jobId && e.payload.status === 'running'), { timeout: 120_000, interval: 100 }).toBe(true);
    await call('jobs:cancel', { jobId: started.jobId });
    const result = await finished(started.jobId);
    expect(result.status).toBe('cancelled');
    expect(app.store.alRounds.count()).toBe(rounds);
    expect(app.store.predictions.count()).toBe(predictions);
  });

  it('random on the same project needs no scoring: a round with the model-free reason', async () => {
    const started = await call('al:select', { strategy: 'random', count: 1, seed: 9 });
    expect((await finished(started.jobId)).status).toBe('done');
    const round = (await call('al:rounds', {})).rounds[0];
    expect(round).toMatchObject({ strategy: 'random', modelId: null, scored: 0 });
    expect(round.picks[0].reason).toBe('random draw');
  });
});
