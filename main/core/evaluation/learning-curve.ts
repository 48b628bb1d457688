// Learning curves: each trained model version as one point, its test Dice against how much
// labelling it was trained on — the number of labelled images in its training run's snapshot
// (training_runs.data_snapshot.labelVersionIds) and the annotation minutes behind those labels.
//
// - Dice: mean foreground Dice over the model's predictions on the test split (computed here from
//   the prediction files, the same way as the evaluation report). Without test predictions, the
//   validation Dice the trainer stored on the model row (metrics.valMeanDice) is used and marked
//   'stored-validation': it picked the best epoch, so it is optimistic and not comparable.
// - Minutes: seconds_spent summed over each snapshot version AND its ancestors (parent chain): the
//   time spent on a first draft that was later corrected is part of what the label cost. Imported
//   labels record no time; they are counted, never given invented minutes. When some versions have
//   no time the total is a lower bound (minutesComplete = false); when none has, it is null.
import type { ProjectStore } from '../project';
import type { LabelSource, LabelVersionRow, ModelRow, ModelStatus } from '../project/types';
import { LABEL_SOURCES } from '../project/types';
import { buildEvaluationReport } from './report';

export type DiceSource = 'test-predictions' | 'stored-validation';

export interface LearningCurvePoint {
  modelId: number;
  version: number;
  status: ModelStatus;
  trainingRunId: number;
  createdAt: string;
  /** Distinct images in the training snapshot. */
  labelledImages: number;
  labelVersions: number;
  /** Snapshot versions by source. */
  bySource: Record<LabelSource, number>;
  /** Sum of recorded seconds / 60 over the snapshot versions and their ancestors; null when none recorded. */
  annotationMinutes: number | null;
  /** False when some of those versions have no recorded time (then the minutes are a lower bound). */
  minutesComplete: boolean;
  versionsWithTime: number;
  versionsWithoutTime: number;
  meanDice: number | null;
  perClassDice: Array<{ label: number; dice: number | null }>;
  diceSource: DiceSource | null;
  /** Test cases behind meanDice (0 for stored-validation). */
  evaluatedCases: number;
  evaluatedImageIds: number[];
  notes: string[];
}

export interface LearningCurve {
  split: 'test';
  points: LearningCurvePoint[];
  /** Models left out, with the reason (no training run, no Dice, leakage...). */
  excluded: Array<{ modelId: number; version: number; reason: string }>;
  /** True when every test-predictions point was measured on the same set of images. */
  sameTestCases: boolean;
  notes: string[];
}

function lineage(store: ProjectStore, v: LabelVersionRow, seen: Set<number>): LabelVersionRow[] {
  const out: LabelVersionRow[] = [];
  let cur: LabelVersionRow | null = v;
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    out.push(cur);
    cur = cur.parentId === null ? null : store.labelVersions.get(cur.parentId);
  }
  return out;
}

function storedValDice(m: ModelRow): number | null {
  const v = m.metrics?.valMeanDice;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export async function learningCurve(store: ProjectStore): Promise<LearningCurve> {
  const points: LearningCurvePoint[] = [];
  const excluded: LearningCurve['excluded'] = [];
  for (const model of store.models.list()) {
    if (model.trainingRunId === null) {
      excluded.push({ modelId: model.id, version: model.version, reason: 'no training run recorded: the amount of training data is unknown' });
      continue;
    }
    const run = store.trainingRuns.get(model.trainingRunId);
    if (!run) {
      excluded.push({ modelId: model.id, version: model.version, reason: `training run ${model.trainingRunId} is missing` });
      continue;
    }
    const snapshot = run.dataSnapshot.labelVersionIds.map((id) => store.labelVersions.get(id)).filter((v): v is LabelVersionRow => v !== null);
    const bySource = Object.fromEntries(LABEL_SOURCES.map((s) => [s, 0])) as Record<LabelSource, number>;
    for (const v of snapshot) bySource[v.source]++;
    const seen = new Set<number>();
    const all = snapshot.flatMap((v) => lineage(store, v, seen));
    const timed = all.filter((v) => v.secondsSpent !== null);
    const untimed = all.filter((v) => v.secondsSpent === null);
    const notes: string[] = [];
    if (untimed.length) {
      const srcs = [...new Set(untimed.map((v) => v.source))].join(', ');
      notes.push(
        timed.length
          ? `${untimed.length} of ${all.length} label versions (${srcs}) have no recorded time: minutes are a lower bound.`
          : `No label version has a recorded time (${srcs}): annotation minutes unknown.`,
      );
    }
    if (snapshot.length < run.dataSnapshot.labelVersionIds.length) notes.push(`${run.dataSnapshot.labelVersionIds.length - snapshot.length} snapshot label versions are missing from the project.`);

    let meanDice: number | null = null;
    let perClassDice: LearningCurvePoint['perClassDice'] = [];
    let diceSource: DiceSource | null = null;
    let evaluatedImageIds: number[] = [];
    try {
      const rep = await buildEvaluationReport(store, { modelId: model.id, split: 'test' });
      if (rep.primary.cases.length) {
        const mean = rep.primary.summary.overall.find((s) => s.label === 'mean');
        meanDice = mean?.metrics.dice.mean ?? null;
        perClassDice = rep.primary.summary.overall.filter((s) => s.label !== 'mean').map((s) => ({ label: s.label as number, dice: s.metrics.dice.mean }));
        diceSource = 'test-predictions';
        evaluatedImageIds = rep.primary.cases.map((c) => c.imageId).filter((id): id is number => id !== null);
      }
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === 'SPLIT_LEAKAGE' && /trained on/.test(e.message ?? '')) {
        excluded.push({ modelId: model.id, version: model.version, reason: e.message ?? 'trained on test patients' });
        continue;
      }
      throw err;
    }
    if (diceSource === null) {
      const stored = storedValDice(model);
      if (stored !== null) {
        meanDice = stored;
        diceSource = 'stored-validation';
        notes.push('No test predictions: Dice is the validation Dice stored at training (chose the best epoch, so optimistic; not comparable with test Dice).');
      }
    }
    if (diceSource === null) {
      excluded.push({ modelId: model.id, version: model.version, reason: 'no predictions on the test split and no stored validation Dice' });
      continue;
    }
    points.push({
      modelId: model.id,
      version: model.version,
      status: model.status,
      trainingRunId: run.id,
      createdAt: model.createdAt,
      labelledImages: new Set(snapshot.map((v) => v.imageId)).size,
      labelVersions: snapshot.length,
      bySource,
      annotationMinutes: timed.length ? timed.reduce((s, v) => s + (v.secondsSpent ?? 0), 0) / 60 : null,
      minutesComplete: untimed.length === 0,
      versionsWithTime: timed.length,
      versionsWithoutTime: untimed.length,
      meanDice,
      perClassDice,
      diceSource,
      evaluatedCases: evaluatedImageIds.length,
      evaluatedImageIds,
      notes,
    });
  }
  points.sort((a, b) => a.labelledImages - b.labelledImages || a.version - b.version);
  const testSets = points.filter((p) => p.diceSource === 'test-predictions').map((p) => [...p.evaluatedImageIds].sort((x, y) => x - y).join(','));
  const sameTestCases = new Set(testSets).size <= 1;
  const notes: string[] = [];
  if (!sameTestCases) notes.push('Models were evaluated on different sets of test images: points are not strictly comparable. Predict every model on the whole test split.');
  if (points.some((p) => p.diceSource === 'stored-validation') && points.some((p) => p.diceSource === 'test-predictions')) {
    notes.push('The curve mixes test Dice and stored validation Dice: read them as two series.');
  }
  if (points.some((p) => p.annotationMinutes === null)) notes.push('Points without recorded annotation time (imported labels) are left off the minutes axis.');
  return { split: 'test', points, excluded, sameTestCases, notes };
}
