import { describe, expect, it } from 'vitest';
import type { PredictionView } from '../../../../shared/review-schema';
import { batchCandidates, nextUnreviewed, reviewable, reviewOrder, stepFrom } from './review-queue';

function pred(id: number, confidence: number | null, extra: Partial<PredictionView> = {}): PredictionView {
  return {
    id: String(id),
    imageId: String(id * 10),
    image: `case_${id}`,
    patient: `p${id}`,
    split: 'pool',
    modelId: '1',
    modelVersion: 2,
    tta: true,
    hasUncertainty: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    confidence,
    meanTtaVariance: 0.01,
    foregroundVoxels: 100,
    review: null,
    currentLabelVersionId: null,
    currentLabelSource: null,
    ...extra,
  };
}

const reviewed = { decision: 'accept' as const, at: '2026-01-01T00:00:01.000Z', labelVersionId: '9' };

describe('review queue', () => {
  it('puts unreviewed first, least confident first, reviewed last', () => {
    const list = reviewOrder([pred(1, 0.99), pred(2, 0.5, { review: reviewed }), pred(3, 0.7), pred(4, null)]);
    expect(list.map((p) => p.id)).toEqual(['4', '3', '1', '2']);
  });

  it('never offers predictions of the test split', () => {
    expect(reviewable([pred(1, 0.5, { split: 'test' }), pred(2, 0.5), pred(3, 0.5, { split: null })]).map((p) => p.id)).toEqual(['2', '3']);
  });

  it('next unreviewed skips reviewed ones and wraps; null when none is left', () => {
    const list = [pred(1, 0.5), pred(2, 0.6, { review: reviewed }), pred(3, 0.7)];
    expect(nextUnreviewed(list, '1')?.id).toBe('3');
    expect(nextUnreviewed(list, '3')?.id).toBe('1');
    expect(nextUnreviewed(list, null)?.id).toBe('1');
    expect(nextUnreviewed([pred(1, 0.5)], '1')).toBeNull();
    expect(nextUnreviewed([pred(1, 0.5, { review: reviewed })], null)).toBeNull();
  });

  it('steps clamp at the ends', () => {
    const list = [pred(1, 0.5), pred(2, 0.6)];
    expect(stepFrom(list, '1', 1)?.id).toBe('2');
    expect(stepFrom(list, '2', 1)?.id).toBe('2');
    expect(stepFrom(list, '1', -1)?.id).toBe('1');
    expect(stepFrom(list, 'gone', 1)?.id).toBe('1');
    expect(stepFrom([], null, 1)).toBeNull();
  });

  it('batch takes unreviewed predictions at or above the threshold with no label on the image, most confident first', () => {
    const list = [
      pred(1, 0.95),
      pred(2, 0.9),
      pred(3, 0.89),
      pred(4, null),
      pred(5, 0.99, { review: reviewed }),
      pred(6, 0.97, { currentLabelVersionId: '4', currentLabelSource: 'manual' }),
    ];
    expect(batchCandidates(list, 0.9).map((p) => p.id)).toEqual(['1', '2']);
    expect(batchCandidates(list, 0).map((p) => p.id)).toEqual(['1', '2', '3']);
    expect(batchCandidates(list, 1)).toEqual([]);
  });
});
