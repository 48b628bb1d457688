// Chart and table helpers of the Models screen: the per-class comparison of two versions on the
// frozen test split, and which action a version's row offers.
import type { ModelVersionView } from '../../../../shared/models-schema';
import type { ChartOption } from '../../ui/echarts';

export interface CompareClass {
  name: string;
  diceA: number | null;
  diceB: number | null;
  hd95A: number | null;
  hd95B: number | null;
}

/** Grouped bars: Dice (left axis, 0..1) and HD95 in mm (right axis), version A beside version B, per class. */
export function compareOption(classes: readonly CompareClass[], a: string, b: string): ChartOption {
  const names = classes.map((c) => c.name);
  return {
    backgroundColor: 'transparent',
    title: { text: `Test split: ${a} vs ${b}`, left: 4, textStyle: { fontSize: 12 } },
    legend: { top: 2, right: 4, itemWidth: 14, textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis' },
    grid: [
      { left: 40, right: '53%', top: 78, bottom: 44 },
      { left: '59%', right: 12, top: 78, bottom: 44 },
    ],
    // Class names are long ("posterior hippocampus"): one word per line, every label shown.
    xAxis: [0, 1].map((gridIndex) => ({ type: 'category', data: names, gridIndex, axisLabel: { interval: 0, fontSize: 10, formatter: (v: string) => v.split(' ').join('\n') } })),
    yAxis: [
      { type: 'value', min: 0, max: 1, gridIndex: 0, name: 'Dice', nameGap: 8 },
      { type: 'value', gridIndex: 1, name: 'HD95 (mm)', nameGap: 8 },
    ],
    series: [
      { type: 'bar', name: `${a} Dice`, xAxisIndex: 0, yAxisIndex: 0, data: classes.map((c) => c.diceA), itemStyle: { color: '#8d99a6' } },
      { type: 'bar', name: `${b} Dice`, xAxisIndex: 0, yAxisIndex: 0, data: classes.map((c) => c.diceB), itemStyle: { color: '#4aa3ff' } },
      { type: 'bar', name: `${a} HD95`, xAxisIndex: 1, yAxisIndex: 1, data: classes.map((c) => c.hd95A), itemStyle: { color: '#6e7781' } },
      { type: 'bar', name: `${b} HD95`, xAxisIndex: 1, yAxisIndex: 1, data: classes.map((c) => c.hd95B), itemStyle: { color: '#d29922' } },
    ],
  };
}

export type RowAction = 'in-use' | 'promote' | 'rollback' | 'none';

/**
 * Roll back for an older version that was in use before (a deliberate return to a known version),
 * promote (through the gate) for any other, nothing for a version without weights.
 */
export function rowAction(m: Pick<ModelVersionView, 'id' | 'version' | 'status' | 'hasWeights' | 'wasPromoted'>, promoted: Pick<ModelVersionView, 'id' | 'version'> | null): RowAction {
  if (promoted && m.id === promoted.id) return 'in-use';
  if (!m.hasWeights) return 'none';
  // Only a version that was in use before can be returned to without the gate; any other goes through it.
  if (promoted && m.version < promoted.version && m.wasPromoted) return 'rollback';
  return 'promote';
}

export const fmt = (v: number | null | undefined, digits = 3): string => (v == null || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** The default pair to compare: the version in use against the newest other version. */
export function defaultPair(models: readonly Pick<ModelVersionView, 'id' | 'version'>[], promotedId: string | null): [string, string] | null {
  if (models.length < 2) return null;
  const newest = [...models].sort((x, y) => y.version - x.version);
  const a = promotedId ?? newest[1].id;
  const b = newest.find((m) => m.id !== a)!.id;
  return [a, b];
}

/** "wasm (2 threads; our kernels: …)" -> "wasm (2 threads)" (the same rule as the Training screen; features do not import each other). */
export function shortBackend(backend: string | null | undefined): string {
  if (!backend) return '—';
  return backend.replace(/;[^)]*\)/, ')');
}
