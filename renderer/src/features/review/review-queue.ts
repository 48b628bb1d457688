// What the Review screen lists and in which order, and which predictions a batch accept would
// take: pure functions over the predictions:list view, so the rules are tested without a browser.
import type { PredictionView } from '../../../../shared/review-schema';

/**
 * What a reviewer is shown: predictions of the frozen test split exist to measure the model and
 * can never become labels (the server refuses them), so they are not offered.
 */
export function reviewable(predictions: readonly PredictionView[]): PredictionView[] {
  return predictions.filter((p) => p.split !== 'test');
}

/** Unreviewed first (least confident first: where a reviewer is most needed), then reviewed by image. */
export function reviewOrder(predictions: readonly PredictionView[]): PredictionView[] {
  const conf = (p: PredictionView): number => p.confidence ?? -1;
  return [...predictions].sort((a, b) => {
    if (!a.review !== !b.review) return a.review ? 1 : -1;
    if (!a.review) return conf(a) - conf(b) || Number(a.imageId) - Number(b.imageId);
    return Number(a.imageId) - Number(b.imageId);
  });
}

/** The next unreviewed prediction after `currentId` in list order (wrapping), or null when none is left. */
export function nextUnreviewed(list: readonly PredictionView[], currentId: string | null): PredictionView | null {
  const start = Math.max(0, list.findIndex((p) => p.id === currentId) + 1);
  for (let k = 0; k < list.length; k++) {
    const p = list[(start + k) % list.length];
    if (!p.review && p.id !== currentId) return p;
  }
  return null;
}

/** Step through the list (any review state), clamped at the ends. */
export function stepFrom(list: readonly PredictionView[], currentId: string | null, delta: 1 | -1): PredictionView | null {
  if (!list.length) return null;
  const i = list.findIndex((p) => p.id === currentId);
  if (i < 0) return list[0];
  return list[Math.min(list.length - 1, Math.max(0, i + delta))];
}

/**
 * The predictions a batch accept at `threshold` takes: unreviewed, with a known confidence at or
 * above it, and none for an image whose current label is manual work (a person's label is never
 * replaced in bulk; review such a case one by one).
 */
export function batchCandidates(predictions: readonly PredictionView[], threshold: number): PredictionView[] {
  return predictions
    .filter((p) => !p.review && p.confidence !== null && p.confidence >= threshold && p.currentLabelVersionId === null)
    .sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0) || Number(a.imageId) - Number(b.imageId));
}

export function formatConfidence(c: number | null): string {
  return c === null ? '—' : `${(c * 100).toFixed(1)} %`;
}
