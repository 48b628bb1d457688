// The Cases screen's reading of segment statuses (segmentStatus:list): one summary word per case
// for sorting and the filter, kept out of the component so it can be tested.
import type { SegmentStatus } from '../../../../shared/segment-status-schema';

export interface CaseStatuses {
  tracked: boolean;
  labelVersionId: string | null;
  classes: { classIndex: number; status: SegmentStatus; note: string | null; explicit: boolean }[];
}

/**
 * flagged: some class is flagged; incomplete: some class is not done (or no label yet);
 * done: every class done (for a version without statuses: every class it labels, the older rule).
 */
export type CaseProgress = 'flagged' | 'incomplete' | 'done';
export type StatusFilter = 'all' | CaseProgress;

export function caseProgress(s: CaseStatuses | undefined): CaseProgress {
  if (!s || s.labelVersionId === null) return 'incomplete';
  if (s.classes.some((c) => c.status === 'flagged')) return 'flagged';
  return s.classes.every((c) => c.status === 'done') ? 'done' : 'incomplete';
}

export function matchesStatusFilter(s: CaseStatuses | undefined, filter: StatusFilter): boolean {
  if (filter === 'all') return true;
  const p = caseProgress(s);
  // A flagged case is incomplete too: it needs someone's attention before training trusts it.
  return filter === 'incomplete' ? p !== 'done' : p === filter;
}

/** Sort rank: flagged first (they need attention), then incomplete, then done. */
export function progressRank(p: CaseProgress): number {
  return p === 'flagged' ? 0 : p === 'incomplete' ? 1 : 2;
}
