// `segloop read <file>`: what the reader makes of one image file, in nibabel's terms: the full
// array shape, the voxel->RAS affine, and statistics of the scaled voxels over every volume.
import type { Command } from 'commander';
import { readSummary } from '../../core/imaging/nifti-summary';
import { emit } from '../output';

export function registerRead(program: Command): void {
  program
    .command('read <file>')
    .description('read a NIfTI file: shape, dtype, spacing, 4x4 affine (as nibabel reports it), min/max/mean of scaled voxels')
    .option('--volume <n>', 'only this volume of a 4D file (default: statistics over all volumes)', (v) => Number.parseInt(v, 10))
    .option('--voxel <i,j,k>', 'print the scaled value at this index (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { volume?: number; voxel?: string[]; json?: boolean }) => {
      const s = await readSummary(file, { volume: opts.volume, voxels: opts.voxel });
      emit(opts, s, () => {
        const fmt = (v: number | null): string => (v === null ? 'n/a' : Number(v.toPrecision(7)).toString());
        return [
          `file     ${s.file} (${s.niftiVersion === 'analyze' ? 'Analyze 7.5' : `NIfTI-${s.niftiVersion}`})`,
          `shape    ${s.shape.join(' x ')}${s.channels > 1 ? ` x ${s.channels} channels` : ''}   dtype ${s.diskDtype}   axcodes ${s.axcodes}`,
          `spacing  ${s.spacing.map((v) => fmt(v)).join(' x ')} mm`,
          'affine',
          ...s.affine.map((r) => `  [${r.map((v) => fmt(v).padStart(12)).join(' ')} ]`),
          `values   min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}${s.nanCount ? `  NaN ${s.nanCount}` : ''}${s.infCount ? `  Inf ${s.infCount}` : ''}` +
            (s.volumes > 1 ? `  (${s.volume === null ? `all ${s.volumes} volumes` : `volume ${s.volume} of ${s.volumes}`})` : ''),
          ...s.voxels.map((v) => `voxel    [${v.index.join(', ')}] = ${Array.isArray(v.value) ? `[${v.value.join(', ')}]` : fmt(v.value)}`),
        ].join('\n');
      });
    });
}
