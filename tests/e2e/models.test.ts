/// <reference lib="dom" />
// Browser end-to-end of the Models screen's decisions (HTTP transport, real mouse and keyboard):
// a worse candidate is refused by the promotion gate and the screen says why (the model in use
// stays); the override needs a typed reason and is audited with it; rollback returns to an
// earlier version; two versions are compared in a chart. Model rows carry stored test metrics
// (the gate reads only those), so no training is needed here (tests/e2e/training.test.ts trains).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../main/core/project/types';
import { missingPrerequisite } from './harness';
import { openModels, queryDb, screenshots as shots, serveTestProject, waitText, type ServedTestProject } from './loop-steps';

const TIMEOUT = 300_000;
const skipReason = missingPrerequisite();

function testMetrics(mean: number, a: number, b: number): JsonObject {
  return {
    valMeanDice: mean + 0.01,
    backend: 'wasm (simd)',
    test: {
      cases: 2,
      meanDice: mean,
      meanHd95: 2.5,
      classes: [
        { name: 'anterior hippocampus', dice: a, hd95: 2.2 },
        { name: 'posterior hippocampus', dice: b, hd95: 2.8 },
      ],
      evaluatedAt: new Date().toISOString(),
    },
  };
}

const statusOf = (dir: string, id: number): string => queryDb<{ status: string }>(dir, 'SELECT status FROM models WHERE id = ?', id)[0].status;

describe.skipIf(skipReason !== null)(`Models screen decisions in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let served: ServedTestProject;
  let dir = '';
  let page: Page;
  const ids = { v1: 0, v2: 0 };

  beforeAll(async () => {
    served = await serveTestProject({
      labelled: 2,
      prepare: async (store) => {
        const make = async (metrics: JsonObject, parentId: number | null): Promise<number> => {
          const m = store.models.create({ architecture: 'unet2d', config: {}, metrics, parentId });
          await store.addModelWeightsFile(m.id, new Uint8Array([1, 2, 3, m.id]));
          return m.id;
        };
        ids.v1 = await make(testMetrics(0.8, 0.81, 0.79), null);
        store.models.recordGate(store.models.gate(ids.v1));
        store.models.promote(ids.v1, { reason: 'first model' });
        // 0.06 lower mean (tolerance 0.01), posterior drops 0.09 (margin 0.05): the gate must refuse it.
        ids.v2 = await make(testMetrics(0.74, 0.79, 0.7), ids.v1);
      },
    });
    ({ dir, page } = served);
  }, TIMEOUT);

  afterAll(async () => {
    await served?.close();
  }, TIMEOUT);

  it('refuses to promote a worse candidate, says why, and keeps the model in use', async () => {
    await openModels(page, 2);
    expect(await page.locator('[data-testid="model-in-use"]').textContent()).toContain('In use: v1');
    await page.locator('[data-testid="promote-v2"]').click();
    await page.waitForSelector('[data-testid="pending-action"]');
    const reasons = await waitText(page, 'gate-reasons', /worse by more than the tolerance/);
    expect(reasons).toMatch(/posterior hippocampus: test Dice drops by 0\.090/);
    expect(statusOf(dir, ids.v1)).toBe('promoted');
    expect(statusOf(dir, ids.v2)).toBe('candidate');
    // The refusal is a recorded decision.
    const gate = queryDb<{ details: string }>(dir, "SELECT details FROM audit_log WHERE action = 'model.gate' AND entity_id = ?", ids.v2);
    expect(gate.map((g) => (JSON.parse(g.details) as { allowed: boolean }).allowed)).toContain(false);
    expect(await page.locator('[data-testid="model-row-v2"] [data-testid="model-gate"]').textContent()).toBe('refused');
    // The override cannot be sent without a reason.
    expect(await page.locator('[data-testid="override-confirm"]').isDisabled()).toBe(true);
    await page.locator('[data-testid="override-reason"]').click();
    await page.keyboard.type('   ');
    expect(await page.locator('[data-testid="override-confirm"]').isDisabled()).toBe(true);
    expect(queryDb(dir, "SELECT id FROM audit_log WHERE action = 'model.promote' AND entity_id = ?", ids.v2)).toHaveLength(0);
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
    await shots(page, 'models-gate-refused');
  }, TIMEOUT);

  it('promotes it anyway only with a typed reason, audited as an override', async () => {
    await page.locator('[data-testid="override-reason"]').fill('');
    await page.locator('[data-testid="override-reason"]').click();
    await page.keyboard.type('v1 misses the new scanner; 12 cases checked by eye');
    await page.locator('[data-testid="override-confirm"]').click();
    await waitText(page, 'models-notice', /v2 is now the model in use \(gate overridden/);
    expect(statusOf(dir, ids.v2)).toBe('promoted');
    expect(statusOf(dir, ids.v1)).toBe('retired');
    const audit = queryDb<{ actor: string; details: string }>(dir, "SELECT actor, details FROM audit_log WHERE action = 'model.promote' AND entity_id = ?", ids.v2);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].details)).toMatchObject({ override: true, reason: 'v1 misses the new scanner; 12 cases checked by eye', previous: { id: ids.v1 } });
    await page.locator('[data-testid="model-row-v2"]').click();
    expect(await waitText(page, 'model-decision', /gate overridden/)).toContain('v1 misses the new scanner');
  }, TIMEOUT);

  it('rolls back to the earlier version from the screen (audited)', async () => {
    await page.locator('[data-testid="rollback-v1"]').click();
    await page.locator('[data-testid="rollback-reason"]').click();
    await page.keyboard.type('back to the validated model');
    await page.locator('[data-testid="rollback-confirm"]').click();
    await waitText(page, 'models-notice', /Rolled back: v1 is the model in use again/);
    expect(statusOf(dir, ids.v1)).toBe('promoted');
    expect(statusOf(dir, ids.v2)).toBe('retired');
    const audit = queryDb<{ details: string }>(dir, "SELECT details FROM audit_log WHERE action = 'model.rollback' AND entity_id = ?", ids.v1);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].details)).toMatchObject({ reason: 'back to the validated model', rolledBack: { id: ids.v2 } });
    expect(await page.locator('[data-testid="model-in-use"]').textContent()).toContain('In use: v1');
    // Compared in a chart, with what the gate would say.
    await page.locator('[data-testid="compare-a"]').selectOption(String(ids.v1));
    await page.locator('[data-testid="compare-b"]').selectOption(String(ids.v2));
    expect(await waitText(page, 'compare', /Gate would refuse v2 over v1/)).toMatch(/worse by more than the tolerance/);
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
    await shots(page, 'models');
  }, TIMEOUT);
});
