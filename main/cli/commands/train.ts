// `segloop train <dir>`: trains a model on the project's labelled images in a worker process.
// Progress lines go to stderr, the summary to stdout (or one JSON document with --json).
// Ctrl-C cancels cleanly (checkpoint kept); `--resume` continues an interrupted run.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { parseTrainingConfigOverrides } from '../../../shared/training-config';
import { trainInProject, trainerInputFromOverrides } from '../../core/jobs/train-job';
import { listModels } from '../../core/ml/models';
import { ProjectStore } from '../../core/project';
import { emit } from '../output';

interface TrainFlags {
  arch?: string;
  epochs?: string;
  minutes?: string;
  resume?: boolean;
  batchSize?: string;
  patch?: string;
  stepsPerEpoch?: string;
  lr?: string;
  width?: string;
  depth?: string;
  patience?: string;
  seed?: string;
  backend?: string;
  pseudo?: boolean;
  config?: string;
  partialLoss?: string;
  labelDropout?: string;
  json?: boolean;
}

function positive(name: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new SegloopError('INVALID_ARGUMENT', `--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${v}".`);
  }
  return n;
}

const fmtEta = (s: number | null): string => (s === null ? '' : s >= 90 ? ` ETA ${Math.round(s / 60)} min` : ` ETA ${Math.round(s)} s`);

export function registerTrain(program: Command): void {
  program
    .command('train <dir>')
    .description('train a segmentation model on the labelled images of a project (in a worker process)')
    .option('--arch <name>', `architecture (${listModels().map((m) => m.name).join('|')})`)
    .option('--epochs <n>', 'number of epochs')
    .option('--minutes <m>', 'time budget in minutes of training (the run stops, validates and saves when it is used up)')
    .option('--resume', 'continue the most recent interrupted or cancelled run from its last checkpoint')
    .option('--batch-size <n>', 'patches per step')
    .option('--patch <list>', 'patch size in voxels, X,Y[,Z]')
    .option('--steps-per-epoch <n>', 'optimizer steps per epoch')
    .option('--lr <x>', 'peak learning rate (Adam)')
    .option('--width <n>', 'feature maps at the first level')
    .option('--depth <n>', 'resolution levels of the U-Net')
    .option('--patience <n>', 'early stopping: epochs without a better validation Dice')
    .option('--seed <n>', 'random seed (split, sampling, augmentation)')
    .option('--backend <name>', 'auto|tensorflow-gpu|tensorflow|wasm|cpu')
    .option('--pseudo', 'also train on pseudo-labels')
    .option('--config <json>', 'other trainer settings as JSON (shared/training-config.ts sections), e.g. \'{"loss":{"batchDice":true},"augmentation":{"elasticProbability":0},"schedule":{"lr":0.002}}\'')
    .option('--partial-loss <mode>', 'partially labelled images (`segloop labels set-classes`): merge|exclude (adaptive loss, default merge) or none (treat labels as complete)')
    .option('--label-dropout <p>', 'label dropout probability in [0, 1] with the adaptive loss (default 0)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: TrainFlags) => {
      const epochs = positive('epochs', f.epochs);
      const minutes = positive('minutes', f.minutes, false);
      let config: Record<string, unknown> = {};
      if (f.config) {
        try {
          config = JSON.parse(f.config) as Record<string, unknown>;
        } catch (err) {
          throw new SegloopError('INVALID_ARGUMENT', `--config is not valid JSON: ${(err as Error).message}`);
        }
        if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new SegloopError('INVALID_ARGUMENT', '--config must be a JSON object.');
        // Strict shared schema: a misspelt key fails here, naming the key and the allowed ones.
        config = trainerInputFromOverrides(parseTrainingConfigOverrides(config)) as Record<string, unknown>;
      }
      const model: Record<string, unknown> = {};
      if (f.batchSize) config.batchSize = positive('batch-size', f.batchSize);
      if (f.stepsPerEpoch) config.stepsPerEpoch = positive('steps-per-epoch', f.stepsPerEpoch);
      if (f.lr) config.lr = positive('lr', f.lr, false);
      if (f.patience) config.earlyStoppingPatience = positive('patience', f.patience);
      if (f.seed) config.seed = Number(f.seed);
      if (f.backend) config.backend = f.backend;
      if (f.patch) config.patchSize = f.patch.split(',').map((v) => positive('patch', v.trim()));
      if (f.partialLoss) {
        if (!['merge', 'exclude', 'none'].includes(f.partialLoss)) throw new SegloopError('INVALID_ARGUMENT', `--partial-loss must be merge, exclude or none, got "${f.partialLoss}".`);
        config.partialLoss = f.partialLoss;
      }
      if (f.labelDropout !== undefined) {
        const p = Number(f.labelDropout);
        if (!(p >= 0 && p <= 1)) throw new SegloopError('INVALID_ARGUMENT', `--label-dropout must be a probability in [0, 1], got "${f.labelDropout}".`);
        config.labelDropout = p;
      }
      if (f.width) model.baseWidth = positive('width', f.width);
      if (f.depth) model.depth = positive('depth', f.depth);
      if (Object.keys(model).length) config.model = { ...((config.model as object | undefined) ?? {}), ...model };
      if (f.resume && (f.arch || Object.keys(config).length)) {
        throw new SegloopError('INVALID_ARGUMENT', '--resume continues a run with its own settings; only --epochs or --minutes may be given with it.');
      }
      const ac = new AbortController();
      const onSigint = (): void => {
        process.stderr.write('\nsegloop: cancelling (saving a checkpoint)… press Ctrl-C again to force\n');
        if (ac.signal.aborted) process.exit(130);
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      const store = await ProjectStore.open(dir);
      const t0 = Date.now();
      try {
        const out = await trainInProject(store, {
          architecture: f.arch,
          epochs: epochs ?? null,
          minutes: minutes ?? null,
          resume: f.resume,
          includePseudo: f.pseudo,
          config: config as never,
          signal: ac.signal,
          onRun: (run) => process.stderr.write(`training run ${run.id}${f.resume ? ` (resuming run ${String(run.config.resumedFromRun)})` : ''}\n`),
          onEvent: (e) => {
            if (e.type === 'progress') process.stderr.write(`[${(100 * (e.fraction ?? 0)).toFixed(1)}%] ${e.message}${fmtEta(e.etaSeconds)}\n`);
            else if (e.type === 'log') process.stderr.write(`${e.level === 'warn' ? 'warning: ' : ''}${e.message}\n`);
            else if (e.type === 'epoch') {
              const m = e.metrics;
              process.stderr.write(
                `epoch ${m.epoch}${m.epochs ? `/${m.epochs}` : ''}: loss ${m.trainLoss.toFixed(4)}  val Dice ${m.valDice.map((d) => (d === null ? '-' : d.toFixed(3))).join(' / ')}` +
                  `  (mean ${m.valMeanDice === null ? '-' : m.valMeanDice.toFixed(4)})  lr ${m.lr.toExponential(1)}  ${m.seconds.toFixed(0)} s\n`,
              );
            }
          },
        });
        const summary = {
          runId: out.run.id,
          status: out.run.status,
          model: out.model ? { id: out.model.id, version: out.model.version, weightsPath: out.model.weightsPath, metrics: out.model.metrics } : null,
          backend: out.result.backend,
          stopReason: out.result.stopReason,
          epochs: out.result.epochs,
          steps: out.result.steps,
          trainSeconds: Math.round(out.result.trainSeconds),
          wallSeconds: Math.round((Date.now() - t0) / 1000),
          valDice: out.result.valDice,
          valMeanDice: out.result.valMeanDice,
          bestEpoch: out.result.bestEpoch,
        };
        emit(f, summary, () =>
          out.model
            ? [
                `model v${out.model.version} (id ${out.model.id}) trained in run ${out.run.id}: ${summary.stopReason} after ${summary.epochs} epochs, ${summary.steps} steps`,
                `backend ${summary.backend}; ${summary.trainSeconds} s training, ${summary.wallSeconds} s wall`,
                `validation Dice ${summary.valDice ? summary.valDice.map((d) => (d === null ? '-' : d.toFixed(4))).join(' / ') : '-'} (mean ${summary.valMeanDice?.toFixed(4) ?? '-'}, best epoch ${summary.bestEpoch ?? '-'})`,
                `weights ${out.model.weightsPath}`,
              ].join('\n')
            : `run ${out.run.id} ${out.run.status}: continue it with \`segloop train ${dir} --resume\``,
        );
        if (!out.model) process.exitCode = 4;
      } finally {
        process.off('SIGINT', onSigint);
        store.close();
      }
    });
}
