// Pure builders of the diagnostics charts' options and table rows (tested without a browser).
import type { CompositionGroup, DiagnosticsReportWire } from '../../../../shared/diagnostics-schema';
import type { ChartOption } from '../../ui/echarts';

export type Unit = 'patients' | 'images';
export const STATES = ['labelled', 'pseudo', 'unlabelled'] as const;
export const STATE_COLOURS: Record<(typeof STATES)[number], string> = { labelled: '#3fb950', pseudo: '#d29922', unlabelled: '#56606b' };
const STATE_LABELS: Record<(typeof STATES)[number], string> = { labelled: 'labelled', pseudo: 'pseudo-labelled', unlabelled: 'unlabelled' };

const BASE = { backgroundColor: 'transparent', textStyle: { fontFamily: 'system-ui, sans-serif' }, animation: false };

export interface CompositionBar {
  category: string;
  labelled: number;
  pseudo: number;
  unlabelled: number;
}

/** One bar for the whole project, then one per split and one per site. */
export function compositionBars(report: DiagnosticsReportWire, groups: readonly CompositionGroup[], unit: Unit): CompositionBar[] {
  const c = report.composition;
  const bars: CompositionBar[] = [];
  if (c) bars.push({ category: 'all', labelled: c.byLabelState.labelled[unit], pseudo: c.byLabelState.pseudo[unit], unlabelled: c.byLabelState.unlabelled[unit] });
  for (const by of ['split', 'site'] as const) {
    for (const g of groups.filter((x) => x.by === by).sort((a, b) => orderOf(a.name) - orderOf(b.name) || a.name.localeCompare(b.name))) {
      bars.push({ category: `${by}: ${g.name}`, labelled: g.counts.labelled[unit], pseudo: g.counts.pseudo[unit], unlabelled: g.counts.unlabelled[unit] });
    }
  }
  return bars;
}

// Splits in the order data flows (pool -> train -> val -> test); sites (any other name) alphabetically.
const SPLIT_ORDER = ['pool', 'train', 'val', 'test'];
const orderOf = (name: string): number => {
  const i = SPLIT_ORDER.indexOf(name);
  return i < 0 ? SPLIT_ORDER.length : i;
};

export function compositionOption(bars: readonly CompositionBar[], unit: Unit): ChartOption {
  // Top-to-bottom reading order on a category y axis means reversing the list.
  const rows = [...bars].reverse();
  return {
    ...BASE,
    title: { text: unit === 'patients' ? 'Subjects (patients)' : 'Images', left: 0, textStyle: { fontSize: 13 } },
    legend: { top: 0, right: 0, textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 8, right: 16, top: 30, bottom: 4, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map((b) => b.category) },
    series: STATES.map((s) => ({
      name: STATE_LABELS[s],
      type: 'bar',
      stack: 'state',
      itemStyle: { color: STATE_COLOURS[s] },
      label: { show: true, formatter: (p: { value: number }) => (p.value > 0 ? String(p.value) : ''), fontSize: 11 },
      data: rows.map((b) => b[s]),
    })),
  };
}

/** Percentile-normalised intensity (0 = the image's 0.5th, 1 = its 99.5th percentile) per group. */
export function histogramOption(groups: readonly { name: string; histogram: readonly (number | null)[] }[], by: string): ChartOption {
  const bins = Math.max(0, ...groups.map((g) => g.histogram.length));
  const x = Array.from({ length: bins }, (_, i) => ((i + 0.5) / bins).toFixed(3));
  return {
    ...BASE,
    legend: { top: 0, right: 0, textStyle: { fontSize: 11 }, type: 'scroll' },
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => (typeof v === 'number' ? `${(v * 100).toFixed(2)} %` : '—') },
    grid: { left: 8, right: 16, top: 30, bottom: 24, containLabel: true },
    xAxis: { type: 'category', data: x, name: 'normalised intensity (per image p0.5 → p99.5)', nameLocation: 'middle', nameGap: 26, axisLabel: { interval: Math.max(0, Math.floor(bins / 8) - 1) } },
    yAxis: { type: 'value', name: `share of voxels (mean over ${by})`, nameTextStyle: { align: 'left' }, axisLabel: { formatter: (v: number) => `${(v * 100).toFixed(0)}%` } },
    series: groups.map((g) => ({ name: g.name, type: 'line', showSymbol: false, smooth: false, data: g.histogram.map((v) => v ?? 0) })),
  };
}

export function classFrequencyOption(classes: readonly { index: number; name: string | null; voxels: number; images: number }[], colours: ReadonlyMap<number, string>): ChartOption {
  return {
    ...BASE,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 8, right: 16, top: 28, bottom: 4, containLabel: true },
    xAxis: { type: 'category', data: classes.map((c) => `${c.index} ${c.name ?? '(not in schema)'}`), axisLabel: { interval: 0, fontSize: 11 } },
    yAxis: { type: 'log', name: 'voxels (log)', min: 1 },
    series: [
      {
        name: 'voxels',
        type: 'bar',
        data: classes.map((c) => ({ value: Math.max(1, c.voxels), itemStyle: { color: barColour(c.index, colours) } })),
        label: { show: true, position: 'top', fontSize: 11, formatter: (p: { dataIndex: number }) => `${classes[p.dataIndex]?.images ?? 0} img` },
      },
    ],
  };
}

export const fmt = (v: number | null | undefined, digits = 4): string => {
  if (v === null || v === undefined) return '∞/NaN';
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return v.toLocaleString('en-US');
  return Math.abs(v) >= 1e5 ? v.toExponential(2) : String(Number(v.toPrecision(digits)));
};

/** A shift pair worth a warning: the same thresholds as the core findings. */
export function isShifted(s: { jensenShannon: number | null; scaleRatio: number | null }): boolean {
  return (s.jensenShannon ?? 0) > 0.1 || s.scaleRatio === null || s.scaleRatio > 5;
}

/** Schema colours, except that background (usually black) would vanish on the dark panel. */
export function barColour(index: number, colours: ReadonlyMap<number, string>): string {
  const c = colours.get(index);
  if (index === 0 || !c || /^#0{6}$/i.test(c)) return '#6e7681';
  return c;
}
