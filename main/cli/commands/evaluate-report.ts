// `segloop evaluate <dir> --model <id>` without --images/--labels: the evaluation report of the
// predictions stored in the project (main/core/evaluation/report.ts) — per class, per patient,
// per site, by structure size, worst cases, optional paired comparison (--compare), and
// --report <file.html|file.csv|file.json> to save it. evaluate.ts routes here; core's
// writeExternalReport (core/evaluation/external-report.ts) gives evaluate --images/--labels the same
// report for external data.
import path from 'node:path';
import { MEASURES, type MeasureKey } from '../../../shared/evaluation-schema';
import { SegloopError } from '../../../shared/errors';
import { idFromString } from '../../core/base/ids';
import type { ClassKey, ClassSummary } from '../../core/evaluation/aggregate';
import { learningCurve } from '../../core/evaluation/learning-curve';
import { reportFormatOf } from '../../core/evaluation/external-report';
import { buildEvaluationReport, type EvaluationReport, type ModelEvaluation } from '../../core/evaluation/report';
import { exportReport } from '../../core/evaluation/report-export';
import { measureError } from '../../core/evaluation/structure-measures';
import { ProjectStore, SPLITS, writeFileAtomic, type Split } from '../../core/project';
import { emit } from '../output';

export interface StoredEvaluationFlags {
  model: string;
  compare?: string;
  split?: string;
  report?: string;
  worst?: string;
  json?: boolean;
}

function positiveId(flag: string, v: string): number {
  const id = idFromString(v.trim());
  if (id === null) throw new SegloopError('INVALID_ARGUMENT', `--${flag} takes one model id such as 3 (got "${v}").`);
  return id;
}

function parseSplit(v: string | undefined): Split | 'all' {
  const s = v ?? 'test';
  if (s === 'all' || (SPLITS as readonly string[]).includes(s)) return s as Split | 'all';
  throw new SegloopError('INVALID_ARGUMENT', `--split must be one of ${[...SPLITS, 'all'].join(', ')} (got "${s}").`);
}

export async function evaluateStored(dir: string, f: StoredEvaluationFlags): Promise<void> {
  const modelId = positiveId('model', f.model);
  const compareModelId = f.compare === undefined ? null : positiveId('compare', f.compare);
  const split = parseSplit(f.split);
  const worstN = f.worst === undefined ? 10 : Number(f.worst);
  if (!Number.isInteger(worstN) || worstN < 1) throw new SegloopError('INVALID_ARGUMENT', `--worst must be a positive whole number (got "${f.worst}").`);
  const format = f.report ? reportFormatOf(f.report) : null;
  const store = await ProjectStore.open(dir, { readOnly: true });
  let report: EvaluationReport;
  let written: string | null = null;
  try {
    report = await buildEvaluationReport(store, { modelId, compareModelId, split, worstN });
    if (f.report && format) {
      const lc = format === 'csv' ? undefined : await learningCurve(store);
      const out = exportReport(report, format, lc ? { learningCurve: lc } : {});
      written = path.resolve(f.report);
      await writeFileAtomic(written, new TextEncoder().encode(out.content));
    }
  } finally {
    store.close();
  }
  emit(f, written ? { ...report, reportFile: written } : report, () => formatReport(report, written));
}

const f3 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
const f2 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(2));

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd());
}

function modelText(report: EvaluationReport, ev: ModelEvaluation): string[] {
  const name = (l: ClassKey): string => (l === 'mean' ? 'mean' : report.classes.find((c) => c.label === l)?.name ?? `class ${l}`);
  const s = ev.summary;
  const out = [`model v${ev.model.version} (id ${ev.model.id}, ${ev.model.status}): ${ev.cases.length} case(s), ${s.patients.length} patient(s); ${ev.skipped.length} skipped`];
  if (!ev.cases.length) return out;
  const row = (c: ClassSummary): string[] => [name(c.label), String(c.metrics.dice.n), `${f3(c.metrics.dice.mean)} ± ${f3(c.metrics.dice.std)}`, f3(c.metrics.dice.median), f2(c.metrics.hd95.mean), c.label === 'mean' ? '' : `${c.emptyCounts.both}/${c.emptyCounts.pred}/${c.emptyCounts.ref}`];
  out.push('', ...columns([['class', 'n', 'Dice mean ± sd', 'median', 'HD95 mm', 'empty both/pred/ref'], ...s.overall.map(row)]));
  out.push('', 'by site', ...columns([['site', 'cases', 'mean Dice', 'mean HD95 mm'], ...s.bySite.map((b) => {
    const m = b.overall.find((o) => o.label === 'mean');
    return [b.site, String(b.caseIds.length), f3(m?.metrics.dice.mean), f2(m?.metrics.hd95.mean)];
  })]).map((l) => `  ${l}`));
  out.push('', 'by structure size (terciles of the reference volume)', ...columns([['class', 'stratum', 'mm3', 'cases', 'Dice', 'HD95 mm'], ...s.bySize.flatMap((z) => z.strata.map((st) => [
    name(z.label), st.stratum,
    z.cutsMm3 === null || st.stratum === 'absent' ? '—' : st.stratum === 'small' ? `<= ${z.cutsMm3[0].toFixed(0)}` : st.stratum === 'medium' ? `${z.cutsMm3[0].toFixed(0)}-${z.cutsMm3[1].toFixed(0)}` : `> ${z.cutsMm3[1].toFixed(0)}`,
    String(st.caseIds.length), f3(st.summary.metrics.dice.mean), f2(st.summary.metrics.hd95.mean),
  ]))]).map((l) => `  ${l}`));
  out.push('', 'per patient', ...columns([['patient', 'site', 'cases', 'mean Dice', 'mean HD95 mm'], ...s.patients.map((p) => {
    const m = p.perClass.find((x) => x.label === 'mean');
    return [p.patientId, p.sites.join(','), String(p.caseIds.length), f3(m?.dice), f2(m?.hd95)];
  })]).map((l) => `  ${l}`));
  const byId = new Map(ev.cases.map((c) => [c.caseId, c]));
  out.push('', `worst ${s.worst.length} (image id: open it in the app)`, ...columns([['image', 'image id', 'patient', 'site', 'mean Dice', 'note'], ...s.worst.map((w) => [
    byId.get(w.caseId)?.image ?? w.caseId, byId.get(w.caseId)?.imageId === null ? '—' : w.caseId, w.patientId, w.site, f3(w.meanDice),
    (byId.get(w.caseId)?.metrics.classes ?? []).filter((k) => k.empty !== 'none').map((k) => `${name(k.label)}: ${k.empty === 'pred' ? 'prediction' : k.empty === 'ref' ? 'reference' : 'both'} empty`).join('; '),
  ])]).map((l) => `  ${l}`));
  out.push('', ...measurementText(ev, name));
  for (const k of ev.skipped.slice(0, 10)) out.push(`  skipped ${k.image} (image ${k.imageId}): ${k.reason}`);
  if (ev.skipped.length > 10) out.push(`  … ${ev.skipped.length - 10} more skipped`);
  return out;
}

/** Volumes are shown in ml (1 ml = 1000 mm³), every other measure in its own unit. */
function shown(key: MeasureKey, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return key === 'volumeMm3' ? (v / 1000).toFixed(3) : v.toFixed(2);
}

function measurementText(ev: ModelEvaluation, name: (l: ClassKey) => string): string[] {
  if (!ev.measurements.length) return [];
  const unit = (key: MeasureKey): string => (key === 'volumeMm3' ? 'ml' : MEASURES[key].unit);
  const out = ['measurements vs reference (error = prediction − reference; MAE over the cases where both hold the structure)'];
  out.push(...columns([['class', 'measure', 'unit', 'n', 'reference mean', 'prediction mean', 'MAE', 'bias', 'MAE %', 'one empty'], ...ev.measurements.map((r) => [
    name(r.label), MEASURES[r.key].name, unit(r.key), String(r.n), shown(r.key, r.refMean), shown(r.key, r.predMean), shown(r.key, r.meanAbsError),
    r.meanError === null ? '—' : `${r.meanError >= 0 ? '+' : ''}${shown(r.key, r.meanError)}`, r.meanAbsRelError === null ? '—' : (100 * r.meanAbsRelError).toFixed(1), String(r.oneEmpty),
  ])]).map((l) => `  ${l}`));
  const keys = [...new Set(ev.measurements.map((r) => r.key))];
  const rows = [['image', 'class', ...keys.map((k) => `${MEASURES[k].name} ${unit(k)} pred / ref / error`)]];
  for (const c of ev.cases) {
    for (const k of c.measurements.classes) {
      rows.push([c.image, name(k.label), ...keys.map((key) => {
        const e = measureError(k, key);
        return `${shown(key, k.pred?.[key])} / ${shown(key, k.ref?.[key])} / ${e === null ? '—' : `${e >= 0 ? '+' : ''}${shown(key, e)}`}`;
      })]);
    }
  }
  out.push('', 'measurements per case', ...columns(rows).map((l) => `  ${l}`));
  return out;
}

export function formatReport(report: EvaluationReport, written: string | null): string {
  const out = [
    report.split === 'external'
      ? `evaluation on external data (${report.imagesConsidered} images, reference labels from the command line)`
      : `evaluation on the ${report.split === 'all' ? 'whole project' : `${report.split} split`} (${report.imagesConsidered} images); reference = newest label of source ${report.referenceSources.join(', ')}`,
  ];
  for (const w of report.warnings) out.push(`warning: ${w}`);
  out.push('', ...modelText(report, report.primary));
  if (report.secondary) out.push('', ...modelText(report, report.secondary));
  const cmp = report.comparison;
  if (cmp) {
    const name = (l: ClassKey): string => (l === 'mean' ? 'mean' : report.classes.find((c) => c.label === l)?.name ?? `class ${l}`);
    out.push('', `paired comparison v${cmp.b.version} - v${cmp.a.version} on ${cmp.dice.matched} cases (bootstrap over patients, ${cmp.dice.resamples} resamples, seed ${cmp.dice.seed})`);
    const rows = [['metric', 'class', 'n', `v${cmp.a.version}`, `v${cmp.b.version}`, 'diff', '95% CI', 'better/worse/tie']];
    for (const [label, p] of [['Dice', cmp.dice], ['HD95 mm', cmp.hd95]] as const) {
      for (const k of p.classes) {
        rows.push([label, name(k.label), String(k.n), f3(k.meanA), f3(k.meanB), k.meanDiff === null ? '—' : `${k.meanDiff >= 0 ? '+' : ''}${k.meanDiff.toFixed(4)}`, k.ci ? `[${k.ci[0].toFixed(4)}, ${k.ci[1].toFixed(4)}]` : '—', `${k.wins}/${k.losses}/${k.ties}`]);
      }
    }
    out.push(...columns(rows).map((l) => `  ${l}`));
  }
  out.push('', 'One mask empty: Dice 0, distances undefined (left out of distance means, counted under "empty"). Both empty: Dice 1.');
  if (written) out.push(`report written to ${written}`);
  return out.join('\n');
}
