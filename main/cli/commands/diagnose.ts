// `segloop diagnose <dir>` (a project) or `segloop diagnose --images <dir> [--labels <dir>]` (files
// before import): dataset composition, geometry, dtypes, intensity/domain shift and label QA.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { diagnoseFolder, formatDiagnostics, runDiagnostics, type DiagnosticsOptions } from '../../core/diagnostics';
import { ProjectStore } from '../../core/project';
import { emit } from '../output';

interface DiagnoseFlags {
  images?: string;
  labels?: string;
  schema?: string;
  bins?: string;
  outlierK?: string;
  tiny?: string;
  rangeRatio?: string;
  json?: boolean;
}

function numberFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new SegloopError('INVALID_ARGUMENT', `--${name} must be a positive number (got "${v}").`, { [name]: v });
  return n;
}

function parseSchema(text: string): number[] {
  const xs = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!xs.length || xs.some((s) => !/^\d+$/.test(s))) throw new SegloopError('INVALID_ARGUMENT', `--schema must list label values such as 0,1,2 (got "${text}").`);
  return xs.map(Number);
}

export function registerDiagnose(program: Command): void {
  program
    .command('diagnose [dir]')
    .description('dataset diagnostics: composition by patient, geometry, dtypes, intensity/domain shift, label QA (a project, or files with --images/--labels)')
    .option('--images <dir>', 'diagnose image files before import (no project needed)')
    .option('--labels <dir>', 'label files matched to --images by name')
    .option('--schema <list>', 'with --images: allowed label values, e.g. 0,1,2 (default: any integer >= 0)')
    .option('--bins <n>', 'bins of the normalised intensity histograms (default 64)')
    .option('--outlier-k <k>', 'spacing/shape outliers outside median ± k·IQR (default 3)')
    .option('--tiny <voxels>', 'label components smaller than this are "tiny" (default 10)')
    .option('--range-ratio <r>', 'flag images whose max is more than r times the median max (default 10)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string | undefined, flags: DiagnoseFlags) => {
      const opts: DiagnosticsOptions = {
        bins: numberFlag('bins', flags.bins),
        outlierK: numberFlag('outlier-k', flags.outlierK),
        tinyComponentVoxels: numberFlag('tiny', flags.tiny),
        rangeSpreadRatio: numberFlag('range-ratio', flags.rangeRatio),
      };
      if (flags.images !== undefined) {
        if (dir !== undefined) throw new SegloopError('INVALID_ARGUMENT', 'Give either a project folder or --images, not both.');
        const report = await diagnoseFolder(flags.images, flags.labels ?? null, { ...opts, schema: flags.schema ? parseSchema(flags.schema) : undefined });
        emit(flags, report, () => formatDiagnostics(report));
        return;
      }
      if (dir === undefined) throw new SegloopError('INVALID_ARGUMENT', 'Give a project folder (segloop diagnose <dir>) or image files (segloop diagnose --images <dir> [--labels <dir>]).');
      if (flags.labels !== undefined || flags.schema !== undefined) throw new SegloopError('INVALID_ARGUMENT', '--labels and --schema go with --images; a project uses its own labels and schema.');
      const store = await ProjectStore.open(dir, { readOnly: true });
      try {
        const report = await runDiagnostics(store, opts);
        emit(flags, report, () => formatDiagnostics(report));
      } finally {
        store.close();
      }
    });
}
