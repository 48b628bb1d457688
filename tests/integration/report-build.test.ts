// Evaluation report, exports, learning curve, promote/rollback and leakage refusals on a project
// of real hippocampus cases whose "predictions" are FIXTURES (reference labels shifted by 2 or 1 voxels,
// see report-fixture.ts). Numbers are checked against segmentationMetrics + summarizeEvaluation
// run independently on the same files, and against numpy/scipy via nibabel.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeEvaluation, type CaseRecord } from '../../main/core/evaluation/aggregate';
import { comparePaired } from '../../main/core/evaluation/compare';
import { learningCurve } from '../../main/core/evaluation/learning-curve';
import { segmentationMetrics } from '../../main/core/evaluation/metrics';
import { buildEvaluationReport, type EvaluationReport } from '../../main/core/evaluation/report';
import { CSV_COLUMNS, exportReport, reportToCsv, reportToHtml, reportToJson } from '../../main/core/evaluation/report-export';
import { previousPromoted, promoteModel, rollbackModel } from '../../main/core/evaluation/report-model-actions';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project';
import { labelBytes, makeEvalProject, TEST_CASES, TRAIN_CASES, V1_EMPTY_CLASS2, type EvalFixture } from './report-fixture';

const PY = '/usr/bin/python3';
const REF = new URL('./ref/report_ref.py', import.meta.url).pathname;

let dir: string;
let fx: EvalFixture;
let store: ProjectStore;
let report: EvaluationReport;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-report-'));
  fx = await makeEvalProject(dir);
  store = await ProjectStore.open(dir);
  report = await buildEvaluationReport(store, { modelId: fx.v1.id, compareModelId: fx.v2.id, bootstrap: { resamples: 500, seed: 7 } });
}, 120_000);

afterAll(() => {
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else if (ch !== '\r') cell += ch;
  }
  return rows;
}

describe('buildEvaluationReport on the fixture project', () => {
  it('evaluates every test image for both models, with nothing skipped', () => {
    expect(report.split).toBe('test');
    expect(report.imagesConsidered).toBe(TEST_CASES.length);
    expect(report.referenceSources).not.toContain('pseudo');
    for (const ev of [report.primary, report.secondary]) {
      expect(ev?.cases.map((c) => c.image).sort()).toEqual([...TEST_CASES].sort());
      expect(ev?.skipped).toEqual([]);
      for (const c of ev?.cases ?? []) {
        expect(c.imageId).toBe(fx.images.get(c.image)?.id);
        expect(c.referenceLabelVersionId).toBe(fx.refs.get(c.image)?.id);
        expect(c.site).toBe(fx.images.get(c.image)?.site);
        expect(c.patientInTraining).toBe(false);
      }
    }
    expect(report.primary.model.version).toBe(fx.v1.version);
    expect(report.secondary?.model.version).toBe(fx.v2.version);
  });

  it('equals segmentationMetrics + summarizeEvaluation + comparePaired run independently on the same files', async () => {
    const records = async (modelId: number): Promise<CaseRecord[]> => {
      const out: CaseRecord[] = [];
      for (const name of TEST_CASES) {
        const img = fx.images.get(name);
        if (!img) throw new Error(name);
        const pred = store.predictions.latestForImage(img.id, modelId);
        const ref = fx.refs.get(name);
        if (!pred || !ref) throw new Error(name);
        const p = await readNifti(path.join(dir, pred.path));
        const r = await readNifti(path.join(dir, ref.path));
        const metrics = segmentationMetrics(p, r, { spacing: img.spacing as [number, number, number], classes: [1, 2] });
        out.push({ caseId: String(img.id), patientId: name, site: img.site ?? 'unknown', metrics });
      }
      return out;
    };
    const a = await records(fx.v1.id);
    const b = await records(fx.v2.id);
    const byId = (cs: readonly { caseId: string }[]): string[] => cs.map((c) => c.caseId).sort();
    expect(byId(report.primary.cases)).toEqual(byId(a));
    for (const rec of a) expect(report.primary.cases.find((c) => c.caseId === rec.caseId)?.metrics).toEqual(rec.metrics);
    for (const rec of b) expect(report.secondary?.cases.find((c) => c.caseId === rec.caseId)?.metrics).toEqual(rec.metrics);
    const order = (rs: CaseRecord[]): CaseRecord[] => [...rs].sort((x, y) => Number(x.caseId) - Number(y.caseId));
    expect(report.primary.summary).toEqual(summarizeEvaluation(order(a)));
    expect(report.secondary?.summary).toEqual(summarizeEvaluation(order(b)));
    expect(report.comparison?.dice).toEqual(comparePaired(order(a), order(b), { metric: 'dice', resamples: 500, seed: 7, resampleBy: 'patient' }));
    expect(report.comparison?.hd95).toEqual(comparePaired(order(a), order(b), { metric: 'hd95', resamples: 500, seed: 7, resampleBy: 'patient' }));
  });

  it.skipIf(!existsSync(PY))('per-case Dice, volumes and HD95 agree with nibabel + numpy/scipy (python3 required)', () => {
    const items = [report.primary, report.secondary].flatMap((ev) =>
      (ev?.cases ?? []).map((c) => ({
        key: `${ev?.model.id}:${c.imageId}`,
        pred: path.join(dir, store.predictions.get(c.predictionId as number)?.path ?? ''),
        ref: path.join(dir, store.labelVersions.get(c.referenceLabelVersionId as number)?.path ?? ''),
        classes: [1, 2],
      })),
    );
    const ref = JSON.parse(execFileSync(PY, [REF, JSON.stringify(items)], { encoding: 'utf8' })) as Record<string, Record<string, { dice: number; hd95: number | null; refVolumeMm3: number; empty: string }>>;
    let compared = 0;
    for (const ev of [report.primary, report.secondary]) {
      for (const c of ev?.cases ?? []) {
        for (const k of c.metrics.classes) {
          const want = ref[`${ev?.model.id}:${c.imageId}`][String(k.label)];
          expect(Math.abs(k.dice - want.dice)).toBeLessThan(1e-12);
          expect(Math.abs(k.refVolumeMm3 - want.refVolumeMm3)).toBeLessThan(1e-6 * want.refVolumeMm3 + 1e-9);
          expect(k.empty).toBe(want.empty);
          if (want.hd95 === null) expect(k.hd95).toBeNull();
          else expect(Math.abs((k.hd95 as number) - want.hd95)).toBeLessThan(1e-6);
          compared++;
        }
      }
    }
    expect(compared).toBe(2 * TEST_CASES.length * 2);
  });

  it('surfaces the empty-prediction convention: Dice 0, HD95 undefined and counted, not averaged', () => {
    const c = report.primary.cases.find((x) => x.image === V1_EMPTY_CLASS2);
    const k2 = c?.metrics.classes.find((k) => k.label === 2);
    expect(k2?.empty).toBe('pred');
    expect(k2?.dice).toBe(0);
    expect(k2?.hd95).toBeNull();
    const overall2 = report.primary.summary.overall.find((s) => s.label === 2);
    expect(overall2?.emptyCounts.pred).toBe(1);
    expect(overall2?.metrics.dice.n).toBe(TEST_CASES.length);
    expect(overall2?.metrics.hd95.n).toBe(TEST_CASES.length - 1);
    expect(report.conventions.join(' ')).toMatch(/One mask empty/);
    // The worst case of v1 is the one missing a whole class.
    expect(report.primary.summary.worst[0].caseId).toBe(String(fx.images.get(V1_EMPTY_CLASS2)?.id));
    // The 1-voxel shift (v2) beats the 2-voxel shift (v1) on every case: the CI must say so.
    const mean = report.comparison?.dice.classes.find((k) => k.label === 'mean');
    expect(mean?.wins).toBe(TEST_CASES.length);
    expect((mean?.ci as [number, number])[0]).toBeGreaterThan(0);
  });

  it('exports CSV with one row per model × case × class and the same numbers', () => {
    const rows = parseCsv(reportToCsv(report));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.length - 1).toBe(2 * TEST_CASES.length * 2);
    const col = (name: string): number => rows[0].indexOf(name);
    for (const r of rows.slice(1)) {
      const ev = Number(r[col('model_id')]) === fx.v1.id ? report.primary : report.secondary;
      const c = ev?.cases.find((x) => x.imageId === Number(r[col('image_id')]));
      const k = c?.metrics.classes.find((x) => x.label === Number(r[col('class')]));
      expect(k).toBeDefined();
      expect(Number(r[col('dice')])).toBe(k?.dice);
      expect(r[col('hd95_mm')]).toBe(k?.hd95 === null ? '' : String(k?.hd95));
      expect(r[col('empty')]).toBe(k?.empty);
      expect(r[col('patient')]).toBe(c?.patient);
    }
  });

  it('exports JSON that parses back to the report', () => {
    expect(JSON.parse(reportToJson(report))).toEqual(JSON.parse(JSON.stringify(report)));
    const e = exportReport(report, 'json');
    expect(e.fileName).toBe(`segloop-evaluation-v${fx.v1.version}-vs-v${fx.v2.version}-test.json`);
  });

  it('exports a self-contained HTML page: no scripts, no external references', async () => {
    const html = reportToHtml(report, { learningCurve: await learningCurve(store) });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/http/i);
    expect(html).not.toMatch(/<script|<link|<iframe|<img|url\(|@import/i);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(5);
    for (const name of TEST_CASES) expect(html).toContain(name);
    expect(html).toContain('prediction empty');
    expect(html).toContain('Comparison: v2 against v1');
    expect(html).toContain('Learning curve');
  });

  it('lists skipped images with the reason, and warns when nothing can be evaluated', async () => {
    const train = await buildEvaluationReport(store, { modelId: fx.v1.id, split: 'train' });
    expect(train.primary.cases).toEqual([]);
    expect(train.primary.skipped.map((s) => s.reason)).toEqual(TRAIN_CASES.map(() => `no prediction from model v${fx.v1.version}`));
    expect(train.warnings.join(' ')).toMatch(/No image of the train split has both a reference label and a prediction/);
    const manualOnly = await buildEvaluationReport(store, { modelId: fx.v1.id, labelSource: ['manual'] });
    expect(manualOnly.primary.skipped).toHaveLength(TEST_CASES.length);
    expect(manualOnly.primary.skipped[0].reason).toBe('no reference label of an allowed source');
    await expect(buildEvaluationReport(store, { modelId: 999 })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(buildEvaluationReport(store, { modelId: fx.v1.id, compareModelId: fx.v1.id })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildEvaluationReport(store, { modelId: fx.v1.id, labelSource: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('learningCurve on the hand-built project', () => {
  it('one point per trained model: labelled images, recorded minutes (lower bound), test Dice; imported model left out', async () => {
    const lc = await learningCurve(store);
    expect(lc.excluded).toEqual([{ modelId: fx.v3.id, version: fx.v3.version, reason: expect.stringMatching(/no training run/) }]);
    expect(lc.points.map((p) => p.version)).toEqual([fx.v1.version, fx.v2.version]);
    const [p1, p2] = lc.points;
    expect(p1.labelledImages).toBe(2);
    expect(p2.labelledImages).toBe(4);
    // 300 s + 120 s on the corrected versions; their imported parents carry no time.
    expect(p1.annotationMinutes).toBeCloseTo(7, 12);
    expect(p1.minutesComplete).toBe(false);
    expect([p1.versionsWithTime, p1.versionsWithoutTime]).toEqual([2, 2]);
    expect(p2.annotationMinutes).toBeCloseTo(7, 12);
    expect([p2.versionsWithTime, p2.versionsWithoutTime]).toEqual([2, 4]);
    expect(p2.bySource).toMatchObject({ manual: 2, imported: 2 });
    expect(p1.notes.join(' ')).toMatch(/lower bound/);
    expect(p1.diceSource).toBe('test-predictions');
    expect(p1.meanDice).toBe(report.primary.summary.overall.find((s) => s.label === 'mean')?.metrics.dice.mean);
    expect(p2.meanDice).toBe(report.secondary?.summary.overall.find((s) => s.label === 'mean')?.metrics.dice.mean);
    expect(p1.evaluatedCases).toBe(TEST_CASES.length);
    expect(lc.sameTestCases).toBe(true);
  });

  it('falls back to the stored validation Dice, says so, and never invents minutes for imported labels', async () => {
    const run = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [fx.refs.get(TRAIN_CASES[2])?.id as number] } });
    store.trainingRuns.finish(run.id, 'completed');
    const v4 = store.models.create({ architecture: 'fixture-val-only', config: {}, trainingRunId: run.id, metrics: { valMeanDice: 0.55 } });
    const lc = await learningCurve(store);
    const p = lc.points.find((x) => x.modelId === v4.id);
    expect(p).toMatchObject({ labelledImages: 1, annotationMinutes: null, diceSource: 'stored-validation', meanDice: 0.55, evaluatedCases: 0 });
    expect(p?.notes.join(' ')).toMatch(/No label version has a recorded time \(imported\)/);
    expect(p?.notes.join(' ')).toMatch(/validation Dice stored at training/);
    expect(lc.notes.join(' ')).toMatch(/mixes test Dice and stored validation Dice/);
  });
});

describe('promote / rollback', () => {
  it('promoting retires the previous model; rollback promotes it again; every step is audited', () => {
    expect(() => rollbackModel(store, { actor: 'dr-a' })).toThrow(/no earlier promoted model/);
    const r1 = promoteModel(store, fx.v1.id, { actor: 'dr-a', reason: 'first model' });
    expect(r1.promoted.status).toBe('promoted');
    expect(r1.retired).toBeNull();
    const r2 = promoteModel(store, fx.v2.id, { actor: 'dr-b', reason: 'better test Dice', evidence: { meanDiff: 0.1 } });
    expect(r2.retired?.id).toBe(fx.v1.id);
    expect(r2.retired?.status).toBe('retired');
    expect(() => promoteModel(store, fx.v2.id)).toThrow(/already the promoted model/);
    expect(previousPromoted(store)?.id).toBe(fx.v1.id);
    const rb = rollbackModel(store, { actor: 'dr-c', reason: 'v2 misses small structures' });
    expect(rb.promoted.id).toBe(fx.v1.id);
    expect(rb.retired?.id).toBe(fx.v2.id);
    expect(store.models.promoted()?.id).toBe(fx.v1.id);
    expect(store.models.require(fx.v2.id).status).toBe('retired');

    const entries = store.audit.list({ entity: 'model' }).filter((e) => ['model.promote', 'model.rollback', 'model.status'].includes(e.action));
    expect(entries.map((e) => [e.action, e.entityId, e.actor])).toEqual([
      ['model.status', fx.v1.id, 'dr-a'],
      ['model.promote', fx.v1.id, 'dr-a'],
      ['model.status', fx.v1.id, 'dr-b'],
      ['model.status', fx.v2.id, 'dr-b'],
      ['model.promote', fx.v2.id, 'dr-b'],
      ['model.status', fx.v2.id, 'dr-c'],
      ['model.status', fx.v1.id, 'dr-c'],
      ['model.rollback', fx.v1.id, 'dr-c'],
    ]);
    expect(entries[4].details).toMatchObject({ previous: { id: fx.v1.id }, reason: 'better test Dice', evidence: { meanDiff: 0.1 } });
    expect(entries[7].details).toMatchObject({ rolledBack: { id: fx.v2.id }, previous: { id: fx.v2.id }, reason: 'v2 misses small structures' });
  });

  it('refuses a model without weights and leaves status and audit unchanged', () => {
    const bare = store.models.create({ architecture: 'no-weights', config: {} });
    const before = store.audit.count();
    expect(() => promoteModel(store, bare.id)).toThrow(/no weights/);
    expect(store.audit.count()).toBe(before);
    expect(store.models.promoted()?.id).toBe(fx.v1.id);
  });
});

describe('leakage stops the evaluation', () => {
  it('SPLIT_LEAKAGE when a patient has images in train and test (corrupted DB); report works again once repaired', async () => {
    const testImg = fx.images.get(TEST_CASES[0]);
    const trainImg = fx.images.get(TRAIN_CASES[3]);
    if (!testImg || !trainImg) throw new Error('fixture');
    store.database.prepare('UPDATE images SET patient_id = ? WHERE id = ?').run(testImg.patientId, trainImg.id);
    await expect(buildEvaluationReport(store, { modelId: fx.v1.id })).rejects.toMatchObject({ code: 'SPLIT_LEAKAGE', message: expect.stringContaining(TEST_CASES[0]) });
    await expect(learningCurve(store)).rejects.toMatchObject({ code: 'SPLIT_LEAKAGE' });
    store.database.prepare('UPDATE images SET patient_id = ? WHERE id = ?').run(trainImg.patientId, trainImg.id);
    await expect(buildEvaluationReport(store, { modelId: fx.v1.id })).resolves.toBeDefined();
  });

  it('SPLIT_LEAKAGE when a test patient is in the model training snapshot (split changed after training)', async () => {
    const name = TRAIN_CASES[2];
    const img = fx.images.get(name);
    if (!img) throw new Error('fixture');
    const lab = await readNifti(path.join(dir, fx.refs.get(name)?.path ?? ''));
    await store.addPredictionFiles({ imageId: img.id, modelId: fx.v2.id, tta: false, bytes: labelBytes(Uint8Array.from(lab.data), lab.shape, lab.affine) });
    store.database.prepare("UPDATE images SET split = 'test' WHERE id = ?").run(img.id);
    await expect(buildEvaluationReport(store, { modelId: fx.v2.id })).rejects.toMatchObject({ code: 'SPLIT_LEAKAGE', message: expect.stringMatching(new RegExp(`trained on 1 patient.*${name}`)) });
    // v1 never trained on it: its report stands, and flags nothing.
    const ok = await buildEvaluationReport(store, { modelId: fx.v1.id });
    expect(ok.primary.skipped.map((s) => s.image)).toEqual([name]);
    const lc = await learningCurve(store);
    expect(lc.excluded.find((e) => e.modelId === fx.v2.id)?.reason).toMatch(/trained on/);
    // Outside the test split the same situation is reported, not refused.
    const all = await buildEvaluationReport(store, { modelId: fx.v2.id, split: 'all' });
    expect(all.primary.cases.find((c) => c.image === name)?.patientInTraining).toBe(true);
    expect(all.warnings.join(' ')).toMatch(/belong to patients in its training data/);
    store.database.prepare("UPDATE images SET split = 'train' WHERE id = ?").run(img.id);
  });
});

describe.skipIf(!existsSync(PY))('per-structure measurements in the report (python3 with skimage/scipy required)', () => {
  it('measures prediction and reference of every case as skimage regionprops / scipy do, and the MAE is their mean |difference|', () => {
    const cases = report.primary.cases;
    const files = cases.flatMap((c) => [
      path.join(dir, store.predictions.get(c.predictionId as number)?.path ?? ''),
      path.join(dir, store.labelVersions.get(c.referenceLabelVersionId as number)?.path ?? ''),
    ]);
    const masks = files.map((file) => ({ file, labels: [1, 2] }));
    const refScript = new URL('../../main/core/evaluation/ref/structure_measures_ref.py', import.meta.url).pathname;
    const py = JSON.parse(execFileSync(PY, [refScript], { input: JSON.stringify({ masks }), maxBuffer: 16 * 1024 * 1024 }).toString()) as ({ volume_mm3: number; diameter_faces_mm: number } | null)[];
    const errors: Record<string, number[]> = {};
    cases.forEach((c, i) => {
      expect(c.measurements.dims).toBe(3);
      for (const [j, label] of [1, 2].entries()) {
        const pyPred = py[(2 * i) * 2 + j];
        const pyRef = py[(2 * i + 1) * 2 + j];
        const ours = c.measurements.classes.find((k) => k.label === label)!;
        if (!pyPred) expect(ours.pred).toBeNull();
        else {
          expect(ours.pred!.volumeMm3).toBeCloseTo(pyPred.volume_mm3, 6);
          expect(ours.pred!.maxDiameterMm).toBeCloseTo(pyPred.diameter_faces_mm, 6);
        }
        expect(ours.ref!.volumeMm3).toBeCloseTo(pyRef!.volume_mm3, 6);
        expect(ours.ref!.maxDiameterMm).toBeCloseTo(pyRef!.diameter_faces_mm, 6);
        if (pyPred && pyRef) {
          (errors[`${label}:volumeMm3`] ??= []).push(pyPred.volume_mm3 - pyRef.volume_mm3);
          (errors[`${label}:maxDiameterMm`] ??= []).push(pyPred.diameter_faces_mm - pyRef.diameter_faces_mm);
        }
      }
    });
    const rows = report.primary.measurements;
    expect(rows.map((r) => r.key).sort()).toEqual(['maxDiameterMm', 'maxDiameterMm', 'volumeMm3', 'volumeMm3']);
    for (const r of rows) {
      const e = errors[`${r.label}:${r.key}`] ?? [];
      expect(r.n).toBe(e.length);
      if (!e.length) continue;
      expect(r.meanAbsError).toBeCloseTo(e.reduce((s, x) => s + Math.abs(x), 0) / e.length, 6);
      expect(r.meanError).toBeCloseTo(e.reduce((s, x) => s + x, 0) / e.length, 6);
    }
    // the fixture's predictions are shifted references (translation keeps volume and diameter, so
    // the errors are near 0 unless the border cuts a mask); a class present on one side only is counted
    for (const r of rows) {
      const one = cases.filter((c) => { const k = c.measurements.classes.find((x) => x.label === r.label)!; return (k.pred === null) !== (k.ref === null); }).length;
      expect(r.oneEmpty).toBe(one);
    }
    expect(rows.find((r) => r.label === 2)?.oneEmpty).toBe(1); // V1_EMPTY_CLASS2: v1 predicts no class 2 there
    // the HTML export carries the same table (volumes in ml)
    const html = reportToHtml(report);
    expect(html).toContain('Measurements vs reference');
    const vol = rows.find((r) => r.label === 1 && r.key === 'volumeMm3')!;
    expect(html).toContain(`<td>volume</td><td>ml</td><td>${vol.n}</td><td>${(vol.refMean! / 1000).toFixed(3)}</td>`);
  });
});
