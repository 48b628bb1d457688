// The evaluation report for label files from outside the project (`segloop evaluate --images
// --labels --report`): full metrics (with surface distances) of each prediction file against its
// reference, as the same report the project's predictions get, written atomically to a file.
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { writeFileAtomic } from '../base/fs';
import { readNifti } from '../imaging/nifti';
import { ProjectStore } from '../project';
import type { ModelRow } from '../project/types';
import { reportFromExternalCases, type ExternalCase, type ReportClass } from './report';
import { exportReport, type ReportFormat } from './report-export';
import { caseMeasurements } from './structure-measures';
import { volumeMetrics } from './volume-metrics';

/** The report format a file name asks for (its extension picks it). */
export function reportFormatOf(file: string): ReportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  throw new SegloopError('INVALID_ARGUMENT', `--report ${file}: the file name must end in .html, .csv or .json (that picks the format).`, { file });
}

/** Writes the report of `pairs` (prediction file, reference file) to `file`; returns its absolute path. */
export async function writeExternalReport(
  dir: string,
  file: string,
  models: readonly ModelRow[],
  pairs: ReadonlyArray<{ id: string; pred: string; ref: string }>,
  classes: readonly number[],
): Promise<string> {
  const format = reportFormatOf(file);
  const store = await ProjectStore.open(dir, { readOnly: true });
  let project: string;
  let schema: ReportClass[];
  try {
    project = store.name;
    schema = store.labelSchema.list().filter((c) => classes.includes(c.idx)).map((c) => ({ label: c.idx, name: c.name, colour: c.colour }));
  } finally {
    store.close();
  }
  const cases: ExternalCase[] = [];
  for (const p of pairs) {
    const [pred, ref] = await Promise.all([readNifti(p.pred), readNifti(p.ref)]);
    const metrics = volumeMetrics(pred, ref, { classes, names: { pred: `prediction of ${p.id}`, ref: p.ref } });
    cases.push({ id: p.id, metrics, measurements: caseMeasurements(pred.data, ref.data, ref.shape, ref.spacing, classes) });
  }
  const model = models.length > 1 ? { ...models[0], architecture: `ensemble of ${models.map((m) => `v${m.version}`).join('+')}` } : models[0];
  const report = reportFromExternalCases({ project, model, classes: schema, cases });
  const out = exportReport(report, format);
  const abs = path.resolve(file);
  await writeFileAtomic(abs, new TextEncoder().encode(out.content));
  return abs;
}
