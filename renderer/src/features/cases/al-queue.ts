// The Cases screen's active-learning panel without Vue: which pick is next, how far the queue is
// worked through, how a score and a running selection job read. Kept here so it can be tested.
import type { Job } from '../../../../shared/contract';
import type { AlRoundView } from '../../../../shared/al-schema';

export type AlPick = AlRoundView['picks'][number];

export interface QueueRow extends AlPick {
  /** The first pick without a label: what "label next" opens. */
  next: boolean;
}

export function queueRows(round: AlRoundView | null): QueueRow[] {
  if (!round) return [];
  const picks = [...round.picks].sort((a, b) => a.rank - b.rank);
  const nextId = picks.find((p) => p.labelStatus === 'unlabelled')?.imageId ?? null;
  return picks.map((p) => ({ ...p, next: p.imageId === nextId }));
}

export function queueProgress(round: AlRoundView | null): { labelled: number; total: number } {
  if (!round) return { labelled: 0, total: 0 };
  return { labelled: round.picks.filter((p) => p.labelStatus === 'labelled').length, total: round.picks.length };
}

/** Scores span 1e-6 (TTA variance) to ~1 (entropy): fixed decimals would show zeros. */
export function formatScore(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 0.01 && a < 1000 ? v.toFixed(3) : v.toExponential(2);
}

/** A readable name for the documented score keys (PREDICTION_SCORE_KEYS). */
export function scoreLabel(key: string | null): string {
  const names: Record<string, string> = {
    meanEntropy: 'mean entropy',
    foregroundEntropy: 'foreground entropy',
    meanTtaVariance: 'TTA variance',
    mcVariance: 'MC-dropout variance',
    bald: 'BALD',
    margin: 'margin',
    ensembleDisagreement: 'ensemble disagreement',
  };
  return key ? (names[key] ?? key) : 'score';
}

export function jobLine(job: Pick<Job, 'status' | 'progress' | 'message' | 'etaSeconds' | 'queuedBehind'>): string {
  if (job.status === 'queued') return job.queuedBehind ? `Waiting for the running ${job.queuedBehind.kind} job to finish…` : 'Queued…';
  const pct = job.progress === null ? '' : `${Math.round(job.progress * 100)} %`;
  const eta = job.etaSeconds !== null && job.etaSeconds > 0 && job.status === 'running' ? `ETA ${job.etaSeconds < 90 ? `${Math.ceil(job.etaSeconds)} s` : `${Math.ceil(job.etaSeconds / 60)} min`}` : '';
  return [job.message, pct, eta].filter(Boolean).join(' · ');
}

export interface StartCheck {
  ok: boolean;
  why: string | null;
}

/** Whether the form may start a round, and why not (shown beside the button). */
export function canStart(o: { strategyNeedsModel: boolean; hasModel: boolean; count: number; selectable: number; running: boolean }): StartCheck {
  if (o.running) return { ok: false, why: 'A selection is running.' };
  if (o.selectable === 0) return { ok: false, why: 'Every case outside the test split has a label: nothing to select.' };
  if (!Number.isInteger(o.count) || o.count < 1) return { ok: false, why: 'The count must be a whole number of at least 1.' };
  if (o.count > o.selectable) return { ok: false, why: `Only ${o.selectable} unlabelled case(s) can be selected.` };
  if (o.strategyNeedsModel && !o.hasModel) return { ok: false, why: 'This strategy needs a trained model: train one first, or pick random.' };
  return { ok: true, why: null };
}
