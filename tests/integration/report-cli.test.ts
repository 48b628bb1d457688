// `segloop evaluate <dir> --model <id>` on the predictions stored in the project (no --images /
// --labels): the evaluation report through the real CLI on the FIXTURE project of
// report-fixture.ts (predictions = shifted reference labels), compared with the core report.
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvaluationReport, type EvaluationReport } from '../../main/core/evaluation/report';
import { reportToCsv } from '../../main/core/evaluation/report-export';
import { writeExternalReport } from '../../main/core/evaluation/external-report';
import { ProjectStore } from '../../main/core/project';
import { segloop } from './helpers/cli';
import { HIPPOCAMPUS } from '../data-root';
import { makeEvalProject, TEST_CASES, TRAIN_CASES, V1_EMPTY_CLASS2, type EvalFixture } from './report-fixture';

let dir: string;
let fx: EvalFixture;
let expected: EvaluationReport;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-report-cli-'));
  fx = await makeEvalProject(dir);
  const store = await ProjectStore.open(dir);
  try {
    expected = await buildEvaluationReport(store, { modelId: fx.v1.id, compareModelId: fx.v2.id });
  } finally {
    store.close();
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('segloop evaluate on stored predictions', () => {
  it('--json prints the core report (same numbers, same comparison)', () => {
    const r = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--compare', String(fx.v2.id), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const got = r.json as EvaluationReport;
    expect({ ...got, generatedAt: '' }).toEqual(JSON.parse(JSON.stringify({ ...expected, generatedAt: '' })));
  });

  it('prints overall, per site, per size, per patient, worst cases with image ids, and the comparison', () => {
    const r = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--compare', String(fx.v2.id), '--worst', '3']);
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    for (const heading of ['by site', 'by structure size', 'per patient', 'worst 3 (image id', 'paired comparison v2 - v1 on 6 cases']) expect(out).toContain(heading);
    const mean = expected.primary.summary.overall.find((s) => s.label === 'mean');
    expect(out).toMatch(new RegExp(`^mean\\s+6\\s+${mean?.metrics.dice.mean?.toFixed(3)} ± ${mean?.metrics.dice.std?.toFixed(3)}`, 'm'));
    const worstId = String(fx.images.get(V1_EMPTY_CLASS2)?.id);
    expect(out).toMatch(new RegExp(`${V1_EMPTY_CLASS2}\\s+${worstId}\\s.*posterior hippocampus: prediction empty`));
    for (const name of TEST_CASES) expect(out).toContain(name);
  });

  it('prints the measurements vs reference: volume (ml) and max diameter (mm) per class with MAE, and per case', () => {
    const r = segloop(['evaluate', dir, '--model', String(fx.v1.id)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('measurements vs reference');
    const rows = expected.primary.measurements;
    const vol = rows.find((m) => m.label === 1 && m.key === 'volumeMm3')!;
    expect(r.stdout).toMatch(new RegExp(`^\\s+anterior hippocampus\\s+volume\\s+ml\\s+${vol.n}\\s+${(vol.refMean! / 1000).toFixed(3)}\\s+${(vol.predMean! / 1000).toFixed(3)}\\s+${(vol.meanAbsError! / 1000).toFixed(3)}`, 'm'));
    const dia = rows.find((m) => m.label === 2 && m.key === 'maxDiameterMm')!;
    expect(r.stdout).toMatch(new RegExp(`^\\s+posterior hippocampus\\s+max diameter\\s+mm\\s+${dia.n}\\s+${dia.refMean!.toFixed(2)}`, 'm'));
    expect(r.stdout).toContain('measurements per case');
    // the case whose class 2 v1 left empty: no prediction value, no error
    expect(r.stdout).toMatch(new RegExp(`${V1_EMPTY_CLASS2}\\s+posterior hippocampus\\s+— / [\\d.]+ / —`));
  });

  it('--report writes self-contained HTML, the same CSV as the core export, and refuses other extensions', () => {
    const html = path.join(dir, 'out', 'report.html');
    const r1 = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--compare', String(fx.v2.id), '--report', html]);
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stdout).toContain(`report written to ${html}`);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/http/i);
    expect(text).toContain('Learning curve');
    const csv = path.join(dir, 'report.csv');
    expect(segloop(['evaluate', dir, '--model', String(fx.v1.id), '--compare', String(fx.v2.id), '--report', csv]).status).toBe(0);
    expect(readFileSync(csv, 'utf8')).toBe(reportToCsv(expected));
    const bad = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--report', path.join(dir, 'report.pdf')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT: --report .*report\.pdf: the file name must end in \.html, \.csv or \.json/);
    expect(existsSync(path.join(dir, 'report.pdf'))).toBe(false);
  });

  it('external data (evaluate --images/--labels --report): the same per-case metrics, no project ids, an honest warning', async () => {
    // The stored fixture predictions of v1 play the external prediction files; references come from the data folder.
    const store = await ProjectStore.open(dir, { recover: false });
    const pairs = TEST_CASES.map((name) => {
      const pred = store.predictions.latestForImage(fx.images.get(name)?.id as number, fx.v1.id);
      return { id: name, pred: path.join(dir, pred?.path ?? ''), ref: path.join(HIPPOCAMPUS, 'labels', `${name}.nii.gz`) };
    });
    store.close();
    const file = await writeExternalReport(dir, path.join(dir, 'external.json'), [fx.v1], pairs, [1, 2]);
    const ext = JSON.parse(readFileSync(file, 'utf8')) as EvaluationReport;
    expect(ext.split).toBe('external');
    expect(ext.warnings[0]).toMatch(/cannot check that these images were never used for training/);
    for (const c of ext.primary.cases) {
      expect(c).toMatchObject({ imageId: null, predictionId: null, referenceLabelVersionId: null, referenceSource: 'external', patient: c.image });
      expect(c.metrics).toEqual(JSON.parse(JSON.stringify(expected.primary.cases.find((x) => x.image === c.image)?.metrics)));
    }
    await expect(writeExternalReport(dir, path.join(dir, 'external.txt'), [fx.v1], pairs, [1, 2])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('bad arguments and a leaking split stop with a clear error', () => {
    const half = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--images', dir]);
    expect(half.status).toBe(1);
    expect(half.stderr).toMatch(/Give both --images and --labels/);
    expect(segloop(['evaluate', dir, '--model', '99']).stderr).toMatch(/MODEL_NOT_FOUND/);
    expect(segloop(['evaluate', dir, '--model', String(fx.v1.id), '--split', 'holdout']).stderr).toMatch(/--split must be one of/);
    // Deliberate corruption: one patient now has a train and a test image.
    const db = new Database(path.join(dir, 'project.db'));
    try {
      db.prepare('UPDATE images SET patient_id = ? WHERE id = ?').run(fx.images.get(TEST_CASES[1])?.patientId, fx.images.get(TRAIN_CASES[0])?.id);
    } finally {
      db.close();
    }
    const leak = segloop(['evaluate', dir, '--model', String(fx.v1.id), '--json']);
    expect(leak.status).toBe(1);
    expect(leak.json).toMatchObject({ ok: false, error: { code: 'SPLIT_LEAKAGE' } });
  });
});
