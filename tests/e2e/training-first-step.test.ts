/// <reference lib="dom" />
// Browser end-to-end of issue 17's "the first step is visible": training started from the Training
// screen shows, during the first epoch (no epoch point on the charts yet), the step count, the
// measured step time against the plan's estimate, the time left in the epoch, an ETA, and the
// slow-step warning. The warning is deterministic here: the plan's cost model is per voxel at
// width >= 16, and the tiny width-4 network's steps are dominated by fixed overheads, so they are
// always far above its (microsecond) estimate. Assertions are on the UI, never on time.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite } from './harness';
import { cancelTrainingFromUi, epochsShown, screenshots, serveTestProject, startTrainingFromUi, type ServedTestProject } from './loop-steps';

const STEP_TIMEOUT = 900_000;
const skipReason = missingPrerequisite();

describe.skipIf(skipReason !== null)(`Training screen: the first step is visible${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let served: ServedTestProject;
  let page: Page;

  beforeAll(async () => {
    served = await serveTestProject({ labelled: 2 });
    ({ page } = served);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await served?.close();
  }, STEP_TIMEOUT);

  it('shows step, step time vs plan, time left in the epoch, ETA and the slow-step warning before the first epoch ends', async () => {
    // A long first epoch, so that it is still running while the screen is read.
    await startTrainingFromUi(page, { epochs: 1000, stepsPerEpoch: 400 });
    const seen = await page.waitForFunction(
      () => {
        const live = document.querySelector('[data-testid="train-step-live"]')?.textContent ?? '';
        const warn = document.querySelector('[data-testid="train-slow-warning"]')?.textContent ?? '';
        const eta = document.querySelector('[data-testid="train-eta"]')?.textContent ?? '';
        const points = Number(document.querySelector('[data-testid="train-chart-points"]')?.getAttribute('data-points') ?? 0);
        return /epoch 1\/1000 step \d+\/400/.test(live) && warn && /left/.test(eta) ? { live, warn, eta, points } : null;
      },
      null,
      { timeout: STEP_TIMEOUT, polling: 200 },
    );
    const v = (await seen.jsonValue()) as { live: string; warn: string; eta: string; points: number };
    // All of it during the first epoch: no epoch point yet.
    expect(v.points).toBe(0);
    expect(v.live).toMatch(/\d+(\.\d+)? m?s per step \(plan ~[\d.]+ m?s\)/);
    expect(v.live).toMatch(/epoch 1 steps done in ~/);
    expect(v.warn).toMatch(/^⚠ steps [\d.]+x slower than planned \([\d.]+ m?s\): try /);
    expect(await epochsShown(page)).toBe(0);
    await screenshots(page, 'training-first-step');
    await cancelTrainingFromUi(page);
  }, STEP_TIMEOUT);
});
