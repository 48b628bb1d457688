// `segloop simulate`: replays active learning with oracle labels on a fully labelled pool and
// writes learning curves (JSON, CSV, SVG) with paired differences against improved-random.
// Resumable: run the same command again with the same --out to continue a stopped simulation.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { runSimulation, type SimCase } from '../../core/active-learning/simulate';
import { defaultTrainingConfig, planFromCases } from '../../core/jobs/train-job';
import type { TrainerConfigInput } from '../../core/ml/trainer';
import { emit } from '../output';

const NIFTI = /\.nii(\.gz)?$/i;

/** Image/label pairs of two folders, matched by file name. */
export async function pairFolders(images: string, labels: string, what: string): Promise<SimCase[]> {
  let names: string[];
  try {
    names = (await fs.readdir(images)).filter((n) => NIFTI.test(n)).sort();
  } catch {
    throw new SegloopError('FILE_NOT_FOUND', `${what} images folder ${images} does not exist.`);
  }
  if (!names.length) throw new SegloopError('FILE_NOT_FOUND', `${what} images folder ${images} holds no NIfTI file.`);
  const out: SimCase[] = [];
  for (const n of names) {
    const labelPath = path.join(labels, n);
    try {
      await fs.access(labelPath);
    } catch {
      throw new SegloopError('FILE_NOT_FOUND', `${what}: image ${n} has no label ${labelPath} (every simulated image needs its oracle label).`);
    }
    const id = n.replace(NIFTI, '');
    out.push({ id, patientId: id, imagePath: path.resolve(images, n), labelPath: path.resolve(labelPath) });
  }
  return out;
}

const int = (flag: string, v: string | undefined, d: number | null): number | null => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new SegloopError('INVALID_ARGUMENT', `--${flag} must be a positive integer, got "${v}".`);
  return n;
};

interface SimFlags {
  images: string;
  labels: string;
  testImages: string;
  testLabels: string;
  strategies: string;
  strategyParams?: string;
  initial: string;
  step: string;
  rounds: string;
  seeds: string;
  stepsPerRound?: string;
  minutesPerRound?: string;
  warmStart?: boolean;
  arch?: string;
  width?: string;
  depth?: string;
  batchSize?: string;
  patch?: string;
  lr?: string;
  classes?: string;
  onlySeed?: string;
  out: string;
  json?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('replay active learning with oracle labels: learning curves per strategy on a fixed test set, paired vs improved-random')
    .requiredOption('--images <dir>', 'pool images (fully labelled; labels revealed only when selected)')
    .requiredOption('--labels <dir>', 'pool labels, same file names')
    .requiredOption('--test-images <dir>', 'test images (never selected, trained or validated on)')
    .requiredOption('--test-labels <dir>', 'test labels')
    .option('--strategies <list>', 'comma-separated strategy names', 'random,improved-random,entropy')
    .option('--strategy-params <json>', 'per-strategy params, e.g. {"power-entropy":{"beta":1}}')
    .option('--initial <n>', 'initial labelled images (same per seed for every strategy)', '8')
    .option('--step <n>', 'images added per round', '8')
    .option('--rounds <n>', 'training rounds including the initial one', '5')
    .option('--seeds <n>', 'seeds (initial set, training seed)', '3')
    .option('--steps-per-round <k>', 'optimizer steps of every training')
    .option('--minutes-per-round <m>', 'time budget of every training (load-dependent: prefer --steps-per-round)')
    .option('--warm-start', "start each round from the previous round's weights (fresh optimiser and schedule)")
    .option('--arch <name>', 'architecture', 'unet2d')
    .option('--width <n>', 'U-Net base width')
    .option('--depth <n>', 'U-Net depth')
    .option('--batch-size <n>', 'patches per step')
    .option('--patch <list>', 'patch size X,Y[,Z]')
    .option('--lr <x>', 'peak learning rate')
    .option('--classes <n>', 'classes including background', '3')
    .option('--only-seed <list>', 'run only these seeds (comma-separated), e.g. one process per seed on a shared --out')
    .requiredOption('--out <dir>', 'results folder (resumable)')
    .option('--json', 'machine-readable output')
    .action(async (f: SimFlags) => {
      const pool = await pairFolders(f.images, f.labels, 'Pool');
      const test = await pairFolders(f.testImages, f.testLabels, 'Test');
      let strategyParams: Record<string, Record<string, unknown>> = {};
      if (f.strategyParams) {
        try {
          strategyParams = JSON.parse(f.strategyParams) as Record<string, Record<string, unknown>>;
        } catch {
          throw new SegloopError('INVALID_ARGUMENT', '--strategy-params must be JSON like {"power-entropy":{"beta":1}}.');
        }
      }
      const steps = int('steps-per-round', f.stepsPerRound, null);
      const minutes = f.minutesPerRound === undefined ? null : Number(f.minutesPerRound);
      if (minutes !== null && !(minutes > 0)) throw new SegloopError('INVALID_ARGUMENT', '--minutes-per-round must be a positive number.');
      const { fingerprint, plan } = await planFromCases(
        pool.map((c) => ({ ...c, labelledClasses: null, fixedSplit: null })),
        int('classes', f.classes, 3) as number,
        'MR',
      );
      const base = defaultTrainingConfig(plan, fingerprint, int('classes', f.classes, 3) as number, f.arch ?? 'unet2d');
      const trainer: TrainerConfigInput = {
        ...base,
        model: { ...base.model, ...(f.width ? { baseWidth: int('width', f.width, 16) as number } : {}), ...(f.depth ? { depth: int('depth', f.depth, 4) as number } : {}) },
        ...(f.batchSize ? { batchSize: int('batch-size', f.batchSize, 16) as number } : {}),
        ...(f.patch ? { patchSize: f.patch.split(',').map(Number) } : {}),
        ...(f.lr ? { lr: Number(f.lr) } : {}),
      };
      const out = path.resolve(f.out);
      const started = Date.now();
      const records = await runSimulation({
        pool,
        test,
        strategies: f.strategies.split(',').map((s) => s.trim()).filter(Boolean),
        strategyParams,
        initial: int('initial', f.initial, 8) as number,
        step: int('step', f.step, 8) as number,
        rounds: int('rounds', f.rounds, 5) as number,
        seeds: int('seeds', f.seeds, 3) as number,
        trainer,
        stepsPerRound: steps,
        minutesPerRound: minutes,
        warmStart: !!f.warmStart,
        outDir: out,
        onlySeeds: f.onlySeed ? f.onlySeed.split(',').map((x) => int('only-seed', x.trim(), 1) as number) : undefined,
        onProgress: (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
      });
      // Loaded at the end on purpose: the report can be regenerated from the saved rounds alone.
      const { writeSimulationReport } = await import('../../core/active-learning/simulate-report');
      const report = await writeSimulationReport(out);
      emit(f, { outDir: out, rounds: records.length, wallSeconds: Math.round((Date.now() - started) / 1000), files: report.files, table: report.table }, () =>
        [`simulation: ${records.length} round results in ${out}`, ...report.lines, `files: ${report.files.join(', ')}`].join('\n'),
      );
    });
}
