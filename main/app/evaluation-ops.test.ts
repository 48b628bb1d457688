// The evaluation operations through the real dispatcher (schema-checked input and output) on the
// FIXTURE project of tests/integration/report-fixture.ts (predictions = shifted reference labels).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvaluationReport } from '../core/evaluation/report';
import { makeEvalProject, TEST_CASES, type EvalFixture } from '../../tests/integration/report-fixture';
import type { OperationName, OpInput, OpOutput } from '../../shared/contract';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

let dir: string;
let fx: EvalFixture;
let app: ProjectApp;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-eval-ops-'));
  fx = await makeEvalProject(dir);
  app = await openProjectApp(dir, { transport: 'http', author: 'dr-ops' });
}, 120_000);

afterAll(() => {
  app?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
  const r = await dispatch(app.handlers, name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as OpOutput<N>;
}

describe('evaluation operations', () => {
  it('evaluation:models lists versions with prediction counts', async () => {
    const out = await call('evaluation:models', {});
    expect(out.models.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(out.models[0]).toMatchObject({ id: String(fx.v1.id), testPredictions: TEST_CASES.length, hasWeights: true, valMeanDice: 0.7 });
    expect(out.promotedId).toBeNull();
    expect(out.rollbackTargetId).toBeNull();
  });

  it('evaluation:report carries the core numbers unchanged', async () => {
    const view = await call('evaluation:report', { modelId: String(fx.v1.id), compareModelId: String(fx.v2.id) });
    const core = await buildEvaluationReport(app.store, { modelId: fx.v1.id, compareModelId: fx.v2.id });
    expect(view.primary.cases).toHaveLength(TEST_CASES.length);
    const mean = core.primary.summary.overall.find((s) => s.label === 'mean');
    expect(view.primary.overall.find((r) => r.label === null)?.diceMean).toBe(mean?.metrics.dice.mean);
    expect(view.primary.worst[0].imageId).toBe(core.primary.summary.worst[0].caseId);
    const diceMean = view.comparison?.rows.find((r) => r.metric === 'dice' && r.label === null);
    expect(diceMean?.ci).toEqual(core.comparison?.dice.classes.find((k) => k.label === 'mean')?.ci);
  });

  it('evaluation:export returns HTML/CSV/JSON text; bad input is refused by the schema', async () => {
    const html = await call('evaluation:export', { modelId: String(fx.v2.id), format: 'html' });
    expect(html.mimeType).toBe('text/html');
    expect(html.content).not.toMatch(/http/i);
    const csv = await call('evaluation:export', { modelId: String(fx.v2.id), format: 'csv' });
    expect(csv.content.trim().split('\r\n')).toHaveLength(1 + TEST_CASES.length * 2);
    await expect(call('evaluation:export', { modelId: String(fx.v2.id), format: 'pdf' } as unknown as OpInput<'evaluation:export'>)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(call('evaluation:report', { modelId: '../1' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(call('evaluation:report', { modelId: '77' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('evaluation:learningCurve, models:promote and models:rollback (audited with the app author)', async () => {
    const lc = await call('evaluation:learningCurve', {});
    expect(lc.points.map((p) => p.labelledImages)).toEqual([2, 4]);
    await call('models:promote', { modelId: String(fx.v1.id) });
    const p2 = await call('models:promote', { modelId: String(fx.v2.id), reason: 'better' });
    expect(p2.retired?.id).toBe(String(fx.v1.id));
    expect((await call('evaluation:models', {})).rollbackTargetId).toBe(String(fx.v1.id));
    const rb = await call('models:rollback', {});
    expect(rb.promoted.id).toBe(String(fx.v1.id));
    const last = app.store.audit.list({ action: 'model.rollback' });
    expect(last).toHaveLength(1);
    expect(last[0].actor).toBe('dr-ops');
  });
});
