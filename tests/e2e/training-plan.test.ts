/// <reference lib="dom" />
// Browser end-to-end of issue 14's "why this plan": before any run the Training screen shows the
// plan proposed from the data and this machine (architecture, patch, batch, spacing) with the
// plan's why lines, which say what was measured here (a real run's step timing, seeded from
// tests/fixtures/step-timings into the project) -- the same lines the product's planner computes
// in this process for the same project. Then a tiny training shows its backend as soon as the
// worker reports it (before any epoch point), and once cancelled its detail shows what its steps
// measured, as recorded in the project database. Assertions are on the UI and the DB, never on time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCases, nativeConvAvailable, planContextFor, planFromCases } from '../../main/core/jobs/train-job';
import { machineId } from '../../main/core/ml/plan';
import { StepTiming } from '../../main/core/ml/trainer-callbacks';
import { missingPrerequisite } from './harness';
import { cancelTrainingFromUi, epochsShown, openTraining, queryDb, screenshots, serveTestProject, startTrainingFromUi, waitText, type ServedTestProject } from './loop-steps';
import { ROOT } from './test-project';

const STEP_TIMEOUT = 900_000;
const skipReason = missingPrerequisite();
const FIXTURE = path.join(ROOT, 'tests/fixtures/step-timings/hippocampus-unet3d-native.json');

describe.skipIf(skipReason !== null)(`Training screen: why this plan, measured${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let served: ServedTestProject;
  let page: Page;
  let dir = '';
  let why: string[] = [];
  let seededRun = 0;
  const timing = StepTiming.parse((JSON.parse(readFileSync(FIXTURE, 'utf8')) as { timing: unknown }).timing);

  beforeAll(async () => {
    served = await serveTestProject({
      labelled: 3,
      prepare: async (store) => {
        // A finished earlier run that measured the hippocampus 3D step on this machine (on the
        // convolution path this machine has, so the planner may use it).
        const run = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
        store.trainingRuns.markRunning(run.id, timing.backend);
        store.trainingRuns.recordStepTiming(run.id, { ...timing, nativeConv: await nativeConvAvailable(), machine: machineId() });
        store.trainingRuns.finish(run.id, 'completed');
        seededRun = run.id;
        // What the planner says for this project now (training:plan samples the same cases, 30 minutes).
        const { cases } = await collectCases(store, null, false);
        const modality = store.images.require(Number(cases[0].id.slice('image-'.length))).modality;
        const numClasses = Math.max(2, ...store.labelSchema.list().map((c) => c.idx + 1));
        why = (await planFromCases(cases.slice(0, 50), numClasses, modality, await planContextFor(store, { minutes: 30 }))).plan.why;
      },
    });
    ({ page, dir } = served);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await served?.close();
  }, STEP_TIMEOUT);

  it('before any run: the proposed plan and its why lines, naming the step measured on this machine', async () => {
    await openTraining(page);
    await page.waitForSelector('[data-testid="plan-why"] li');
    const summary = (await page.locator('[data-testid="plan-summary"]').textContent()) ?? '';
    expect(summary).toMatch(/^unet3d \(3D\) · patch \d+×\d+×\d+ · batch \d+ · depth \d, width \d+ · spacing [\d.]+ × [\d.]+ × [\d.]+ mm$/);
    const shown = await page.locator('[data-testid="plan-why"] li').allTextContents();
    expect(shown).toEqual(why);
    // The first line: nnU-Net's 3D rule, and the seeded run's measured step (exact shape, or scaled to this project's patch).
    const s = timing.medianStepSeconds;
    const sec = s >= 0.1 ? `${s.toFixed(2)} s` : `${Number((s * 1000).toPrecision(2))} ms`;
    expect(shown[0]).toMatch(/^3D U-Net: spacing isotropic \([\d.]+ x [\d.]+ x [\d.]+ mm, ratio [\d.]+ <= 3: nnU-Net picks 3D\); /);
    expect(shown[0]).toMatch(new RegExp(`(measured on this machine: ${sec} per step of 2 x 40x56x40 \\(run ${seededRun}, |scaled from run ${seededRun}'s measured ${sec} per step of 2 x 40x56x40 )`));
    expect(shown[0]).toMatch(/-> ~[\d,]+ steps in a 30-minute budget$/);
    const badge = (await page.locator('[data-testid="plan-step-source"]').textContent()) ?? '';
    expect(badge).toMatch(new RegExp(`(measured|scaled from) .*run ${seededRun}`));
    // The architecture select holds the plan's choice; the earlier run's detail shows what it measured.
    expect(await page.locator('[data-testid="opt-architecture"]').inputValue()).toBe('unet3d');
    expect(await waitText(page, 'run-measured', /Measured: /)).toContain(`of 2 × 40×56×40, width 16, depth 4 · ${timing.threads} threads, ${timing.backend}`);
    await screenshots(page, 'training-plan-why');
  }, STEP_TIMEOUT);

  it('a run shows its backend before its first epoch ends, and once cancelled what its steps measured', async () => {
    await startTrainingFromUi(page, { epochs: 1000, stepsPerEpoch: 400 });
    const early = await page.waitForFunction(
      () => {
        const facts = document.querySelector('[data-testid="train-backend"]')?.textContent ?? '';
        const points = Number(document.querySelector('[data-testid="train-chart-points"]')?.getAttribute('data-points') ?? 0);
        return /Backend: (?!starting…|—)\S/.test(facts) ? { facts, points } : null;
      },
      null,
      { timeout: STEP_TIMEOUT, polling: 200 },
    );
    const v = (await early.jsonValue()) as { facts: string; points: number };
    expect(v.points).toBe(0);
    expect(v.facts).toMatch(/Backend: (wasm|cpu|tensorflow)/);
    // Three steps or more, so the cancelled epoch's step times are recorded.
    await waitText(page, 'train-step-live', /step ([3-9]|\d\d+)\/400/, STEP_TIMEOUT);
    expect(await epochsShown(page)).toBe(0);
    await cancelTrainingFromUi(page);
    const rows = queryDb<{ training_run_id: number; dims: number; patch_size: string; batch_size: number; base_width: number; depth: number; steps: number; median_step_seconds: number }>(
      dir,
      'SELECT * FROM training_step_timings ORDER BY id',
    );
    expect(rows).toHaveLength(2);
    const r = rows[1];
    expect(r).toMatchObject({ dims: 2, patch_size: '[32,32]', batch_size: 2, base_width: 4, depth: 2 });
    expect(r.steps).toBeGreaterThanOrEqual(3);
    const measured = await waitText(page, 'run-measured', /Measured: /);
    const ms = r.median_step_seconds;
    const fmt = ms < 1 ? `${Math.round(ms * 1000)} ms` : `${ms.toFixed(2)} s`;
    expect(measured).toContain(`Measured: ${fmt} per step (median of steps 2–${r.steps} of epoch 1;`);
    expect(measured).toContain('of 2 × 32×32, width 4, depth 2');
    await screenshots(page, 'training-plan-measured');
  }, STEP_TIMEOUT);
});
