// `segloop read <file>`: what the reader makes of one image file, in nibabel's terms.
import type { Command } from 'commander';
import { axcodes, readNifti } from '../../core/imaging/nifti';
import { emit } from '../output';

export interface ReadSummary {
  file: string;
  shape: number[];
  channels: number;
  diskDtype: string;
  spacing: number[];
  affine: number[][];
  axcodes: string;
  min: number | null;
  max: number | null;
  mean: number | null;
  nanCount: number;
  infCount: number;
}

export function summarise(file: string, data: ArrayLike<number>, base: Omit<ReadSummary, 'file' | 'min' | 'max' | 'mean' | 'nanCount' | 'infCount'>): ReadSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let nanCount = 0;
  let infCount = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) nanCount++;
    else if (!Number.isFinite(v)) infCount++;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      n++;
    }
  }
  return { file, ...base, min: n ? min : null, max: n ? max : null, mean: n ? sum / n : null, nanCount, infCount };
}

export function registerRead(program: Command): void {
  program
    .command('read <file>')
    .description('read a NIfTI file: shape, dtype, spacing, 4x4 affine (as nibabel reports it), min/max/mean of scaled voxels')
    .option('--volume <n>', 'volume index for 4D files', (v) => Number.parseInt(v, 10))
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { volume?: number; json?: boolean }) => {
      const img = await readNifti(file, opts.volume === undefined ? {} : { volume: opts.volume });
      const s = summarise(file, img.data, {
        shape: img.channels > 1 ? [...img.shape, img.channels] : [...img.shape],
        channels: img.channels,
        diskDtype: img.diskDtype,
        spacing: [...img.spacing],
        affine: img.affine.map((r) => [...r]),
        axcodes: axcodes(img.affine),
      });
      emit(opts, s, () => {
        const fmt = (v: number | null): string => (v === null ? 'n/a' : Number(v.toPrecision(7)).toString());
        return [
          `file     ${s.file}`,
          `shape    ${s.shape.join(' x ')}   dtype ${s.diskDtype}   axcodes ${s.axcodes}`,
          `spacing  ${s.spacing.map((v) => fmt(v)).join(' x ')} mm`,
          'affine',
          ...s.affine.map((r) => `  [${r.map((v) => fmt(v).padStart(12)).join(' ')} ]`),
          `values   min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}${s.nanCount ? `  NaN ${s.nanCount}` : ''}${s.infCount ? `  Inf ${s.infCount}` : ''}`,
        ].join('\n');
      });
    });
}
