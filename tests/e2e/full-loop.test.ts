/// <reference lib="dom" />
// One full loop of the desktop workflow in the browser (HTTP transport, real mouse and keyboard),
// on a tiny project: start an active-learning round -> label the first queued case -> train a few
// steps from the Training screen (progress and an epoch point appear) -> the candidate is
// evaluated on the frozen test split -> the promotion decision is shown and recorded -> run
// predictions -> Review accepts one and edits another -> the database holds the ai_accepted and
// ai_edited versions carrying the model they came from, and the review rows.
// Training is tiny on purpose (2D U-Net, width 4, a few steps): the test is about the loop, not Dice.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite } from './harness';
import { ARTIFACTS, openModels, queryDb, serveTestProject, startTrainingFromUi, TINY, waitForCandidate, waitForEpochPoints, waitText as waitTextOf, type ServedTestProject } from './loop-steps';

/** Generous: training, test-split evaluation and prediction run in worker processes on a loaded 2-core machine. */
const STEP_TIMEOUT = 600_000;
const skipReason = missingPrerequisite();

/** Waits for an element's text to match; fails at once, with the message, if the screen shows an error instead. */
const waitText = (page: Page, testId: string, pattern: RegExp, timeout = 120_000): Promise<string> => waitTextOf(page, testId, pattern, timeout, { failOnError: true });

async function stroke(page: Page, testId: string, from: [number, number], to: [number, number]): Promise<void> {
  const box = await page.locator(`[data-testid="${testId}"]`).boundingBox();
  if (!box) throw new Error(`${testId} has no box`);
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 14 });
  await page.mouse.up();
}

/** Waits until a "<n> voxels ..." counter is positive and has stopped changing (the stroke is fully applied). */
async function settledCount(page: Page, testId: string): Promise<number> {
  const read = async (): Promise<number> => Number(/(\d+)/.exec((await page.locator(`[data-testid="${testId}"]`).textContent({ timeout: 1000 }).catch(() => null)) ?? '')?.[1] ?? 0);
  let last = -1;
  await expect
    .poll(
      async () => {
        const n = await read();
        const stable = n === last && n > 0;
        last = n;
        return stable;
      },
      { timeout: 60_000, interval: 700 },
    )
    .toBe(true);
  return last;
}

describe.skipIf(skipReason !== null)(`the full loop in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let served: ServedTestProject;
  let page: Page;
  const state: { round?: { id: number; selected: number[] }; labelledImageId?: number; modelId?: number; modelVersion?: number } = {};
  const query = <T = Record<string, unknown>>(sql: string, ...args: unknown[]): T[] => queryDb<T>(served.dir, sql, ...args);

  beforeAll(async () => {
    // 8 demo cases, 3 with a reference label: one goes to the frozen test split, two to train; 5 unlabelled.
    served = await serveTestProject({ labelled: 3, testSplit: true });
    page = served.page;
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await served?.close();
  }, STEP_TIMEOUT);

  it('starts an active-learning round and labels its first queued case', async () => {
    // Cases screen, "New round": a random round of 2 (no model needed yet), seeded.
    await page.waitForSelector('[data-testid="al-no-round"]', { timeout: 120_000 });
    await page.locator('[data-testid="al-strategy"]').selectOption('random');
    await page.locator('[data-testid="al-count"]').fill('2');
    await page.locator('[data-testid="al-seed"]').fill('3');
    await page.locator('[data-testid="al-start"]').click();
    await page.waitForSelector('[data-testid="al-pick-2"]', { timeout: 300_000 });
    const rounds = query<{ id: number; selected: string }>('SELECT id, selected FROM al_rounds');
    expect(rounds).toHaveLength(1);
    state.round = { id: rounds[0].id, selected: (JSON.parse(rounds[0].selected) as number[]).map(Number) };
    expect(state.round.selected).toHaveLength(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'full-loop-cases-1280x800.png') });

    await page.locator('[data-testid="label-next"]').click();
    await page.waitForFunction(() => /No label yet/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 120_000 });
    const opened = Number(/#\/label\/(\d+)/.exec(page.url())?.[1]);
    expect(opened).toBe(state.round.selected[0]);

    await page.locator('[data-testid="segment-1"]').click();
    await page.keyboard.press('b');
    await page.locator('[data-testid="brush-size"]').fill('3');
    await stroke(page, 'viewport-axial', [0.3, 0.45], [0.7, 0.5]);
    await page.locator('[data-testid="segment-2"]').click();
    await stroke(page, 'viewport-axial', [0.3, 0.6], [0.7, 0.62]);
    await settledCount(page, 'unsaved');
    await page.keyboard.press('Control+s');
    await waitText(page, 'status', /Saved version/);
    const manual = query<{ image_id: number; source: string }>("SELECT image_id, source FROM label_versions WHERE source = 'manual'");
    expect(manual).toEqual([{ image_id: state.round.selected[0], source: 'manual' }]);
    state.labelledImageId = manual[0].image_id;
  }, STEP_TIMEOUT);

  it('trains a few steps from the Training screen; the candidate is evaluated on the test split and the gate decides', async () => {
    await startTrainingFromUi(page, TINY);
    // An epoch point reaches the chart (pushed live by training:epoch), then the job ends with the gate's decision.
    await waitForEpochPoints(page, 1, STEP_TIMEOUT);
    const outcome = await waitForCandidate(page, STEP_TIMEOUT);
    const notice = outcome.notice;
    await page.screenshot({ path: path.join(ARTIFACTS, 'full-loop-training-1280x800.png') });
    const models = query<{ id: number; version: number; status: string; metrics: string }>('SELECT id, version, status, metrics FROM models');
    expect(models).toHaveLength(1);
    const m = models[0];
    state.modelId = m.id;
    state.modelVersion = m.version;
    expect(notice).toContain(`model v${m.version}`);
    // Evaluated on the frozen test split: one labelled test case, per-class Dice stored on the model.
    const metrics = JSON.parse(m.metrics) as { test: { cases: number; classes: { dice: number | null }[] } };
    expect(metrics.test.cases).toBe(1);
    expect(metrics.test.classes).toHaveLength(2);
    const testImage = query<{ id: number }>("SELECT id FROM images WHERE split = 'test'")[0].id;
    expect(query('SELECT id FROM predictions WHERE model_id = ? AND image_id = ?', m.id, testImage)).toHaveLength(1);
    // The decision is shown and recorded: promoted (first model, nothing to beat) or a stated reason.
    const promotedShown = /Promoted \(passed the gate\)/.test(notice);
    expect(promotedShown || /Not promoted:/.test(notice)).toBe(true);
    expect(m.status).toBe(promotedShown ? 'promoted' : 'candidate');
    const gateAudit = query<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'model' AND entity_id = ? AND action = 'model.gate'", m.id);
    expect(gateAudit.length).toBeGreaterThan(0);
    // The Models screen shows the same decision for this version.
    await openModels(page, m.version);
    const row = page.locator(`[data-testid="model-row-v${m.version}"]`);
    expect(await row.getAttribute('data-status')).toBe(m.status);
    expect(await row.locator('[data-testid="model-gate"]').textContent()).toBe(promotedShown ? 'passed' : 'refused');
    await page.screenshot({ path: path.join(ARTIFACTS, 'full-loop-models-1280x800.png') });
  }, STEP_TIMEOUT);

  it('runs predictions from the Review screen, accepts one with A and edits another with the mouse', async () => {
    await page.locator('[data-testid="nav-review"]').click();
    await page.waitForSelector('[data-testid="review-screen"]');
    await page.locator('[data-testid="predictions-run"]').click();
    const predicted = await waitText(page, 'predict-notice', /Predicted \d+ image/, STEP_TIMEOUT);
    expect(predicted).toContain(`model v${state.modelVersion}`);
    // Every unlabelled image outside the test split was predicted, with a TTA uncertainty map.
    const unlabelled = query<{ id: number }>("SELECT id FROM images WHERE split != 'test' AND id NOT IN (SELECT image_id FROM label_versions)");
    expect(unlabelled.length).toBe(4);
    const preds = query<{ id: number; image_id: number; model_id: number; uncertainty_path: string | null }>(
      'SELECT id, image_id, model_id, uncertainty_path FROM predictions WHERE image_id IN (' + unlabelled.map((u) => u.id).join(',') + ')',
    );
    expect(preds).toHaveLength(4);
    for (const p of preds) {
      expect(p.model_id).toBe(state.modelId);
      expect(p.uncertainty_path).toBeTruthy();
    }
    const loadedId = async (): Promise<string> => (await page.locator('[data-testid="review-screen"]').getAttribute('data-loaded-prediction')) ?? '';
    await expect.poll(loadedId, { timeout: 120_000 }).not.toBe('');
    const first = Number(await loadedId());
    await page.screenshot({ path: path.join(ARTIFACTS, 'full-loop-review-1280x800.png') });
    await page.keyboard.press('a');
    // The next prediction is open once its first frame is drawn (the attribute is empty while it loads).
    await expect.poll(async () => ['', String(first)].includes(await loadedId()), { timeout: 120_000 }).toBe(false);
    const second = Number(await loadedId());

    await page.locator('[data-testid="segment-1"]').click();
    await page.keyboard.press('b');
    await page.locator('[data-testid="brush-size"]').fill('4');
    await stroke(page, 'viewport-axial', [0.1, 0.45], [0.9, 0.5]);
    const edited = await settledCount(page, 'review-unsaved');
    await page.keyboard.press('s');
    await expect.poll(async () => ['', String(second)].includes(await loadedId()), { timeout: 120_000 }).toBe(false);

    const versions = query<{ source: string; model_id: number | null; image_id: number; voxels_changed: number | null; seconds_spent: number | null }>(
      "SELECT source, model_id, image_id, voxels_changed, seconds_spent FROM label_versions WHERE source IN ('ai_accepted', 'ai_edited') ORDER BY id",
    );
    const imageOf = new Map(preds.map((p) => [p.id, p.image_id]));
    expect(versions).toEqual([
      { source: 'ai_accepted', model_id: state.modelId, image_id: imageOf.get(first), voxels_changed: 0, seconds_spent: expect.any(Number) },
      { source: 'ai_edited', model_id: state.modelId, image_id: imageOf.get(second), voxels_changed: edited, seconds_spent: expect.any(Number) },
    ]);
    expect(versions[1].seconds_spent).toBeGreaterThan(0);
    const reviews = query<{ prediction_id: number; decision: string; label_version_id: number | null; seconds_spent: number | null }>(
      'SELECT prediction_id, decision, label_version_id, seconds_spent FROM reviews ORDER BY id',
    );
    expect(reviews.map((r) => [r.prediction_id, r.decision])).toEqual([
      [first, 'accept'],
      [second, 'edit'],
    ]);
    for (const r of reviews) {
      expect(r.label_version_id).not.toBeNull();
      expect(r.seconds_spent).not.toBeNull();
    }
  }, STEP_TIMEOUT);
});
