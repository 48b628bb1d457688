import { describe, expect, it } from 'vitest';
import type { CompositionGroup, DiagnosticsReportWire } from '../../../../shared/diagnostics-schema';
import { barColour, compositionBars, compositionOption, fmt, histogramOption, isShifted } from './chart-options';

const pair = (patients: number, images: number) => ({ patients, images });
const report = {
  composition: {
    total: pair(8, 10),
    byLabelState: { labelled: pair(5, 6), pseudo: pair(1, 1), unlabelled: pair(2, 3) },
    bySource: {},
    bySite: [],
    bySplit: [],
  },
} as unknown as DiagnosticsReportWire;
const groups: CompositionGroup[] = [
  { by: 'site', name: 'A', counts: { labelled: pair(5, 6), pseudo: pair(0, 0), unlabelled: pair(0, 0) } },
  { by: 'split', name: 'pool', counts: { labelled: pair(0, 0), pseudo: pair(1, 1), unlabelled: pair(2, 3) } },
  { by: 'split', name: 'train', counts: { labelled: pair(5, 6), pseudo: pair(0, 0), unlabelled: pair(0, 0) } },
];

describe('diagnostics chart options', () => {
  it('stacks labelled / pseudo / unlabelled: all first, then splits, then sites, in subjects or images', () => {
    const p = compositionBars(report, groups, 'patients');
    expect(p.map((b) => b.category)).toEqual(['all', 'split: pool', 'split: train', 'site: A']);
    expect(p[0]).toEqual({ category: 'all', labelled: 5, pseudo: 1, unlabelled: 2 });
    const i = compositionBars(report, groups, 'images');
    expect(i[0]).toEqual({ category: 'all', labelled: 6, pseudo: 1, unlabelled: 3 });
    const opt = compositionOption(p, 'patients') as { yAxis: { data: string[] }; series: { stack: string; data: number[] }[] };
    // Category axes draw bottom-up: the list is reversed so "all" reads first.
    expect(opt.yAxis.data[opt.yAxis.data.length - 1]).toBe('all');
    expect(opt.series.map((s) => s.stack)).toEqual(['state', 'state', 'state']);
    expect(opt.series[0].data.at(-1)).toBe(5);
  });

  it('draws one line per group over bin centres, nulls as 0', () => {
    const o = histogramOption([{ name: 'a', histogram: [0.5, null, 0.5, 0] }], 'site') as { xAxis: { data: string[] }; series: { data: number[] }[] };
    expect(o.xAxis.data).toEqual(['0.125', '0.375', '0.625', '0.875']);
    expect(o.series[0].data).toEqual([0.5, 0, 0.5, 0]);
  });

  it('flags shifts with the core thresholds and formats non-finite values', () => {
    expect(isShifted({ jensenShannon: 0.05, scaleRatio: 8.8 })).toBe(true);
    expect(isShifted({ jensenShannon: 0.2, scaleRatio: 1 })).toBe(true);
    expect(isShifted({ jensenShannon: 0.05, scaleRatio: 1.2 })).toBe(false);
    expect(isShifted({ jensenShannon: 0.05, scaleRatio: null })).toBe(true);
    expect(fmt(null)).toBe('∞/NaN');
    expect(fmt(2196.32)).toBe('2196');
    expect(fmt(1704295.25)).toBe('1.70e+6');
    expect(barColour(0, new Map([[0, '#000000']]))).not.toBe('#000000');
    expect(barColour(1, new Map([[1, '#ff0000']]))).toBe('#ff0000');
  });
});
