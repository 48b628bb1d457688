// Label volumes arrive as uint8, int16 or even float32 files: check they hold small non-negative
// integers inside the schema, and convert them to the uint8 the project stores.
import { SegloopError } from '../../../../shared/errors';
import type { VoxelArray } from '../../imaging/volume';

export interface LabelCheck {
  voxels: Uint8Array;
  /** Label values present, ascending. */
  values: number[];
  /** Voxel count per value present. */
  counts: Record<number, number>;
}

export function checkLabelVoxels(data: VoxelArray, file: string, allowed?: ReadonlySet<number>): LabelCheck {
  const voxels = new Uint8Array(data.length);
  const counts = new Map<number, number>();
  let firstBad = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      firstBad = i;
      break;
    }
    voxels[i] = v;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  if (firstBad >= 0) {
    const v = data[firstBad];
    throw new SegloopError(
      'LABEL_NOT_INTEGER',
      `${file}: label voxel ${firstBad} has value ${v}; labels must be whole numbers from 0 to 255`,
      { file, index: firstBad, value: Number.isNaN(v) ? 'NaN' : v },
    );
  }
  const values = [...counts.keys()].sort((a, b) => a - b);
  if (allowed) {
    const outside = values.filter((v) => !allowed.has(v));
    if (outside.length) {
      throw new SegloopError(
        'LABEL_OUT_OF_SCHEMA',
        `${file}: label values ${outside.join(', ')} are not in the label schema (allowed: ${[...allowed].sort((a, b) => a - b).join(', ')})`,
        { file, outside, allowed: [...allowed] },
      );
    }
  }
  return { voxels, values, counts: Object.fromEntries(counts) };
}
