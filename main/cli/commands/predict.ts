// `segloop predict <dir>`: predicts label maps for project images with a trained model (in a
// worker process) and stores them, with uncertainty maps when --tta is given.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { parseIdList } from '../../core/base/ids';
import { predictInProject } from '../../core/jobs/predict-job';
import { ProjectStore, SPLITS, type Split } from '../../core/project';
import { emit } from '../output';

// select.ts still imports it from here; the parser itself is core/base/ids.

export function registerPredict(program: Command): void {
  program
    .command('predict <dir>')
    .description('predict label maps for project images with a trained model and store them as predictions')
    .option('--model <ids>', 'model id, or several comma-separated ids for an ensemble (default: the promoted model, else the newest)')
    .option('--images <ids>', 'comma-separated image ids (default: every image)')
    .option('--split <split>', `only images of this split (${SPLITS.join('|')})`)
    .option('--tta', 'test-time flips: mean prediction + variance as an uncertainty map')
    .option('--postprocess <spec>', 'none | lcc | min:N (| c6 | c18 | c26), e.g. "lcc,c26"', 'none')
    .option('--backend <name>', 'auto|tensorflow-gpu|tensorflow|wasm|cpu')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: { model?: string; images?: string; split?: string; tta?: boolean; postprocess?: string; backend?: string; json?: boolean }) => {
      if (f.split && !(SPLITS as readonly string[]).includes(f.split)) throw new SegloopError('INVALID_ARGUMENT', `--split must be one of ${SPLITS.join(', ')}.`);
      if (f.images && f.split) throw new SegloopError('INVALID_ARGUMENT', 'Give either --images or --split, not both.');
      const store = await ProjectStore.open(dir);
      try {
        const out = await predictInProject(store, {
          modelIds: parseIdList('model', f.model),
          imageIds: parseIdList('images', f.images),
          split: f.split as Split | undefined,
          tta: f.tta,
          postprocess: f.postprocess,
          backend: f.backend,
          onEvent: (e) => {
            if (e.type === 'progress') process.stderr.write(`[${(100 * (e.fraction ?? 0)).toFixed(0)}%] ${e.message}\n`);
          },
        });
        const summary = {
          models: out.models.map((m) => ({ id: m.id, version: m.version })),
          backend: out.backend,
          predictions: out.predictions.map((p) => ({ id: p.id, imageId: p.imageId, path: p.path, uncertaintyPath: p.uncertaintyPath, scores: p.scores })),
        };
        emit(f, summary, () =>
          [
            `${out.predictions.length} predictions with model ${out.models.map((m) => `v${m.version}`).join('+')} (${out.backend}${f.tta ? ', TTA' : ''})`,
            ...out.predictions.map((p) => `  image ${p.imageId}: ${p.path}  entropy ${Number(p.scores?.meanEntropy ?? 0).toFixed(4)}${p.tta ? `  TTA variance ${Number(p.scores?.meanTtaVariance ?? 0).toExponential(2)}` : ''}`),
          ].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
