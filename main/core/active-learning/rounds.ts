// Reading active-learning rounds back, and the stop signal.
//
// al_rounds.scores holds, keyed by image id (string), every scored image's scores under
// PREDICTION_SCORE_KEYS (+ foregroundVoxels), and under ROUND_META_KEY the round's metadata:
// seed, params, model ids/version, the score the strategy ranked by, and the ordered picks with
// their reasons. `selected` (its own column) is the picks' image ids in the same order.
//
// Stop signal ("edit Dice"): for every review that saved a label version (accept or edit), the
// Dice between the prediction the reviewer was shown and the label they saved. 1.0 = accepted
// unchanged; when the per-round mean stays near 1 the model already proposes what reviewers keep,
// and labelling more stops paying (the curve MONAI Label users ask for).
import type { ProjectStore } from '../project';
import type { AlRoundRow } from '../project/types';
import { readNifti } from '../imaging/nifti';
import { dicePerClass } from '../ml/trainer';
import type { Pick } from './strategies';

export const ROUND_META_KEY = '_round';

export interface AlRoundMeta {
  format: 'segloop-al-round/1';
  seed: number;
  params: Record<string, unknown>;
  /** Empty (and modelVersion null): a model-free strategy ran without a model. */
  modelIds: number[];
  modelVersion: number | null;
  /** The score the strategy ranked by (null: random / diversity only). */
  scoreKey: string | null;
  picks: Pick[];
  backend: string;
}

export interface AlRound {
  id: number;
  strategy: string;
  modelId: number | null;
  modelVersion: number | null;
  seed: number | null;
  params: Record<string, unknown>;
  scoreKey: string | null;
  /** The ordered queue (rank 1 first). Rounds written before picks existed get reason ''. */
  picks: Pick[];
  /** Per-image scores, keyed by image id. */
  scores: Record<number, Record<string, number>>;
  createdAt: string;
}

function metaOf(row: AlRoundRow): AlRoundMeta | null {
  const m = (row.scores as Record<string, unknown>)[ROUND_META_KEY];
  return m && typeof m === 'object' && (m as { format?: unknown }).format === 'segloop-al-round/1' ? (m as unknown as AlRoundMeta) : null;
}

export function toAlRound(row: AlRoundRow): AlRound {
  const meta = metaOf(row);
  const scores: Record<number, Record<string, number>> = {};
  for (const [k, v] of Object.entries(row.scores)) {
    if (k === ROUND_META_KEY || !/^\d+$/.test(k)) continue;
    if (typeof v === 'number') scores[Number(k)] = { score: v };
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      scores[Number(k)] = Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
    }
  }
  const picks: Pick[] = meta?.picks ?? row.selected.map((imageId, i) => ({ imageId, rank: i + 1, score: null, reason: '' }));
  return {
    id: row.id,
    strategy: row.strategy,
    modelId: row.modelId,
    modelVersion: meta?.modelVersion ?? null,
    seed: meta?.seed ?? null,
    params: meta?.params ?? {},
    scoreKey: meta?.scoreKey ?? null,
    picks,
    scores,
    createdAt: row.createdAt,
  };
}

/** Every round, oldest first. */
export function alRoundsOf(store: ProjectStore): AlRound[] {
  return store.alRounds.list().map(toAlRound);
}

/** The round's picks that have no label yet, in the round's order: what "label next" follows. */
export function queueOf(round: AlRound, labelledImageIds: Iterable<number>): Pick[] {
  const done = new Set(labelledImageIds);
  return round.picks.filter((p) => !done.has(p.imageId));
}

export interface EditDice {
  reviewId: number;
  predictionId: number;
  imageId: number;
  labelVersionId: number;
  decision: string;
  /** The newest round (created before the review) whose picks hold this image; null = none. */
  roundId: number | null;
  /** Mean Dice over the foreground classes present in either map; null if both are empty. */
  dice: number | null;
  dicePerClass: (number | null)[];
  createdAt: string;
}

export async function editDiceOf(store: ProjectStore): Promise<EditDice[]> {
  const rounds = alRoundsOf(store);
  const out: EditDice[] = [];
  for (const r of store.reviews.list()) {
    if (r.labelVersionId === null) continue; // a rejection saves no label
    const pred = store.predictions.require(r.predictionId);
    const lv = store.labelVersions.require(r.labelVersionId);
    const [a, b] = await Promise.all([readNifti(await store.resolve(pred.path)), readNifti(await store.resolve(lv.path))]);
    let K = 2;
    for (const v of a.data) if (v + 1 > K) K = v + 1;
    for (const v of b.data) if (v + 1 > K) K = v + 1;
    const pa = Uint8Array.from(a.data, (v) => Math.round(v));
    const pb = Uint8Array.from(b.data, (v) => Math.round(v));
    const per = pa.length === pb.length ? dicePerClass(pa, pb, K) : [];
    const present = per.filter((d): d is number => d !== null);
    const round = [...rounds].reverse().find((x) => x.createdAt <= r.createdAt && x.picks.some((p) => p.imageId === pred.imageId)) ?? null;
    out.push({
      reviewId: r.id,
      predictionId: pred.id,
      imageId: pred.imageId,
      labelVersionId: lv.id,
      decision: r.decision,
      roundId: round?.id ?? null,
      dice: present.length ? present.reduce((s, d) => s + d, 0) / present.length : null,
      dicePerClass: per,
      createdAt: r.createdAt,
    });
  }
  return out;
}

export interface EditDicePerRound {
  roundId: number | null;
  reviews: number;
  meanDice: number | null;
}

/** The stop-signal curve: mean edit Dice per round (null round = reviews outside any round). */
export async function editDiceByRound(store: ProjectStore): Promise<EditDicePerRound[]> {
  const all = await editDiceOf(store);
  const groups = new Map<number | null, number[]>();
  const counts = new Map<number | null, number>();
  for (const e of all) {
    counts.set(e.roundId, (counts.get(e.roundId) ?? 0) + 1);
    if (e.dice !== null) groups.set(e.roundId, [...(groups.get(e.roundId) ?? []), e.dice]);
  }
  return [...counts.keys()]
    .sort((x, y) => (x ?? -1) - (y ?? -1))
    .map((roundId) => {
      const d = groups.get(roundId) ?? [];
      return { roundId, reviews: counts.get(roundId) ?? 0, meanDice: d.length ? d.reduce((s, v) => s + v, 0) / d.length : null };
    });
}
