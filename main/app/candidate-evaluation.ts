// After training: the new candidate predicts the project's frozen test split, the evaluation
// report measures it against the reference labels, the per-class Dice/HD95 are stored on the
// model (metrics.test), and the promotion gate decides (recorded; promoted automatically only
// when the gate allows it and the project's settings say so).
import type { JobContext } from '../core/jobs/job-queue';
import { predictWithin } from '../core/jobs/ml-jobs';
import { buildEvaluationReport } from '../core/evaluation/report';
import type { ProjectStore } from '../core/project';
import type { GateDecision, StoredTestEvaluation } from '../core/project/model-repository';
import type { JsonObject, ModelRow } from '../core/project/types';

export interface CandidateVerdict {
  model: ModelRow;
  test: StoredTestEvaluation | null;
  testNote: string | null;
  gate: GateDecision;
  promoted: boolean;
}

/** Test images with a reference label (newest non-pseudo version). */
export function labelledTestImages(store: ProjectStore): number[] {
  const latest = new Map(store.labelVersions.latestPerImage().filter((v) => v.source !== 'pseudo').map((v) => [v.imageId, v]));
  return store.images.list({ split: 'test' }).filter((i) => latest.has(i.id)).map((i) => i.id);
}

export async function evaluateOnTestSplit(store: ProjectStore, model: ModelRow, ctx: JobContext, actor: string): Promise<{ test: StoredTestEvaluation | null; note: string | null }> {
  const ids = labelledTestImages(store);
  if (!ids.length) {
    return { test: null, note: 'The project has no labelled images in its test split: create the split (Diagnostics) and label test cases to measure models.' };
  }
  ctx.report({ fraction: 0.9, message: `Evaluating v${model.version} on the test split (${ids.length} image${ids.length > 1 ? 's' : ''})`, etaSeconds: null });
  await predictWithin(ctx, store, { modelIds: [model.id], imageIds: ids, tta: false, actor }, { from: 0.9, to: 0.99 });
  const test = await testMetricsFromPredictions(store, model.id);
  return { test, note: test.cases ? null : 'No test case could be evaluated (see the Evaluation screen).' };
}

export async function evaluateCandidate(store: ProjectStore, model: ModelRow, ctx: JobContext, actor: string): Promise<CandidateVerdict> {
  const { test, note } = await evaluateOnTestSplit(store, model, ctx, actor);
  const fresh = store.models.require(model.id);
  let row = store.models.setMetrics(model.id, { ...(fresh.metrics ?? {}), test: test as unknown as JsonObject, testNote: note }, { actor });
  const gate = store.models.gate(row.id);
  row = store.models.recordGate(gate, { actor });
  let promoted = false;
  if (gate.allowed && store.models.gateSettings().autoPromote) {
    row = store.models.promote(row.id, { actor, reason: 'Automatic after training: passed the promotion gate.' }).promoted;
    promoted = true;
  }
  return { model: row, test, testNote: note, gate, promoted };
}

/**
 * Test metrics from the model's stored test-split predictions, for models that were not
 * evaluated after training (trained by the CLI, imported, or older): computed once and stored.
 * Null when some labelled test image has no prediction of this model (nothing is guessed).
 */
export async function ensureTestMetrics(store: ProjectStore, model: ModelRow, actor: string): Promise<ModelRow> {
  const row = store.models.require(model.id);
  if (row.metrics && 'test' in row.metrics && row.metrics.test !== null) return row;
  const ids = labelledTestImages(store);
  if (!ids.length) return row;
  const predicted = new Set(store.predictions.listForModel(row.id).map((p) => p.imageId));
  if (!ids.every((id) => predicted.has(id))) return row;
  const test = await testMetricsFromPredictions(store, row.id);
  return store.models.setMetrics(row.id, { ...(row.metrics ?? {}), test: test as unknown as JsonObject, testNote: 'Computed from stored test-split predictions.' }, { actor });
}

/** The evaluation report's numbers on the test split, in the shape stored on the model. */
async function testMetricsFromPredictions(store: ProjectStore, modelId: number): Promise<StoredTestEvaluation> {
  const report = await buildEvaluationReport(store, { modelId, split: 'test' });
  const overall = report.primary.summary.overall;
  const mean = overall.find((s) => s.label === 'mean');
  return {
    cases: report.primary.cases.length,
    meanDice: mean?.metrics.dice.mean ?? null,
    meanHd95: mean?.metrics.hd95.mean ?? null,
    classes: report.classes.map((c) => {
      const s = overall.find((o) => o.label === c.label);
      return { name: c.name, dice: s?.metrics.dice.mean ?? null, hd95: s?.metrics.hd95.mean ?? null };
    }),
    evaluatedAt: new Date().toISOString(),
  };
}
