// `segloop prune <dir>`: DAD data pruning (literature 002). Ranks the images a training run
// trained on by their Dynamic Average Dice (runs/<id>/dad.json, recorded by the trainer) and puts
// the lowest (or highest) fraction into the training exclusion set, which the next `segloop train`
// honours. Nothing is deleted; `--restore` brings images back; every change is audited. The plan is
// core's (core/jobs/prune-plan.ts); this file parses flags and formats.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { planPrune, type PrunePlan } from '../../core/jobs/prune-plan';
import { excludeImages, listExclusions, restoreImages } from '../../core/ml/dad-exclusions';
import { ProjectStore } from '../../core/project';
import { parseIdList } from '../../core/base/ids';
import { emit } from '../output';

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
