// The human-readable diagnostics report (segloop diagnose without --json).
import type { DiagnosticsReport, GroupCount, IntensityGroup } from './report';

const num = (v: number, sig = 4): string => {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return v.toLocaleString('en-US');
  return Math.abs(v) >= 1e5 ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(Number(v.toPrecision(sig)));
};

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** A histogram as one line of block characters (height ~ share of voxels, scaled to the tallest bin). */
function sparkline(h: readonly number[], width = 32): string {
  const blocks = ' ▁▂▃▄▅▆▇█';
  const step = Math.max(1, Math.ceil(h.length / width));
  const agg: number[] = [];
  for (let i = 0; i < h.length; i += step) agg.push(h.slice(i, i + step).reduce((a, b) => a + b, 0));
  const max = Math.max(...agg) || 1;
  return agg.map((v) => blocks[Math.round((v / max) * (blocks.length - 1))]).join('');
}

export function formatDiagnostics(r: DiagnosticsReport & { unmatchedLabels?: string[]; imagesWithoutLabel?: string[] }): string {
  const out: string[] = [];
  out.push(r.source.kind === 'project' ? `Diagnostics of project "${r.source.name}" (${r.source.dir})` : `Diagnostics of files in ${r.source.imagesDir}${r.source.labelsDir ? ` with labels in ${r.source.labelsDir}` : ''}`);
  out.push('');
  out.push(`Findings (${r.findings.length})`);
  if (r.findings.length === 0) out.push('  nothing flagged');
  for (const f of r.findings) out.push(`  ${f.severity === 'warning' ? '!' : '-'} [${f.code}] ${f.message}`);

  const c = r.composition;
  if (c) {
    out.push('', 'Composition (patients = subjects; a patient counts in every group it has an image in)');
    out.push(...table(['', 'patients', 'images'], [
      ['total', String(c.total.patients), String(c.total.images)],
      ['labelled', String(c.byLabelState.labelled.patients), String(c.byLabelState.labelled.images)],
      ['pseudo-labelled', String(c.byLabelState.pseudo.patients), String(c.byLabelState.pseudo.images)],
      ['unlabelled', String(c.byLabelState.unlabelled.patients), String(c.byLabelState.unlabelled.images)],
      ...Object.entries(c.bySource).map(([s, p]) => [`  latest source ${s}`, String(p.patients), String(p.images)]),
    ]).map((l) => `  ${l}`));
    const grp = (title: string, g: GroupCount[]): void => {
      out.push('', `  ${title}`);
      out.push(...table(['', 'patients', 'images', 'labelled patients', 'labelled images'], g.map((x) => [x.name, String(x.patients), String(x.images), String(x.labelledPatients), String(x.labelledImages)])).map((l) => `    ${l}`));
    };
    grp('by site/domain', c.bySite);
    grp('by split', c.bySplit);
  }

  out.push('', 'On-disk data types (original files)');
  out.push(`  images: ${Object.entries(r.dtypes.images).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`);
  if (Object.keys(r.dtypes.labels).length) out.push(`  labels: ${Object.entries(r.dtypes.labels).map(([k, v]) => `${v} ${k}`).join(', ')}${r.source.kind === 'project' ? ' (stored label versions; the import converts labels to uint8 — see `segloop diagnose --images --labels` for the source files)' : ''}`);

  const g = r.geometry;
  out.push('', `Geometry (outliers: outside median ± ${r.options.outlierK}·IQR per axis; anisotropy flagged above ${r.options.anisotropyMax})`);
  for (const [title, t] of [['spacing mm', g.spacing], ['shape', g.shape]] as const) {
    out.push(`  ${title}: ` + t.axes.map((s, a) => `axis ${a} median ${num(s.median)} [${num(s.min)}..${num(s.max)}], IQR ${num(s.iqr)}`).join('; '));
    out.push(`    ${t.values.length} distinct value(s); most common: ${t.values.slice(0, 3).map((v) => `${v.value} (${v.images})`).join(', ')}`);
    out.push(`    outliers: ${t.outliers.length ? t.outliers.slice(0, 8).map((o) => `${o.name} ${o.value.join('x')}`).join(', ') + (t.outliers.length > 8 ? ` … (${t.outliers.length})` : '') : 'none'}`);
  }
  out.push(`  orientation: ${g.orientation.counts.map((o) => `${o.axcodes} ${o.images}`).join(', ')}; not ${g.orientation.majority}: ${g.orientation.outliers.length || 'none'}`);
  out.push(`  anisotropic: ${g.anisotropic.length ? g.anisotropic.slice(0, 8).map((a) => `${a.name} ratio ${a.ratio}`).join(', ') : 'none'}`);

  const it = r.intensity;
  if (it) {
    out.push('', `Intensity (raw percentiles = median over the group's images; histogram = mean of per-image histograms normalised to each image's 0.5–99.5 percentiles, ${it.bins} bins)`);
    for (const grp of it.grouped) {
      out.push(`  by ${grp.by}`);
      out.push(...table(['group', 'images', 'p0.5', 'p50', 'p99.5', 'median max', 'max', 'normalised histogram'], grp.groups.map((x: IntensityGroup) => [x.name, String(x.images), num(x.p0_5), num(x.p50), num(x.p99_5), num(x.medianMax), num(x.maxOfMax), sparkline(x.histogram)])).map((l) => `    ${l}`));
      if (grp.shift.length) {
        out.push(...table(['shift', 'JSD (base 2)', 'W1 (0..1)', 'scale ratio'], grp.shift.map((s) => [`${s.a} vs ${s.b}`, s.jensenShannon.toFixed(4), s.wasserstein1.toFixed(4), num(s.scaleRatio, 3)])).map((l) => `    ${l}`));
      } else out.push('    (one group: no shift score)');
    }
    const rs = it.rangeSpread;
    out.push(`  range spread: image max from ${num(rs.minOfMax)} to ${num(rs.maxOfMax)} (ratio ${num(rs.ratio, 3)}), median ${num(rs.medianMax)}; flagged (> ${rs.threshold}x or < 1/${rs.threshold} of the median): ${rs.flagged.length}`);
    for (const f of rs.flagged.slice(0, 10)) out.push(`    ${f.name} (${f.dtype}) max ${num(f.max)} = ${num(f.ratio, 3)}x median`);
    if (rs.flagged.length > 10) out.push(`    … ${rs.flagged.length - 10} more (--json lists all)`);
  }

  const l = r.labels;
  if (l) {
    out.push('', `Labels (${l.checked} checked${r.source.kind === 'project' ? ', latest version per image' : ''}; schema {${l.schema.join(',') || 'any integer >= 0'}})`);
    out.push(...table(['class', 'name', 'voxels', 'share', 'images'], l.classFrequency.map((f) => [String(f.index), f.name ?? '', num(f.voxels), `${(f.fraction * 100).toFixed(2)}%`, String(f.images)])).map((x) => `  ${x}`));
    const listed = (title: string, xs: string[]): void => void out.push(`  ${title}: ${xs.length ? xs.slice(0, 8).join(', ') + (xs.length > 8 ? ` … (${xs.length})` : '') : 'none'}`);
    listed('float label files', l.floatFiles.map((f) => `${f.name} ${f.dtype} values ${f.values.join('/')}`));
    listed('non-integer values', l.nonIntegerFiles.map((f) => `${f.name} (${f.nonIntegerVoxels} voxels)`));
    listed('negative values', l.negativeValues.map((f) => `${f.name} (${f.voxels})`));
    listed('values outside the schema', l.outOfSchema.map((f) => `${f.name} (${f.values.map((v) => `${v.value}: ${v.voxels}`).join(', ')})`));
    listed('empty masks', l.empty);
    listed('geometry mismatch', l.geometryMismatch.map((m) => `${m.name}: ${m.reason}`));
    const t = l.tinyComponents;
    out.push(`  tiny components (< ${t.threshold} voxels, 26-connected, not the largest piece): ${t.images} label(s)` +
      (t.perClass.length ? '; ' + t.perClass.map((p) => `class ${p.index}: ${p.components} piece(s) in ${p.images} label(s), ${p.voxels} voxels`).join('; ') : ''));
    for (const w of t.worst.slice(0, 5)) out.push(`    ${w.name} class ${w.index}: ${w.tinyComponents} tiny of ${w.components} pieces`);
  }
  if (r.unmatchedLabels?.length) out.push('', `Label files matching no image: ${r.unmatchedLabels.join(', ')}`);
  if (r.imagesWithoutLabel?.length) out.push('', `Images without a label file: ${r.imagesWithoutLabel.length} (${r.imagesWithoutLabel.slice(0, 5).join(', ')}${r.imagesWithoutLabel.length > 5 ? ', …' : ''})`);
  if (r.unreadable.length) {
    out.push('', 'Unreadable files');
    for (const u of r.unreadable) out.push(`  ${u.name}: ${u.reason}`);
  }
  return out.join('\n');
}
