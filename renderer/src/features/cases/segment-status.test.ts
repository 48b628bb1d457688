import { describe, expect, it } from 'vitest';
import { caseProgress, matchesStatusFilter, type CaseStatuses } from './segment-status';

const row = (labelVersionId: string | null, tracked: boolean, ...statuses: CaseStatuses['classes'][number]['status'][]): CaseStatuses => ({
  labelVersionId,
  tracked,
  classes: statuses.map((status, i) => ({ classIndex: i + 1, status, note: null, explicit: tracked })),
});

describe('cases: segment status summary and filter', () => {
  const unlabelled = row(null, false, 'not_started', 'not_started');
  const imported = row('1', false, 'done', 'done');
  const half = row('2', true, 'done', 'in_progress');
  const flagged = row('3', true, 'done', 'flagged');
  const complete = row('4', true, 'done', 'done');

  it('summarises a case by its least finished class', () => {
    expect([unlabelled, imported, half, flagged, complete].map(caseProgress)).toEqual(['incomplete', 'done', 'incomplete', 'flagged', 'done']);
    expect(caseProgress(undefined)).toBe('incomplete');
  });

  it('filters: incomplete includes flagged and unlabelled cases; flagged only flagged; done only complete ones', () => {
    const all = [unlabelled, imported, half, flagged, complete];
    expect(all.filter((s) => matchesStatusFilter(s, 'incomplete'))).toEqual([unlabelled, half, flagged]);
    expect(all.filter((s) => matchesStatusFilter(s, 'flagged'))).toEqual([flagged]);
    expect(all.filter((s) => matchesStatusFilter(s, 'done'))).toEqual([imported, complete]);
    expect(all.filter((s) => matchesStatusFilter(s, 'all'))).toHaveLength(5);
  });
});
