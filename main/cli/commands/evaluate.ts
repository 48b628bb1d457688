// `segloop evaluate <dir> --model <id> --images <path> --labels <path>`: predicts external images
// with a project model (in a worker process, nothing is stored in the project) and scores the
// predictions against reference labels: per-class and mean foreground Dice per case and overall.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { modelSpecs, predictFiles, resolveModels } from '../../core/jobs/predict-job';
import { readNifti } from '../../core/imaging/nifti';
import { volumeMetrics } from '../../core/evaluation';
import { ProjectStore } from '../../core/project';
import { emit } from '../output';
import { reportFormatOf, writeExternalReport } from '../../core/evaluation/external-report';
import { evaluateStored } from './evaluate-report';
import { parseIdList } from '../../core/base/ids';

const NII = /\.nii(\.gz)?$/i;

async function listVolumes(p: string, what: string): Promise<Map<string, string>> {
  const st = await fs.stat(p).catch(() => null);
  if (!st) throw new SegloopError('FILE_NOT_FOUND', `The ${what} path ${p} does not exist.`, { path: p });
  const files = st.isDirectory() ? (await fs.readdir(p)).filter((f) => NII.test(f)).sort().map((f) => path.join(p, f)) : [p];
  if (!files.length) throw new SegloopError('FILE_NOT_FOUND', `No NIfTI files (.nii, .nii.gz) in ${p}.`, { path: p });
  return new Map(files.map((f) => [path.basename(f).replace(NII, ''), f]));
}

export interface EvaluatedCase {
  id: string;
  dice: Record<string, number | null>;
  meanDice: number | null;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate <dir>')
    .description('score a project model on external images against reference labels (Dice per class and mean, per case and overall); without --images/--labels: report on the predictions stored in the project (per class, patient, site, structure size, worst cases)')
    .requiredOption('--model <ids>', 'model id (comma-separated ids: ensemble)')
    .option('--images <path>', 'image file or folder (omit with --labels to evaluate the predictions stored in the project)')
    .option('--labels <path>', 'label file or folder, files named like the images')
    .option('--split <name>', 'stored predictions: images of this split (test|val|train|pool|all)', 'test')
    .option('--compare <id>', 'stored predictions: paired comparison with another model (bootstrap CI)')
    .option('--worst <n>', 'stored predictions: length of the worst-cases list', '10')
    .option('--report <file>', 'save the report (with HD95/ASSD, size strata, worst cases) as .html (self-contained), .csv (case x class) or .json')
    .option('--tta', 'test-time flips')
    .option('--postprocess <spec>', 'none | lcc | min:N (| c6 | c18 | c26)', 'none')
    .option('--backend <name>', 'auto|tensorflow-gpu|tensorflow|wasm|cpu')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: { model: string; images?: string; labels?: string; split?: string; compare?: string; worst?: string; report?: string; tta?: boolean; postprocess?: string; backend?: string; json?: boolean }) => {
      if (f.images === undefined && f.labels === undefined) return evaluateStored(dir, f);
      if (f.images === undefined || f.labels === undefined) throw new SegloopError('INVALID_ARGUMENT', 'Give both --images and --labels (external data), or neither (the predictions stored in the project).');
      if (f.compare !== undefined) throw new SegloopError('INVALID_ARGUMENT', '--compare works on the predictions stored in the project: run `segloop predict` on the project images, then omit --images/--labels.');
      if (f.report !== undefined) reportFormatOf(f.report);
      const images = await listVolumes(f.images, 'images');
      const labels = await listVolumes(f.labels, 'labels');
      const missing = [...images.keys()].filter((k) => !labels.has(k));
      if (missing.length) {
        throw new SegloopError('FILE_NOT_FOUND', `No reference label for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''} in ${f.labels} (labels are matched by file name).`, { missing });
      }
      const store = await ProjectStore.open(dir, { readOnly: true });
      let models;
      let specs;
      let classNames: Map<number, string>;
      try {
        models = resolveModels(store, parseIdList('model', f.model));
        specs = await modelSpecs(store, models);
        classNames = new Map(store.labelSchema.list().map((c) => [c.idx, c.name]));
      } finally {
        store.close();
      }
      const numClasses = Number((models[0].config as { numClasses?: number }).numClasses ?? 0);
      const fg = Array.from({ length: Math.max(0, numClasses - 1) }, (_, i) => i + 1);
      const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-evaluate-'));
      const t0 = Date.now();
      try {
        const res = await predictFiles(specs, [...images].map(([id, imagePath]) => ({ id, imagePath })), scratch, {
          tta: f.tta,
          postprocess: f.postprocess,
          backend: f.backend,
          onEvent: (e) => {
            if (e.type === 'progress') process.stderr.write(`[${(100 * (e.fraction ?? 0)).toFixed(0)}%] ${e.message}\n`);
          },
        });
        const cases: EvaluatedCase[] = [];
        for (const c of res.cases) {
          const [pred, ref] = await Promise.all([readNifti(c.labelFile), readNifti(labels.get(c.id) as string)]);
          const m = volumeMetrics(pred, ref, { classes: fg, distances: false, names: { pred: `prediction of ${c.id}`, ref: labels.get(c.id) as string } });
          cases.push({
            id: c.id,
            dice: Object.fromEntries(m.classes.map((k) => [classNames.get(k.label) ?? `class ${k.label}`, k.dice])),
            meanDice: m.mean.dice,
          });
        }
        const names = fg.map((k) => classNames.get(k) ?? `class ${k}`);
        const avg = (xs: (number | null)[]): number | null => {
          const v = xs.filter((x): x is number => x !== null);
          return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
        };
        const overall = {
          dice: Object.fromEntries(names.map((n) => [n, avg(cases.map((c) => c.dice[n] ?? null))])),
          meanDice: avg(cases.map((c) => c.meanDice)),
        };
        const reportFile = f.report ? await writeExternalReport(dir, f.report, models, res.cases.map((c) => ({ id: c.id, pred: c.labelFile, ref: labels.get(c.id) as string })), fg) : null;
        const report = { models: models.map((m) => ({ id: m.id, version: m.version })), tta: Boolean(f.tta), postprocess: f.postprocess ?? 'none', backend: res.backend, seconds: (Date.now() - t0) / 1000, cases, overall, ...(reportFile ? { reportFile } : {}) };
        const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '   -  ' : v.toFixed(4));
        emit(f, report, () =>
          [
            `${'case'.padEnd(24)} ${names.map((n) => n.slice(0, 22).padStart(22)).join(' ')} ${'mean'.padStart(8)}`,
            ...cases.map((c) => `${c.id.padEnd(24)} ${names.map((n) => fmt(c.dice[n]).padStart(22)).join(' ')} ${fmt(c.meanDice).padStart(8)}`),
            `${'overall'.padEnd(24)} ${names.map((n) => fmt(overall.dice[n]).padStart(22)).join(' ')} ${fmt(overall.meanDice).padStart(8)}`,
            `${cases.length} cases, model ${models.map((m) => `v${m.version}`).join('+')}${f.tta ? ', TTA flips' : ''}, backend ${res.backend}, ${report.seconds.toFixed(0)} s`,
            ...(reportFile ? [`report (per case, class, size; HD95) written to ${reportFile}`] : []),
          ].join('\n'),
        );
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    });
}
