// Chart options of the Training screen: training loss and validation Dice per class, per epoch.
import type { EpochPoint } from '../../../../shared/training-schema';
import type { ChartOption } from '../../ui/echarts';

export function lossOption(points: readonly EpochPoint[]): ChartOption {
  return {
    backgroundColor: 'transparent',
    grid: { left: 50, right: 50, top: 62, bottom: 30 },
    title: { text: 'Training loss', left: 4, textStyle: { fontSize: 12 } },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'epoch', minInterval: 1 },
    yAxis: { type: 'value', scale: true },
    series: [{ type: 'line', name: 'loss', showSymbol: true, data: points.map((p) => [p.epoch, p.trainLoss]) }],
  };
}

export function diceOption(points: readonly EpochPoint[], classes: readonly string[]): ChartOption {
  return {
    backgroundColor: 'transparent',
    grid: { left: 50, right: 50, top: 62, bottom: 30 },
    title: { text: 'Validation Dice per class', left: 4, textStyle: { fontSize: 12 } },
    // Below the title: class names are long ("posterior hippocampus") and would cover it.
    legend: { top: 30, left: 4, textStyle: { fontSize: 11 } },
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

interface RunPoints {
  id: string;
  resumedFromRunId: string | null;
  epochs: readonly EpochPoint[];
}

/**
 * The curves of a run including the runs it resumed: a resumed run continues its parent's epoch
 * numbering, so the chart shows one continuous history instead of starting over at the resume.
 */
export function chainPoints(runs: readonly RunPoints[], runId: string | null, live: readonly EpochPoint[] = []): EpochPoint[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const chain: RunPoints[] = [];
  const seen = new Set<string>();
  for (let r = runId === null ? undefined : byId.get(runId); r && !seen.has(r.id); r = r.resumedFromRunId ? byId.get(r.resumedFromRunId) : undefined) {
    seen.add(r.id);
    chain.unshift(r);
  }
  const out: EpochPoint[] = [];
  for (const p of [...chain.flatMap((r) => r.epochs), ...live]) {
    // A later run's epoch replaces an earlier one of the same number (work after the checkpoint is redone).
    while (out.length && out[out.length - 1].epoch >= p.epoch) out.pop();
    out.push(p);
  }
  return out;
}

export function formatStep(seconds: number | null | undefined): string {
  if (seconds == null) return '—';
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

/** "wasm (2 threads; our kernels: Conv2DBackpropFilter, …)" -> "wasm (2 threads)": the kernel list goes in a tooltip. */
export function shortBackend(backend: string | null | undefined): string {
  if (!backend) return '—';
  return backend.replace(/;[^)]*\)/, ')');
}

/** A run's note for the screen: the trainer's hints name the command line, which a desktop user does not need. */
export function runNote(error: string | null, resumable: boolean): string {
  const text = (error ?? '').replace(/\s*Continue it[^.]*`segloop train --resume`\.?/g, '').trim();
  return resumable ? `${text}${text ? ' ' : ''}Resume it with the Resume button.` : text;
}

/** What the trainer's progress line says (main/core/ml/trainer-callbacks.ts progressCallback), split for the screen. */
export interface LiveProgress {
  /** "epoch 1/20 step 3/50 loss 0.7159", or null for other lines (loading...). */
  step: string | null;
  epoch: number | null;
  stepSeconds: number | null;
  planSeconds: number | null;
  /** "epoch 1 steps done in ~57 s" (first epoch only). */
  epochLeft: string | null;
  /** The slow-step warning ("⚠ steps 5.2x slower than planned …"), or null. */
  warning: string | null;
  /** The message without the warning (for the status line). */
  text: string;
}

const seconds = (v: string, unit: string): number => Number(v) / (unit === 'ms' ? 1000 : 1);

export function parseProgressMessage(message: string): LiveProgress {
  const parts = message.split(' · ');
  const warning = parts.find((p) => p.startsWith('⚠')) ?? null;
  const rest = parts.filter((p) => p !== warning);
  const head = /^epoch (\d+)(?:\/\d+)? step \d+\/\d+/.exec(rest[0] ?? '');
  const time = rest.map((p) => /^([\d.]+) (s|ms)\/step/.exec(p)).find(Boolean);
  const plan = rest.map((p) => /\(plan ~([\d.]+) (s|ms)\)/.exec(p)).find(Boolean);
  return {
    step: head ? rest[0] : null,
    epoch: head ? Number(head[1]) : null,
    stepSeconds: time ? seconds(time[1], time[2]) : null,
    planSeconds: plan ? seconds(plan[1], plan[2]) : null,
    epochLeft: rest.find((p) => /^epoch \d+ steps done in/.test(p)) ?? null,
    warning,
    text: rest.join(' · '),
  };
}
