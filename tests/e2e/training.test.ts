/// <reference lib="dom" />
// Browser end-to-end of the Training and Models screens (HTTP transport, real mouse and keyboard)
// on a tiny project (2 training images, 1 frozen test image): start training from the Training
// screen -> a progress update and an epoch point reach the charts -> Cancel leaves a cancelled,
// resumable run with a checkpoint -> Resume continues it (its epochs go on from where it stopped)
// -> the candidate is evaluated on the test split -> the Models screen shows the promotion
// decision, which the database holds. Training is tiny (2D U-Net, width 4, 3 steps per epoch):
// the test is about the workflow, not Dice. Assertions are on the UI and the DB, never on time.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, type ServeProcess } from './harness';
import {
  cancelTrainingFromUi,
  openModels,
  queryDb,
  resumeTrainingFromUi,
  screenshots as shots,
  serveTestProject,
  startTrainingFromUi,
  waitForCandidate,
  waitForEpochPoints,
  waitText,
  type ServedTestProject,
} from './loop-steps';

/** Generous: the worker trains and evaluates on a loaded 2-core machine shared with other tests. */
const STEP_TIMEOUT = 900_000;
const skipReason = missingPrerequisite();

interface RunRow {
  id: number;
  status: string;
  config: string;
  data_snapshot: string;
}

function epochsFile(dir: string, runId: number): number[] {
  const file = path.join(dir, 'runs', String(runId), 'epochs.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
}

describe.skipIf(skipReason !== null)(`Training and Models screens in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let served: ServedTestProject;
  let dir = '';
  let server: ServeProcess;
  let page: Page;
  const state: { firstRun?: number; epochsBeforeCancel?: number; resumedRun?: number; modelId?: number; version?: number } = {};

  beforeAll(async () => {
    served = await serveTestProject({ labelled: 3, testSplit: true });
    ({ dir, server, page } = served);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await served?.close();
  }, STEP_TIMEOUT);

  it('starts training from the Training screen: the plan with its reasons, then progress and an epoch point on the charts', async () => {
    // Far more epochs than the test waits for: it is cancelled after its first epoch.
    await startTrainingFromUi(page, { epochs: 1000 });
    const reasons = await page.locator('[data-testid="plan-reasons"] li').allTextContents();
    expect(reasons.join(' ')).toMatch(/Fingerprint of 2 labelled case/);
    await waitForEpochPoints(page, 1, STEP_TIMEOUT);
    // A progress update arrived: the bar moved and the backend and a measured step time are shown.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="train-progress"]')?.getAttribute('data-progress') || 0) > 0, null, { timeout: 120_000 });
    const facts = await waitText(page, 'train-backend', /Measured step time: \d/);
    expect(facts).not.toMatch(/Backend: —/);
    await expect.poll(() => queryDb<RunRow>(dir, 'SELECT * FROM training_runs').map((r) => r.status), { timeout: 60_000 }).toEqual(['running']);
    const [run] = queryDb<RunRow>(dir, 'SELECT * FROM training_runs');
    state.firstRun = run.id;
    // The snapshot holds the two training images' labels, not the test image's.
    expect((JSON.parse(run.data_snapshot) as { labelVersionIds: number[] }).labelVersionIds).toHaveLength(2);
    await shots(page, 'training-running');
  }, STEP_TIMEOUT);

  it('Cancel from the UI leaves a cancelled run with a checkpoint that the screen offers to resume', async () => {
    await cancelTrainingFromUi(page, STEP_TIMEOUT);
    const runId = state.firstRun!;
    await expect.poll(() => queryDb<RunRow>(dir, 'SELECT status FROM training_runs WHERE id = ?', runId)[0].status, { timeout: 60_000 }).toBe('cancelled');
    expect(existsSync(path.join(dir, 'runs', String(runId), 'checkpoint', 'latest.json'))).toBe(true);
    expect(queryDb(dir, 'SELECT id FROM models')).toHaveLength(0);
    const done = epochsFile(dir, runId);
    expect(done.length).toBeGreaterThan(0);
    state.epochsBeforeCancel = Math.max(...done);
    await page.waitForSelector(`[data-testid="run-${runId}"] .badge`);
    expect(await page.locator(`[data-testid="run-${runId}"]`).getAttribute('data-status')).toBe('cancelled');
    expect(await page.locator('[data-testid="train-resume"]').textContent()).toContain(`Resume run ${runId}`);
  }, STEP_TIMEOUT);

  it('Resume from the UI continues the run (epoch numbers go on); the candidate is evaluated on the test split', async () => {
    const before = state.epochsBeforeCancel!;
    await resumeTrainingFromUi(page, before + 2);
    const outcome = await waitForCandidate(page, STEP_TIMEOUT);

    const runs = queryDb<RunRow>(dir, 'SELECT * FROM training_runs ORDER BY id');
    expect(runs).toHaveLength(2);
    const resumed = runs[1];
    state.resumedRun = resumed.id;
    expect(resumed.status).toBe('completed');
    expect((JSON.parse(resumed.config) as { resumedFromRun: number }).resumedFromRun).toBe(state.firstRun);
    // Same data as the run it continues.
    expect(JSON.parse(resumed.data_snapshot)).toMatchObject({ labelVersionIds: (JSON.parse(runs[0].data_snapshot) as { labelVersionIds: number[] }).labelVersionIds });
    // Its epochs continue the cancelled run's numbering, up to the total asked for.
    const epochs = epochsFile(dir, resumed.id);
    expect(epochs.length).toBeGreaterThan(0);
    expect(Math.min(...epochs)).toBeGreaterThan(before - 1);
    expect(Math.max(...epochs)).toBe(before + 2);
    // The run table shows it as continuing the first run, at the last epoch.
    await page.waitForSelector(`[data-testid="run-${resumed.id}"]`);
    expect(await page.locator(`[data-testid="run-${resumed.id}"]`).textContent()).toContain(`← ${state.firstRun}`);
    expect(await page.locator(`[data-testid="run-${resumed.id}-epochs"]`).textContent()).toBe(String(before + 2));
    // The chart shows the whole history (both runs), one point per epoch.
    expect(Number(await page.locator('[data-testid="train-chart-points"]').getAttribute('data-points'))).toBe(before + 2);

    const models = queryDb<{ id: number; version: number; status: string; metrics: string; training_run_id: number }>(dir, 'SELECT * FROM models');
    expect(models).toHaveLength(1);
    const m = models[0];
    state.modelId = m.id;
    state.version = m.version;
    expect(outcome.version).toBe(m.version);
    expect(m.training_run_id).toBe(resumed.id);
    const metrics = JSON.parse(m.metrics) as { test: { cases: number; classes: { name: string; dice: number | null }[] }; gate: { allowed: boolean } };
    expect(metrics.test.cases).toBe(1);
    expect(metrics.test.classes.map((c) => c.name)).toEqual(['anterior hippocampus', 'posterior hippocampus']);
    const testImage = queryDb<{ id: number }>(dir, "SELECT id FROM images WHERE split = 'test'")[0].id;
    expect(queryDb(dir, 'SELECT id FROM predictions WHERE model_id = ? AND image_id = ?', m.id, testImage)).toHaveLength(1);
    // The first model has nothing to beat: the gate lets it through and it is promoted automatically.
    expect(metrics.gate.allowed).toBe(true);
    expect(outcome.promoted).toBe(true);
    expect(m.status).toBe('promoted');
    await shots(page, 'training-done');
  }, STEP_TIMEOUT);

  it('the Models screen shows the candidate with its test metrics and the recorded promotion decision', async () => {
    await openModels(page, state.version);
    const row = page.locator(`[data-testid="model-row-v${state.version}"]`);
    expect(await row.getAttribute('data-status')).toBe('promoted');
    expect(await row.locator('[data-testid="model-gate"]').textContent()).toBe('passed');
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).toContain(`${state.resumedRun}`);
    await row.click();
    const decision = await waitText(page, 'model-decision', /promoted by/);
    const audit = queryDb<{ action: string; actor: string; details: string }>(dir, "SELECT action, actor, details FROM audit_log WHERE entity = 'model' AND entity_id = ? AND action IN ('model.gate', 'model.promote') ORDER BY id", state.modelId);
    expect(audit.map((a) => a.action)).toEqual(['model.gate', 'model.promote']);
    expect(decision).toContain(audit[1].actor);
    expect((JSON.parse(audit[1].details) as { reason: string }).reason).toMatch(/Automatic after training/);
    expect(await page.locator('[data-testid="gate-reasons"]').textContent()).toMatch(/No model is promoted yet/);
    await shots(page, 'models-after-training');
  }, STEP_TIMEOUT);

  it('one owner of the compute: a prediction asked for during training is queued, the Training screen says so, and it runs after', async () => {
    await startTrainingFromUi(page, { epochs: 1000 });
    await waitForEpochPoints(page, 1, STEP_TIMEOUT);
    const pool = queryDb<{ id: number }>(dir, "SELECT id FROM images WHERE split = 'pool' AND id NOT IN (SELECT image_id FROM label_versions) ORDER BY id LIMIT 1")[0].id;
    const token = new URL(server.openUrl).searchParams.get('token') ?? '';
    const res = await fetch(`${server.url}/api/predictions:run`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Segloop-Token': token },
      body: JSON.stringify({ target: 'images', imageIds: [String(pool)], tta: false }),
    });
    const env = (await res.json()) as { ok: boolean; value: { jobId: string; queuedBehind: { kind: string } | null } };
    expect(env.ok).toBe(true);
    expect(env.value.queuedBehind?.kind).toBe('train');
    expect(await waitText(page, 'compute-owner', /Queued behind it: prediction/)).toMatch(/starts when training ends/);
    expect(queryDb(dir, 'SELECT id FROM predictions WHERE image_id = ?', pool)).toHaveLength(0);
    await shots(page, 'training-compute-owner');
    // Cancelling the training hands the compute to the prediction, which then runs.
    await cancelTrainingFromUi(page, STEP_TIMEOUT);
    await expect.poll(() => queryDb(dir, 'SELECT id FROM predictions WHERE image_id = ? AND model_id = ?', pool, state.modelId).length, { timeout: STEP_TIMEOUT, interval: 1000 }).toBe(1);
  }, STEP_TIMEOUT);
});
