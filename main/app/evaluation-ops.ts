// Handlers of the 'evaluation:*' and 'models:*' operations: the evaluation screen's report view,
// the learning curve, report downloads (HTML/CSV/JSON as text) and promote/rollback. The numbers
// come from main/core/evaluation unchanged; this file only reshapes them for the wire.
import type { z } from 'zod';
import type { EvaluationModel, EvaluationReportView, LearningCurveView, ModelEvaluationView, PairedRow } from '../../shared/evaluation-schema';
import { SegloopError } from '../../shared/errors';
import { parseDbId } from '../core/base/ids';
import type { ClassSummary } from '../core/evaluation/aggregate';
import type { PairedComparison } from '../core/evaluation/compare';
import { learningCurve } from '../core/evaluation/learning-curve';
import { buildEvaluationReport, type EvaluationReport, type ModelEvaluation } from '../core/evaluation/report';
import { exportReport } from '../core/evaluation/report-export';
import type { ModelRow, ProjectStore } from '../core/project';
import type { Handlers } from './dispatch';

// Promote/rollback moved to the model registry (models-ops.ts, core/project/model-repository.ts).
export type EvaluationOps = Pick<Handlers, 'evaluation:models' | 'evaluation:report' | 'evaluation:learningCurve' | 'evaluation:export'>;

function modelId(id: string): number {
  return parseDbId(id, 'MODEL_NOT_FOUND', 'model');
}

function modelView(store: ProjectStore, m: ModelRow): EvaluationModel {
  const preds = store.predictions.listForModel(m.id);
  const testIds = new Set(store.images.list({ split: 'test' }).map((i) => i.id));
  const val = m.metrics?.valMeanDice;
  return {
    id: String(m.id),
    version: m.version,
    status: m.status,
    architecture: m.architecture,
    createdAt: m.createdAt,
    predictions: preds.length,
    testPredictions: new Set(preds.filter((p) => testIds.has(p.imageId)).map((p) => p.imageId)).size,
    hasWeights: m.weightsPath !== null,
    valMeanDice: typeof val === 'number' && Number.isFinite(val) ? val : null,
  };
}

function summaryRow(s: ClassSummary): ModelEvaluationView['overall'][number] {
  return {
    label: s.label === 'mean' ? null : s.label,
    n: s.metrics.dice.n,
    diceMean: s.metrics.dice.mean,
    diceStd: s.metrics.dice.std,
    diceMedian: s.metrics.dice.median,
    hd95Mean: s.metrics.hd95.mean,
    hd95N: s.metrics.hd95.n,
    emptyBoth: s.emptyCounts.both,
    emptyPred: s.emptyCounts.pred,
    emptyRef: s.emptyCounts.ref,
  };
}

export function evaluationView(ev: ModelEvaluation): ModelEvaluationView {
  const s = ev.summary;
  const byId = new Map(ev.cases.map((c) => [c.caseId, c]));
  return {
    model: { id: String(ev.model.id), version: ev.model.version, status: ev.model.status, architecture: ev.model.architecture },
    cases: ev.cases.map((c) => ({
      imageId: String(c.imageId ?? c.caseId),
      image: c.image,
      patient: c.patient,
      site: c.site,
      referenceSource: c.referenceSource,
      referenceFromModel: c.referenceFromModel,
      patientInTraining: c.patientInTraining,
      classes: c.metrics.classes.map((k) => ({ label: k.label, dice: k.dice, iou: k.iou, hd95: k.hd95, assd: k.assd, refVolumeMm3: k.refVolumeMm3, predVolumeMm3: k.predVolumeMm3, empty: k.empty })),
      meanDice: c.metrics.mean.dice,
      meanHd95: c.metrics.mean.hd95,
      measurements: c.measurements,
    })),
    skipped: ev.skipped.map((k) => ({ imageId: String(k.imageId), image: k.image, reason: k.reason })),
    overall: s.overall.map(summaryRow),
    bySite: s.bySite.map((b) => ({ site: b.site, cases: b.caseIds.length, rows: b.overall.map(summaryRow) })),
    bySize: s.bySize.flatMap((z) =>
      z.strata.map((st) => ({
        label: z.label,
        stratum: st.stratum,
        rangeMm3:
          z.cutsMm3 === null || st.stratum === 'absent'
            ? null
            : ((st.stratum === 'small' ? [null, z.cutsMm3[0]] : st.stratum === 'medium' ? [z.cutsMm3[0], z.cutsMm3[1]] : [z.cutsMm3[1], null]) as [number | null, number | null]),
        cases: st.caseIds.length,
        diceMean: st.summary.metrics.dice.mean,
        hd95Mean: st.summary.metrics.hd95.mean,
      })),
    ),
    patients: s.patients.map((p) => {
      const mean = p.perClass.find((x) => x.label === 'mean');
      return { patient: p.patientId, sites: p.sites, cases: p.caseIds.length, meanDice: mean?.dice ?? null, meanHd95: mean?.hd95 ?? null };
    }),
    worst: s.worst.map((w) => ({ imageId: w.caseId, image: byId.get(w.caseId)?.image ?? w.caseId, patient: w.patientId, site: w.site, meanDice: w.meanDice, dice: w.dice })),
    measurements: ev.measurements,
  };
}

function pairedRows(p: PairedComparison, metric: 'dice' | 'hd95'): z.infer<typeof PairedRow>[] {
  return p.classes.map((k) => ({
    metric,
    label: k.label === 'mean' ? null : k.label,
    n: k.n,
    excluded: k.excluded,
    meanA: k.meanA,
    meanB: k.meanB,
    meanDiff: k.meanDiff,
    ci: k.ci,
    wins: k.wins,
    losses: k.losses,
    ties: k.ties,
  }));
}

export function reportView(r: EvaluationReport): EvaluationReportView {
  if (r.split === 'external') throw new SegloopError('INTERNAL_ERROR', 'External-data reports are CLI-only: the app shows reports on project images.');
  return {
    split: r.split,
    imagesConsidered: r.imagesConsidered,
    referenceSources: r.referenceSources,
    classes: r.classes,
    primary: evaluationView(r.primary),
    secondary: r.secondary ? evaluationView(r.secondary) : null,
    comparison: r.comparison
      ? { matched: r.comparison.dice.matched, resamples: r.comparison.dice.resamples, seed: r.comparison.dice.seed, rows: [...pairedRows(r.comparison.dice, 'dice'), ...pairedRows(r.comparison.hd95, 'hd95')] }
      : null,
    conventions: r.conventions,
    warnings: r.warnings,
  };
}

export function evaluationOps(deps: { store: ProjectStore }): EvaluationOps {
  const { store } = deps;
  const build = (q: { modelId: string; compareModelId?: string | null; split: EvaluationReportView['split'] }): Promise<EvaluationReport> =>
    buildEvaluationReport(store, { modelId: modelId(q.modelId), compareModelId: q.compareModelId ? modelId(q.compareModelId) : null, split: q.split });
  return {
    async 'evaluation:models'() {
      const models = store.models.list().map((m) => modelView(store, m));
      const promoted = store.models.promoted();
      const prev = store.models.previousPromoted();
      return { models, promotedId: promoted ? String(promoted.id) : null, rollbackTargetId: prev ? String(prev.id) : null };
    },
    async 'evaluation:report'(input) {
      return reportView(await build(input));
    },
    async 'evaluation:learningCurve'() {
      const lc = await learningCurve(store);
      return {
        points: lc.points.map((p) => ({
          modelId: String(p.modelId),
          version: p.version,
          status: p.status,
          labelledImages: p.labelledImages,
          labelVersions: p.labelVersions,
          annotationMinutes: p.annotationMinutes,
          minutesComplete: p.minutesComplete,
          meanDice: p.meanDice,
          diceSource: p.diceSource,
          evaluatedCases: p.evaluatedCases,
          notes: p.notes,
        })),
        excluded: lc.excluded.map((e) => ({ modelId: String(e.modelId), version: e.version, reason: e.reason })),
        sameTestCases: lc.sameTestCases,
        notes: lc.notes,
      } satisfies LearningCurveView;
    },
    async 'evaluation:export'(input) {
      const report = await build(input);
      const lc = input.format === 'csv' ? undefined : await learningCurve(store);
      return exportReport(report, input.format, lc ? { learningCurve: lc } : {});
    },
  };
}
