// DAD data pruning, the decision (literature 002): which images of a training run `segloop prune`
// would take out of future trainings. It reads the run's DAD record (written by the trainer into the
// run's folder) and ranks by ml/dad; the exclusion itself is ml/dad-exclusions (audited, undoable).
// Here in jobs/ because it composes a training run's folder with ml/ scoring.
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { createRng, shuffleInPlace } from '../base/rng';
import { DAD_FILE, movingDistance, rankByDad, readDadFile, selectByDad, type DadRank } from '../ml/dad';
import type { ProjectStore } from '../project';
import { runDirOf } from './train-job';

export interface PrunePlan {
  runId: number;
  mode: 'lowest' | 'highest' | 'random';
  fraction: number;
  ranked: number;
  unscored: string[];
  selected: { imageId: number; dad: number | null; rank: number | null }[];
  movingDistance: { epoch: number; distance: number }[];
}

const imageIdOf = (caseId: string): number => {
  const m = /^image-(\d+)$/.exec(caseId);
  if (!m) throw new SegloopError('PROJECT_CORRUPT', `Unexpected case id "${caseId}" in a DAD record.`);
  return Number(m[1]);
};

/** Which images `segloop prune --run id --lowest|--highest|--random f` would exclude. */
export async function planPrune(store: ProjectStore, runId: number, mode: PrunePlan['mode'], fraction: number, seed = 1): Promise<PrunePlan> {
  store.trainingRuns.require(runId);
  const dad = await readDadFile(path.join(runDirOf(store, runId), DAD_FILE));
  const ranking = rankByDad(dad.epochs);
  const scored = new Set(ranking.map((r) => r.id));
  const unscored = dad.caseIds.filter((id) => !scored.has(id));
  if (!ranking.length) throw new SegloopError('NO_TRAINING_DATA', `Run ${runId} scored no image on its target region: train longer (or with foreground in the patches) before pruning.`);
  let selected: { imageId: number; dad: number | null; rank: number | null }[];
  if (mode === 'random') {
    // Same population as the DAD modes (the run's scored images), same count, seeded.
    const pool = shuffleInPlace<DadRank>([...ranking], createRng(seed).next);
    const n = Math.ceil(fraction * ranking.length - 1e-9);
    selected = pool.slice(0, n).map((r) => ({ imageId: imageIdOf(r.id), dad: r.dad, rank: r.rank }));
  } else {
    selected = selectByDad(ranking, fraction, mode).map((r) => ({ imageId: imageIdOf(r.id), dad: r.dad, rank: r.rank }));
  }
  return { runId, mode, fraction, ranked: ranking.length, unscored, selected, movingDistance: movingDistance(dad.epochs) };
}
