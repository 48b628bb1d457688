import { describe, expect, it } from 'vitest';
import type { AlRoundView } from '../../../../shared/al-schema';
import { canStart, formatScore, jobLine, queueProgress, queueRows } from './al-queue';

/** A round whose picks are given as [imageId, rank, labelled], in any array order. */
const round = (picks: [string, number, boolean][]): AlRoundView => ({
  id: '3',
  strategy: 'entropy',
  modelId: '1',
  modelVersion: 1,
  seed: 4,
  params: {},
  scoreKey: 'meanEntropy',
  scored: 5,
  createdAt: '2026-12-02T10:00:00Z',
  picks: picks.map(([imageId, rank, l]) => ({ imageId, image: `img${imageId}`, rank, score: 1 / rank, reason: 'r', labelStatus: l ? 'labelled' : 'unlabelled', labelledSinceRound: l })),
});

describe('al-queue', () => {
  it('orders by rank and marks the first unlabelled pick as next', () => {
    // Out of rank order on purpose: the queue is ordered by rank, not by array position.
    const rows = queueRows(round([['30', 3, false], ['10', 1, true], ['20', 2, false]]));
    expect(rows.map((r) => r.imageId)).toEqual(['10', '20', '30']);
    expect(rows.filter((r) => r.next).map((r) => r.imageId)).toEqual(['20']);
    expect(queueRows(round([['10', 1, false], ['20', 2, false]])).find((r) => r.next)?.imageId).toBe('10');
    expect(queueRows(round([['10', 1, true], ['20', 2, true]])).some((r) => r.next)).toBe(false);
    expect(queueRows(null)).toEqual([]);
    expect(queueProgress(round([['1', 1, true], ['2', 2, false], ['3', 3, true]]))).toEqual({ labelled: 2, total: 3 });
  });

  it('formats scores across their orders of magnitude', () => {
    expect(formatScore(0.6931)).toBe('0.693');
    expect(formatScore(3.2e-5)).toBe('3.20e-5');
    expect(formatScore(null)).toBe('—');
    expect(formatScore(Number.NaN)).toBe('—');
    expect(formatScore(0)).toBe('0');
  });

  it('says why a round cannot start', () => {
    const ok = { strategyNeedsModel: true, hasModel: true, count: 2, selectable: 5, running: false };
    expect(canStart(ok)).toEqual({ ok: true, why: null });
    expect(canStart({ ...ok, hasModel: false }).why).toMatch(/needs a trained model/);
    expect(canStart({ ...ok, strategyNeedsModel: false, hasModel: false }).ok).toBe(true);
    expect(canStart({ ...ok, count: 6 }).why).toMatch(/Only 5/);
    expect(canStart({ ...ok, count: 0 }).ok).toBe(false);
    expect(canStart({ ...ok, selectable: 0 }).why).toMatch(/nothing to select/);
    expect(canStart({ ...ok, running: true }).ok).toBe(false);
  });

  it('reads a job as one line', () => {
    expect(jobLine({ status: 'running', progress: 0.4, message: 'scored 2/5 (pool:7)', etaSeconds: 30, queuedBehind: null })).toBe('scored 2/5 (pool:7) · 40 % · ETA 30 s');
    expect(jobLine({ status: 'queued', progress: 0, message: 'Queued', etaSeconds: null, queuedBehind: { jobId: 'x', kind: 'train' } })).toMatch(/running train job/);
  });
});
