// `segloop prune <dir>`: DAD data pruning (literature 002). Ranks the images a training run
// trained on by their Dynamic Average Dice (runs/<id>/dad.json, recorded by the trainer) and puts
// the lowest (or highest) fraction into the training exclusion set, which the next `segloop train`
// honours. Nothing is deleted; `--restore` brings images back; every change is audited.
import path from 'node:path';
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { runDirOf } from '../../core/jobs/train-job';
import { DAD_FILE, movingDistance, rankByDad, readDadFile, selectByDad, type DadRank } from '../../core/ml/dad';
import { excludeImages, listExclusions, restoreImages } from '../../core/ml/dad-exclusions';
import { createRng } from '../../core/ml/data/prng';
import { ProjectStore } from '../../core/project';
import { emit } from '../output';
import { parseIdList } from '../../core/base/ids';

interface PruneFlags {
  run?: string;
  lowest?: string;
  highest?: string;
  random?: string;
  seed?: string;
  dryRun?: boolean;
  restore?: boolean;
  images?: string;
  list?: boolean;
  json?: boolean;
}

/** "30%" or "0.3" -> 0.3 */
export function parseFraction(flag: string, v: string): number {
  const t = v.trim();
  const x = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (!(x > 0 && x < 1)) throw new SegloopError('INVALID_ARGUMENT', `--${flag} takes a fraction between 0 and 1 or a percentage like 30%, got "${v}".`);
  return x;
}

const imageIdOf = (caseId: string): number => {
  const m = /^image-(\d+)$/.exec(caseId);
  if (!m) throw new SegloopError('PROJECT_CORRUPT', `Unexpected case id "${caseId}" in a DAD record.`);
  return Number(m[1]);
};

export interface PrunePlan {
  runId: number;
  mode: 'lowest' | 'highest' | 'random';
  fraction: number;
  ranked: number;
  unscored: string[];
  selected: { imageId: number; dad: number | null; rank: number | null }[];
  movingDistance: { epoch: number; distance: number }[];
}

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
    const rng = createRng(seed);
    const pool: DadRank[] = [...ranking];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const n = Math.ceil(fraction * ranking.length - 1e-9);
    selected = pool.slice(0, n).map((r) => ({ imageId: imageIdOf(r.id), dad: r.dad, rank: r.rank }));
  } else {
    selected = selectByDad(ranking, fraction, mode).map((r) => ({ imageId: imageIdOf(r.id), dad: r.dad, rank: r.rank }));
  }
  return { runId, mode, fraction, ranked: ranking.length, unscored, selected, movingDistance: movingDistance(dad.epochs) };
}

export function registerPrune(program: Command): void {
  program
    .command('prune <dir>')
    .description('DAD data pruning: exclude the images of a training run with the lowest (or highest) Dynamic Average Dice from the next trainings; --restore brings them back (nothing is deleted)')
    .option('--run <id>', 'training run whose DAD scores rank the images')
    .option('--lowest <fraction>', 'exclude this fraction with the lowest DAD (hardest), e.g. 30%')
    .option('--highest <fraction>', 'exclude this fraction with the highest DAD (easiest)')
    .option('--random <fraction>', 'exclude a seeded random fraction of the same images (baseline for comparisons)')
    .option('--seed <n>', 'seed for --random', '1')
    .option('--dry-run', 'show the ranking and what would be excluded; change nothing')
    .option('--restore', 'take images out of the exclusion set (all, or --images)')
    .option('--images <ids>', 'with --restore: only these image ids')
    .option('--list', 'show the current exclusion set')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: PruneFlags) => {
      const modes = [f.lowest, f.highest, f.random].filter((v) => v !== undefined).length;
      const actions = [Boolean(f.restore), Boolean(f.list), modes > 0].filter(Boolean).length;
      if (actions !== 1 || modes > 1) {
        throw new SegloopError('INVALID_ARGUMENT', 'Give exactly one of --lowest <f>, --highest <f>, --random <f> (with --run <id>), --restore or --list.');
      }
      if (f.images !== undefined && !f.restore) throw new SegloopError('INVALID_ARGUMENT', '--images goes with --restore.');
      const store = await ProjectStore.open(dir);
      try {
        if (f.list) {
          const rows = listExclusions(store);
          emit(f, rows, () => (rows.length ? rows.map((e) => `image ${e.imageId}  run ${e.runId ?? '-'}  DAD ${e.dad === null ? '-' : e.dad.toFixed(4)}  ${e.reason}  (${e.actor}, ${e.at})`).join('\n') : 'no image is excluded from training'));
          return;
        }
        if (f.restore) {
          const restored = restoreImages(store, { imageIds: parseIdList('images', f.images) });
          emit(f, { restored: restored.map((e) => e.imageId) }, () => `${restored.length} image(s) restored to training${restored.length ? `: ${restored.map((e) => e.imageId).join(', ')}` : ''}`);
          return;
        }
        if (f.run === undefined) throw new SegloopError('INVALID_ARGUMENT', '--lowest/--highest/--random need --run <id> (the training run whose DAD scores rank the images).');
        const runId = parseIdList('run', f.run)?.[0] as number;
        const mode: PrunePlan['mode'] = f.lowest !== undefined ? 'lowest' : f.highest !== undefined ? 'highest' : 'random';
        const fraction = parseFraction(mode, (f.lowest ?? f.highest ?? f.random) as string);
        const seed = Number(f.seed);
        if (!Number.isInteger(seed)) throw new SegloopError('INVALID_ARGUMENT', `--seed must be an integer, got "${f.seed}".`);
        const plan = await planPrune(store, runId, mode, fraction, seed);
        const md = plan.movingDistance.at(-1);
        const summary = `run ${runId}: ${plan.ranked} images ranked by DAD${plan.unscored.length ? ` (${plan.unscored.length} never scored, kept)` : ''}; ranking moving distance at the last epoch ${md ? md.distance.toFixed(4) : '-'}`;
        if (f.dryRun) {
          emit(f, plan, () => [summary, `would exclude ${plan.selected.length} (${mode} ${(fraction * 100).toFixed(0)}%):`, ...plan.selected.map((s) => `  image ${s.imageId}  DAD ${s.dad === null ? '-' : s.dad.toFixed(4)}`)].join('\n'));
          return;
        }
        const res = excludeImages(store, {
          imageIds: plan.selected.map((s) => s.imageId),
          runId,
          dad: new Map(plan.selected.filter((s) => s.dad !== null).map((s) => [s.imageId, s.dad as number])),
          reason: mode === 'random' ? `random ${(fraction * 100).toFixed(1)}% (seed ${seed}) of run ${runId}'s images` : `${mode} ${(fraction * 100).toFixed(1)}% DAD of run ${runId}`,
        });
        emit(f, { ...plan, added: res.added.map((e) => e.imageId), alreadyExcluded: res.alreadyExcluded }, () =>
          [summary, `${res.added.length} image(s) excluded from the next trainings${res.alreadyExcluded.length ? `, ${res.alreadyExcluded.length} already were` : ''}: ${res.added.map((e) => e.imageId).join(', ')}`, 'undo with `segloop prune <dir> --restore`'].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
