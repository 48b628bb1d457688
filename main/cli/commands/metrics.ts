// `segloop metrics --pred <nii> --ref <nii>`: per-class Dice/IoU/volumes/HD95/HD/ASSD between two
// label files on the same voxel grid (conventions in main/core/evaluation/metrics.ts).
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import type { ClassMetrics, ForegroundMean } from '../../core/evaluation/metrics';
import { volumeMetrics } from '../../core/evaluation/volume-metrics';
import { readNifti } from '../../core/imaging/nifti';
import { emit } from '../output';

export interface MetricsReport {
  pred: string;
  ref: string;
  shape: number[];
  spacing: number[];
  classes: ClassMetrics[];
  mean: ForegroundMean;
}

export function parseClasses(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const out = parts.map((s) => (/^\d+$/.test(s) ? Number.parseInt(s, 10) : NaN));
  if (out.length === 0 || out.some((c) => !Number.isInteger(c) || c > 65535)) {
    throw new SegloopError('INVALID_ARGUMENT', `--classes must be a comma-separated list of label indices such as 1,2 (got "${text}").`, { classes: text });
  }
  return [...new Set(out)];
}

export async function metricsForFiles(pred: string, ref: string, classes?: number[]): Promise<MetricsReport> {
  const [p, r] = await Promise.all([readNifti(pred), readNifti(ref)]);
  const m = volumeMetrics(p, r, { names: { pred, ref }, ...(classes ? { classes } : {}) });
  return { pred, ref, shape: [...r.shape], spacing: m.spacing, classes: m.classes, mean: m.mean };
}

function formatReport(s: MetricsReport): string {
  const f = (v: number | null, digits: number): string => (v === null ? 'n/a' : v.toFixed(digits));
  const flag = (c: ClassMetrics): string =>
    c.empty === 'both' ? 'both empty' : c.empty === 'pred' ? 'prediction empty' : c.empty === 'ref' ? 'reference empty' : '';
  const head = ['class', 'Dice', 'IoU', 'HD95 mm', 'HD mm', 'ASSD mm', 'pred mm3', 'ref mm3', ''];
  const rows = s.classes.map((c) => [String(c.label), f(c.dice, 4), f(c.iou, 4), f(c.hd95, 3), f(c.hd, 3), f(c.assd, 3), f(c.predVolumeMm3, 1), f(c.refVolumeMm3, 1), flag(c)]);
  rows.push(['mean', f(s.mean.dice, 4), f(s.mean.iou, 4), f(s.mean.hd95, 3), f(s.mean.hd, 3), f(s.mean.assd, 3), '', '',
    s.mean.distanceClasses < s.mean.classes ? `distances over ${s.mean.distanceClasses}/${s.mean.classes} classes` : '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : i === r.length - 1 ? v : v.padStart(widths[i]))).join('  ').trimEnd();
  return [
    `prediction ${s.pred}`,
    `reference  ${s.ref}`,
    `grid       ${s.shape.join(' x ')}, spacing ${s.spacing.map((v) => Number(v.toPrecision(6))).join(' x ')} mm`,
    '',
    line(head),
    ...rows.map(line),
    '',
    'Surface = mask voxels with a 6-neighbour outside the mask; HD95 = max of directed 95th percentiles; ASSD = mean over both directed sets.',
    'One mask empty: Dice 0 and distances n/a (left out of the distance mean). Both empty: Dice 1, distances 0.',
  ].join('\n');
}

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('compare a predicted label file with a reference label file: per-class Dice, IoU, volumes, HD95, HD, ASSD (mm)')
    .requiredOption('--pred <nii>', 'predicted label map (.nii / .nii.gz)')
    .requiredOption('--ref <nii>', 'reference label map on the same voxel grid')
    .option('--classes <list>', 'labels to score, e.g. 1,2 (default: every non-zero label present in either file)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { pred: string; ref: string; classes?: string; json?: boolean }) => {
      const report = await metricsForFiles(opts.pred, opts.ref, opts.classes === undefined ? undefined : parseClasses(opts.classes));
      emit(opts, report, () => formatReport(report));
    });
}
