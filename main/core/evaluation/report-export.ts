// Exports of an EvaluationReport: JSON (the whole report), CSV (one row per model × case × class)
// and one self-contained HTML page (inline CSS and inline SVG charts, no script, no external URL:
// it opens offline on an air-gapped machine and can be attached to a ticket as is).
import { niceTicks } from '../../../shared/chart-ticks';
import { MEASURES, type MeasureKey } from '../../../shared/evaluation-schema';
import type { ClassKey, ClassSummary, MetricKey } from './aggregate';
import type { LearningCurve } from './learning-curve';
import type { ClassMetrics } from './metrics';
import type { EvaluationReport, ModelEvaluation, ReportClass } from './report';
import { measureError } from './structure-measures';

export type ReportFormat = 'json' | 'csv' | 'html';

export function reportToJson(report: EvaluationReport, extra: { learningCurve?: LearningCurve } = {}): string {
  return `${JSON.stringify(extra.learningCurve ? { ...report, learningCurve: extra.learningCurve } : report, null, 2)}\n`;
}

export const CSV_COLUMNS = [
  'model_id', 'model_version', 'image_id', 'image', 'patient', 'site', 'split', 'reference_label_version', 'reference_source',
  'prediction_id', 'class', 'class_name', 'dice', 'iou', 'hd95_mm', 'hd_mm', 'assd_mm', 'tp', 'fp', 'fn', 'pred_voxels', 'ref_voxels',
  'pred_volume_mm3', 'ref_volume_mm3', 'empty',
] as const;

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per model × case × scored class; numbers at full precision, undefined distances empty. */
export function reportToCsv(report: EvaluationReport): string {
  const names = new Map(report.classes.map((c) => [c.label, c.name]));
  const lines = [CSV_COLUMNS.join(',')];
  for (const ev of [report.primary, report.secondary]) {
    if (!ev) continue;
    for (const c of ev.cases) {
      for (const k of c.metrics.classes) {
        const row: Array<string | number | null> = [
          ev.model.id, ev.model.version, c.imageId, c.image, c.patient, c.site, c.split, c.referenceLabelVersionId, c.referenceSource,
          c.predictionId, k.label, names.get(k.label) ?? `class ${k.label}`, k.dice, k.iou, k.hd95, k.hd, k.assd, k.tp, k.fp, k.fn,
          k.predVoxels, k.refVoxels, k.predVolumeMm3, k.refVolumeMm3, k.empty,
        ];
        lines.push(row.map(csvCell).join(','));
      }
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

// ---- HTML ----

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const DIGITS: Record<MetricKey, number> = { dice: 3, iou: 3, hd95: 2, hd: 2, assd: 2 };
const EMPTY_TEXT: Record<ClassMetrics['empty'], string> = { none: '', both: 'both empty', pred: 'prediction empty', ref: 'reference empty' };

function className(classes: readonly ReportClass[], label: ClassKey): string {
  if (label === 'mean') return 'mean (foreground)';
  return classes.find((c) => c.label === label)?.name ?? `class ${label}`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function summaryRows(classes: readonly ReportClass[], overall: readonly ClassSummary[]): string[][] {
  return overall.map((s) => [
    esc(className(classes, s.label)),
    String(s.metrics.dice.n),
    `${fmt(s.metrics.dice.mean)} ± ${fmt(s.metrics.dice.std)}`,
    fmt(s.metrics.dice.median),
    fmt(s.metrics.iou.mean),
    `${fmt(s.metrics.hd95.mean, 2)} <span class="muted">(n=${s.metrics.hd95.n})</span>`,
    fmt(s.metrics.assd.mean, 2),
    s.label === 'mean' ? '' : `${s.emptyCounts.both} / ${s.emptyCounts.pred} / ${s.emptyCounts.ref}`,
  ]);
}
const SUMMARY_HEAD = ['class', 'cases', 'Dice mean ± sd', 'Dice median', 'IoU', 'HD95 mm', 'ASSD mm', 'empty: both / pred / ref'];

/** Dots per case on a 0..1 Dice axis, one lane per class plus the foreground mean. */
export function diceStripSvg(ev: ModelEvaluation, classes: readonly ReportClass[]): string {
  const lanes: Array<{ label: ClassKey; colour: string; values: number[] }> = [
    ...classes.map((c) => ({ label: c.label as ClassKey, colour: c.colour, values: ev.cases.map((k) => k.metrics.classes.find((m) => m.label === c.label)?.dice).filter((v): v is number => v !== undefined) })),
    { label: 'mean', colour: '#444444', values: ev.cases.map((k) => k.metrics.mean.dice).filter((v): v is number => v !== null) },
  ];
  const W = 640;
  const left = 170;
  const right = 20;
  const laneH = 34;
  const H = 30 + lanes.length * laneH;
  const x = (v: number): number => left + v * (W - left - right);
  const parts: string[] = [];
  for (let t = 0; t <= 10; t++) {
    const v = t / 10;
    parts.push(`<line x1="${x(v)}" y1="10" x2="${x(v)}" y2="${H - 18}" stroke="#e3e3e3"/>`);
    if (t % 2 === 0) parts.push(`<text x="${x(v)}" y="${H - 4}" text-anchor="middle" font-size="11" fill="#555">${v.toFixed(1)}</text>`);
  }
  lanes.forEach((lane, i) => {
    const cy = 10 + i * laneH + laneH / 2;
    parts.push(`<text x="${left - 8}" y="${cy + 4}" text-anchor="end" font-size="12" fill="#222">${esc(className(classes, lane.label))}</text>`);
    lane.values.forEach((v, j) => {
      const jitter = ((j * 7919) % 17) / 17 - 0.5;
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter * (laneH - 12)).toFixed(1)}" r="3" fill="${esc(lane.colour)}" fill-opacity="0.6"/>`);
    });
    if (lane.values.length) {
      const m = lane.values.reduce((a, b) => a + b, 0) / lane.values.length;
      parts.push(`<line x1="${x(m)}" y1="${cy - laneH / 2 + 3}" x2="${x(m)}" y2="${cy + laneH / 2 - 3}" stroke="#000" stroke-width="2"><title>mean ${m.toFixed(3)}</title></line>`);
    }
  });
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Dice per case and class">${parts.join('')}</svg>`;
}

/** Mean paired difference (B − A) with its CI per class, zero line in the middle. */
function forestSvg(report: EvaluationReport): string {
  const cmp = report.comparison;
  if (!cmp) return '';
  const rows = cmp.dice.classes.filter((c) => c.ci !== null && c.meanDiff !== null);
  if (!rows.length) return '';
  const lim = Math.max(0.02, ...rows.flatMap((c) => [Math.abs((c.ci as [number, number])[0]), Math.abs((c.ci as [number, number])[1])])) * 1.1;
  const W = 640;
  const left = 170;
  const right = 20;
  const rowH = 28;
  const H = 34 + rows.length * rowH;
  const x = (v: number): number => left + ((v + lim) / (2 * lim)) * (W - left - right);
  const parts = [`<line x1="${x(0)}" y1="6" x2="${x(0)}" y2="${H - 18}" stroke="#999" stroke-dasharray="4 3"/>`];
  for (const v of [-lim, -lim / 2, 0, lim / 2, lim]) parts.push(`<text x="${x(v)}" y="${H - 4}" text-anchor="middle" font-size="11" fill="#555">${v >= 0 ? '+' : ''}${v.toFixed(3)}</text>`);
  rows.forEach((c, i) => {
    const cy = 12 + i * rowH + rowH / 2;
    const [lo, hi] = c.ci as [number, number];
    const colour = lo > 0 ? '#2a7d2a' : hi < 0 ? '#b03a2e' : '#555';
    parts.push(`<text x="${left - 8}" y="${cy + 4}" text-anchor="end" font-size="12">${esc(className(report.classes, c.label))}</text>`);
    parts.push(`<line x1="${x(lo)}" y1="${cy}" x2="${x(hi)}" y2="${cy}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<circle cx="${x(c.meanDiff as number)}" cy="${cy}" r="4.5" fill="${colour}"><title>${(c.meanDiff as number).toFixed(4)} [${lo.toFixed(4)}, ${hi.toFixed(4)}]</title></circle>`);
  });
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Paired Dice difference">${parts.join('')}</svg>`;
}

/** Mean Dice against labelled images (and annotation minutes when recorded). */
export function learningCurveSvg(curve: LearningCurve, axis: 'images' | 'minutes' = 'images'): string {
  const pts = curve.points
    .map((p) => ({ p, xv: axis === 'images' ? p.labelledImages : p.annotationMinutes }))
    .filter((q): q is { p: LearningCurve['points'][number]; xv: number } => q.xv !== null && q.p.meanDice !== null);
  const W = 640;
  const H = 280;
  const L = 56;
  const R = 20;
  const T = 16;
  const B = 44;
  if (!pts.length) return `<p class="muted">No learning-curve points${axis === 'minutes' ? ' with recorded annotation time' : ''}.</p>`;
  const xmax = Math.max(...pts.map((q) => q.xv)) * 1.08 || 1;
  const ys = pts.map((q) => q.p.meanDice as number);
  const ymin = Math.max(0, Math.floor((Math.min(...ys) - 0.05) * 10) / 10);
  const ymax = Math.min(1, Math.ceil((Math.max(...ys) + 0.02) * 10) / 10);
  const sx = (v: number): number => L + (v / xmax) * (W - L - R);
  const sy = (v: number): number => T + (1 - (v - ymin) / (ymax - ymin || 1)) * (H - T - B);
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = ymin + ((ymax - ymin) * t) / 4;
    parts.push(`<line x1="${L}" y1="${sy(v)}" x2="${W - R}" y2="${sy(v)}" stroke="#e3e3e3"/><text x="${L - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11" fill="#555">${v.toFixed(2)}</text>`);
  }
  for (const v of niceTicks(xmax, axis === 'images' ? 5 : 4, axis === 'images')) {
    parts.push(`<text x="${sx(v)}" y="${H - B + 16}" text-anchor="middle" font-size="11" fill="#555">${v}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${axis === 'images' ? 'labelled images in the training snapshot' : 'annotation minutes (recorded)'}</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})">mean foreground Dice</text>`);
  for (const src of ['test-predictions', 'stored-validation'] as const) {
    const s = pts.filter((q) => q.p.diceSource === src).sort((a, b) => a.xv - b.xv);
    if (s.length > 1) parts.push(`<polyline fill="none" stroke="${src === 'test-predictions' ? '#2b6cb0' : '#b7791f'}" stroke-width="2" ${src === 'stored-validation' ? 'stroke-dasharray="5 4"' : ''} points="${s.map((q) => `${sx(q.xv).toFixed(1)},${sy(q.p.meanDice as number).toFixed(1)}`).join(' ')}"/>`);
    for (const q of s) {
      parts.push(`<circle cx="${sx(q.xv).toFixed(1)}" cy="${sy(q.p.meanDice as number).toFixed(1)}" r="4.5" fill="${src === 'test-predictions' ? '#2b6cb0' : '#b7791f'}"><title>v${q.p.version}: Dice ${(q.p.meanDice as number).toFixed(3)} (${src}), ${q.p.labelledImages} images${q.p.annotationMinutes !== null ? `, ${q.p.annotationMinutes.toFixed(1)} min${q.p.minutesComplete ? '' : ' (lower bound)'}` : ''}</title></circle>`);
      parts.push(`<text x="${sx(q.xv).toFixed(1)}" y="${(sy(q.p.meanDice as number) - 8).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">v${q.p.version}</text>`);
    }
  }
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Learning curve">${parts.join('')}</svg>`;
}

function modelSection(report: EvaluationReport, ev: ModelEvaluation): string {
  const s = ev.summary;
  const cls = report.classes;
  const label = (l: ClassKey): string => esc(className(cls, l));
  const out: string[] = [];
  out.push(`<h2>Model v${ev.model.version} <span class="muted">(${esc(ev.model.status)}, ${esc(ev.model.architecture)}, id ${ev.model.id})</span></h2>`);
  out.push(`<p>${ev.cases.length} case(s) of ${new Set(ev.cases.map((c) => c.patient)).size} patient(s) evaluated; ${ev.skipped.length} skipped.</p>`);
  if (!ev.cases.length) return out.join('');
  out.push('<h3>Overall</h3>', table(SUMMARY_HEAD, summaryRows(cls, s.overall)));
  out.push('<h3>Dice per case</h3>', `<figure>${diceStripSvg(ev, cls)}<figcaption>Each dot is one case; the black bar is the mean.</figcaption></figure>`);
  out.push('<h3>By site</h3>');
  out.push(table(['site', 'cases', ...s.overall.map((o) => `${label(o.label)} Dice`), 'mean HD95 mm'], s.bySite.map((b) => [
    esc(b.site), String(b.caseIds.length), ...b.overall.map((o) => fmt(o.metrics.dice.mean)), fmt(b.overall.find((o) => o.label === 'mean')?.metrics.hd95.mean, 2),
  ])));
  out.push('<h3>By structure size</h3>');
  out.push(table(['class', 'stratum', 'reference volume mm³', 'cases', 'Dice mean', 'HD95 mm'], s.bySize.flatMap((z) => z.strata.map((st) => [
    label(z.label), st.stratum,
    z.cutsMm3 === null || st.stratum === 'absent' ? '—' : st.stratum === 'small' ? `≤ ${fmt(z.cutsMm3[0], 0)}` : st.stratum === 'medium' ? `${fmt(z.cutsMm3[0], 0)} – ${fmt(z.cutsMm3[1], 0)}` : `> ${fmt(z.cutsMm3[1], 0)}`,
    String(st.caseIds.length), fmt(st.summary.metrics.dice.mean), fmt(st.summary.metrics.hd95.mean, 2),
  ]))));
  out.push(`<h3>Worst ${s.worst.length} cases (by mean foreground Dice)</h3>`);
  const byId = new Map(ev.cases.map((c) => [c.caseId, c]));
  out.push(table(['image', 'image id', 'patient', 'site', 'mean Dice', ...cls.map((c) => `${esc(c.name)} Dice`), 'note'], s.worst.map((w) => {
    const c = byId.get(w.caseId);
    return [
      esc(c?.image ?? w.caseId), esc(c?.imageId === null ? '—' : w.caseId), esc(w.patientId), esc(w.site), fmt(w.meanDice),
      ...cls.map((k) => fmt(w.dice.find((d) => d.label === k.label)?.dice)),
      esc((c?.metrics.classes ?? []).filter((m) => m.empty !== 'none').map((m) => `${className(cls, m.label)}: ${EMPTY_TEXT[m.empty]}`).join('; ')),
    ];
  })));
  out.push('<h3>Per patient</h3>');
  out.push(table(['patient', 'site', 'cases', ...cls.map((c) => `${esc(c.name)} Dice`), 'mean Dice', 'mean HD95 mm'], s.patients.map((p) => [
    esc(p.patientId), esc(p.sites.join(', ')), String(p.caseIds.length),
    ...cls.map((c) => fmt(p.perClass.find((x) => x.label === c.label)?.dice)),
    fmt(p.perClass.find((x) => x.label === 'mean')?.dice), fmt(p.perClass.find((x) => x.label === 'mean')?.hd95, 2),
  ])));
  if (ev.measurements.length) {
    // volumes in ml (1 ml = 1000 mm³), other measures in their own unit (mm, mm²)
    const unit = (k: MeasureKey): string => (k === 'volumeMm3' ? 'ml' : MEASURES[k].unit);
    const val = (k: MeasureKey, v: number | null | undefined): string => (v === null || v === undefined ? '—' : k === 'volumeMm3' ? (v / 1000).toFixed(3) : v.toFixed(2));
    const signed = (k: MeasureKey, v: number | null): string => (v === null ? '—' : `${v >= 0 ? '+' : ''}${val(k, v)}`);
    out.push('<h3>Measurements vs reference (error = prediction − reference)</h3>');
    out.push(table(['class', 'measure', 'unit', 'n', 'reference mean', 'prediction mean', 'MAE', 'bias', 'MAE %', 'one empty'], ev.measurements.map((r) => [
      label(r.label), esc(MEASURES[r.key].name), unit(r.key), String(r.n), val(r.key, r.refMean), val(r.key, r.predMean), val(r.key, r.meanAbsError), signed(r.key, r.meanError),
      r.meanAbsRelError === null ? '—' : (100 * r.meanAbsRelError).toFixed(1), String(r.oneEmpty),
    ])));
    const keys = [...new Set(ev.measurements.map((r) => r.key))];
    out.push(table(['image', 'class', ...keys.map((k) => `${esc(MEASURES[k].name)} ${unit(k)}: pred / ref / error`)], ev.cases.flatMap((c) => c.measurements.classes.map((k) => [
      esc(c.image), label(k.label), ...keys.map((key) => `${val(key, k.pred?.[key])} / ${val(key, k.ref?.[key])} / ${signed(key, measureError(k, key))}`),
    ])), 'dense'));
  }
  out.push('<h3>Per case and class</h3>');
  out.push(table(['image', 'patient', 'site', 'reference', 'class', 'Dice', 'IoU', 'HD95 mm', 'HD mm', 'ASSD mm', 'ref mm³', 'pred mm³', 'empty'], ev.cases.flatMap((c) => c.metrics.classes.map((k) => [
    esc(c.image), esc(c.patient), esc(c.site), `${c.referenceLabelVersionId === null ? '' : `v${c.referenceLabelVersionId} `}${esc(c.referenceSource)}${c.referenceFromModel ? ' ⚠' : ''}`, label(k.label),
    fmt(k.dice, DIGITS.dice), fmt(k.iou, DIGITS.iou), fmt(k.hd95, 2), fmt(k.hd, 2), fmt(k.assd, 2), fmt(k.refVolumeMm3, 0), fmt(k.predVolumeMm3, 0), EMPTY_TEXT[k.empty],
  ])), 'dense'));
  if (ev.skipped.length) {
    out.push('<h3>Skipped images</h3>', table(['image', 'image id', 'reason'], ev.skipped.map((k) => [esc(k.image), String(k.imageId), esc(k.reason)])));
  }
  return out.join('');
}

function comparisonSection(report: EvaluationReport): string {
  const cmp = report.comparison;
  if (!cmp) return '';
  const rows = (c: typeof cmp.dice, d: number): string[][] => c.classes.map((k) => [
    esc(className(report.classes, k.label)), String(k.n), String(k.excluded), fmt(k.meanA, d), fmt(k.meanB, d),
    k.meanDiff === null ? '—' : `${k.meanDiff >= 0 ? '+' : ''}${k.meanDiff.toFixed(d + 1)}`,
    k.ci ? `[${k.ci[0].toFixed(d + 1)}, ${k.ci[1].toFixed(d + 1)}]` : '—', `${k.wins} / ${k.losses} / ${k.ties}`,
  ]);
  const head = ['class', 'paired cases', 'excluded', `v${cmp.a.version}`, `v${cmp.b.version}`, `v${cmp.b.version} − v${cmp.a.version}`, '95% CI', `v${cmp.b.version} better / worse / tie`];
  return [
    `<h2>Comparison: v${cmp.b.version} against v${cmp.a.version}</h2>`,
    `<p>${cmp.dice.matched} paired case(s); bootstrap ${cmp.dice.resamples} resamples of patients, seed ${cmp.dice.seed}. A CI that excludes 0 means the difference is unlikely to be noise.</p>`,
    '<h3>Dice</h3>', table(head, rows(cmp.dice, 3)), `<figure>${forestSvg(report)}<figcaption>Mean paired Dice difference (v${cmp.b.version} − v${cmp.a.version}) with 95% CI.</figcaption></figure>`,
    '<h3>HD95 (mm, lower is better)</h3>', table(head, rows(cmp.hd95, 2)),
  ].join('');
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin-top:22px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f5f7;font-weight:600}table.dense td{padding:1px 6px;font-size:12px;white-space:nowrap}table.notes td:last-child{text-align:left}
.muted{color:#777}.warn{background:#fff6e0;border:1px solid #f0c36d;padding:8px 12px;border-radius:4px}.warn li{margin:2px 0}
figure{margin:8px 0}figcaption{font-size:12px;color:#666}ul.conv{font-size:13px;color:#444}`;

/** A self-contained HTML page: no scripts, no external references. */
export function reportToHtml(report: EvaluationReport, extra: { learningCurve?: LearningCurve } = {}): string {
  const ev = report.primary;
  const body: string[] = [];
  body.push(`<h1>Evaluation of model v${ev.model.version}${report.secondary ? ` vs v${report.secondary.model.version}` : ''} — ${esc(report.project)}</h1>`);
  body.push(
    report.split === 'external'
      ? `<p class="muted">External data: ${report.imagesConsidered} image(s) with reference labels given on the command line · generated ${esc(report.generatedAt)}</p>`
      : `<p class="muted">Split: <b>${esc(report.split)}</b> · ${report.imagesConsidered} image(s) in the split · reference: newest label of source ${esc(report.referenceSources.join(', '))} · generated ${esc(report.generatedAt)}</p>`,
  );
  if (report.warnings.length) body.push(`<div class="warn"><b>Read before trusting these numbers</b><ul>${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`);
  body.push(`<h3>Conventions</h3><ul class="conv">${report.conventions.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>`);
  body.push(comparisonSection(report));
  body.push(modelSection(report, ev));
  if (report.secondary) body.push(modelSection(report, report.secondary));
  if (extra.learningCurve) {
    const lc = extra.learningCurve;
    body.push('<h2>Learning curve</h2>', `<figure>${learningCurveSvg(lc, 'images')}</figure>`, `<figure>${learningCurveSvg(lc, 'minutes')}</figure>`);
    body.push(table(['model', 'labelled images', 'label versions', 'annotation minutes', 'mean Dice', 'Dice from', 'notes'], lc.points.map((p) => [
      `v${p.version}`, String(p.labelledImages), String(p.labelVersions),
      p.annotationMinutes === null ? 'unknown' : `${p.annotationMinutes.toFixed(1)}${p.minutesComplete ? '' : ' (lower bound)'}`,
      fmt(p.meanDice), p.diceSource === 'test-predictions' ? `test, ${p.evaluatedCases} cases` : 'stored validation', esc(p.notes.join(' ')),
    ]), 'notes'));
    if (lc.notes.length || lc.excluded.length) body.push(`<ul class="conv">${[...lc.notes, ...lc.excluded.map((e) => `v${e.version} left out: ${e.reason}`)].map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Segloop evaluation — model v${ev.model.version}</title><style>${CSS}</style></head>
<body>${body.join('\n')}</body></html>
`;
}

export function exportReport(report: EvaluationReport, format: ReportFormat, extra: { learningCurve?: LearningCurve } = {}): { content: string; mimeType: string; fileName: string } {
  const base = `segloop-evaluation-v${report.primary.model.version}${report.secondary ? `-vs-v${report.secondary.model.version}` : ''}-${report.split}`;
  if (format === 'json') return { content: reportToJson(report, extra), mimeType: 'application/json', fileName: `${base}.json` };
  if (format === 'csv') return { content: reportToCsv(report), mimeType: 'text/csv', fileName: `${base}.csv` };
  return { content: reportToHtml(report, extra), mimeType: 'text/html', fileName: `${base}.html` };
}
