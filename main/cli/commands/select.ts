// `segloop select <dir> --strategy <name> --count N`: one active-learning round. Scores the
// unlabelled pool with the promoted (or named) model in a worker process, records the al_round
// and prints the queue in order with the reason for every pick.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { listStrategiesInfo } from '../../core/active-learning';
import { selectInProject } from '../../core/jobs/select-job';
import { ProjectStore } from '../../core/project';
import { emit } from '../output';
import { parseIdList } from '../../core/base/ids';

export function registerSelect(program: Command): void {
  program
    .command('select <dir>')
    .description('active learning: score the unlabelled pool with a model and record the next images to label (an al_round)')
    .requiredOption('--strategy <name>', `selection strategy (${listStrategiesInfo().map((s) => s.name).join('|')})`)
    .requiredOption('--count <n>', 'how many images to select')
    .option('--model <ids>', 'model id (several comma-separated ids: an ensemble); default: the promoted model, else the newest')
    .option('--seed <n>', 'random seed of the strategy', '1')
    .option('--param <k=v...>', 'strategy parameter, repeatable (e.g. --param beta=2 --param diversity=3)')
    .option('--tta', 'mean over test-time flips')
    .option('--backend <name>', 'auto|tensorflow-gpu|tensorflow|wasm|cpu')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: { strategy: string; count: string; model?: string; seed: string; param?: string[] | string; tta?: boolean; backend?: string; json?: boolean }) => {
      const count = Number(f.count);
      if (!Number.isInteger(count) || count < 1) throw new SegloopError('INVALID_ARGUMENT', `--count must be a positive integer, got "${f.count}".`);
      const seed = Number(f.seed);
      if (!Number.isInteger(seed)) throw new SegloopError('INVALID_ARGUMENT', `--seed must be an integer, got "${f.seed}".`);
      const params: Record<string, unknown> = {};
      for (const kv of f.param === undefined ? [] : Array.isArray(f.param) ? f.param : [f.param]) {
        const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(kv);
        if (!m) throw new SegloopError('INVALID_ARGUMENT', `--param takes key=value, got "${kv}".`);
        params[m[1]] = m[2] !== '' && Number.isFinite(Number(m[2])) ? Number(m[2]) : m[2];
      }
      const store = await ProjectStore.open(dir);
      try {
        const out = await selectInProject(store, {
          strategy: f.strategy,
          count,
          modelIds: parseIdList('model', f.model),
          seed,
          params,
          tta: f.tta,
          backend: f.backend,
          onEvent: (e) => {
            if (e.type === 'progress') process.stderr.write(`[${(100 * (e.fraction ?? 0)).toFixed(0)}%] ${e.message}\n`);
          },
        });
        emit(f, out, () =>
          [
            out.modelId === null
              ? `round ${out.roundId}: ${out.strategy} without a model (nothing to score), seed ${out.seed}`
              : `round ${out.roundId}: ${out.strategy} with model v${out.modelVersion} (id ${out.modelId}), seed ${out.seed}, ${Object.keys(out.scores).length} images scored (${out.backend})`,
            ...out.picks.map((p) => `  ${p.rank}. image ${p.imageId}: ${p.reason}`),
          ].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
