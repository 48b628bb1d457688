// Chart options of the Training screen: training loss and validation Dice per class, per epoch.
import type { EpochPoint } from '../../../../shared/training-schema';
import type { ChartOption } from '../../ui/echarts';

export function lossOption(points: readonly EpochPoint[]): ChartOption {
  return {
    backgroundColor: 'transparent',
    grid: { left: 50, right: 16, top: 30, bottom: 30 },
    title: { text: 'Training loss', textStyle: { fontSize: 12 } },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'epoch', minInterval: 1 },
    yAxis: { type: 'value', scale: true },
    series: [{ type: 'line', name: 'loss', showSymbol: true, data: points.map((p) => [p.epoch, p.trainLoss]) }],
  };
}

export function diceOption(points: readonly EpochPoint[], classes: readonly string[]): ChartOption {
  return {
    backgroundColor: 'transparent',
    grid: { left: 50, right: 16, top: 30, bottom: 30 },
    title: { text: 'Validation Dice per class', textStyle: { fontSize: 12 } },
    legend: { top: 0, right: 0, textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'epoch', minInterval: 1 },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: classes.map((name, k) => ({ type: 'line', name, showSymbol: true, data: points.map((p) => [p.epoch, p.valDice[k] ?? null]) })),
  };
}

export function formatEta(seconds: number | null): string {
  if (seconds == null) return '';
  if (seconds < 90) return `${Math.round(seconds)} s left`;
  return `${Math.round(seconds / 60)} min left`;
}
