// Volume -> model-ready grids for one case: resample to the plan's spacing (trilinear image,
// nearest label), normalise, validate labels. Keeps what inference needs to go back.

import type { Volume } from '../../imaging/volume';
import { SegloopError } from '../../../../shared/errors';
import { volumeToGrid, type Grid } from './grid';
import { normaliseGrid, type Normalisation } from './intensity';
import { resampleToSpacing, type Vec3 } from './resample';

export interface PreprocessSpec {
  targetSpacing: Vec3;
  normalisation: Normalisation;
  numClasses: number;
}

export interface PreprocessedCase {
  images: Grid[];
  label: Grid | null;
  /** input coordinate = output coordinate * scale (per axis); see resampleBack */
  scale: Vec3;
  originalShape: Vec3;
}

export function checkLabel(label: Grid, numClasses: number, file = 'label'): void {
  const d = label.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isInteger(v)) throw new SegloopError('LABEL_NOT_INTEGER', `${file}: voxel ${i} has the non-integer label value ${v}.`, { index: i, value: v });
    if (v < 0 || v >= numClasses) {
      throw new SegloopError('LABEL_OUT_OF_SCHEMA', `${file}: voxel ${i} has label ${v}, but the schema has classes 0..${numClasses - 1}.`, { index: i, value: v });
    }
  }
}

export function preprocessCase(images: readonly Volume[], label: Volume | null, spec: PreprocessSpec, name = 'case'): PreprocessedCase {
  if (images.length === 0) throw new SegloopError('INVALID_ARGUMENT', `${name}: no image channels.`);
  const ref = images[0];
  for (const v of [...images.slice(1), ...(label ? [label] : [])]) {
    if (v.shape.some((s, a) => s !== ref.shape[a])) {
      throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `${name}: shapes differ (${v.shape.join('x')} vs image ${ref.shape.join('x')}).`);
    }
  }
  let labelGrid: Grid | null = null;
  let scale: Vec3 = [1, 1, 1];
  if (label) {
    const raw = volumeToGrid(label);
    checkLabel(raw, spec.numClasses, name);
    ({ grid: labelGrid, scale } = resampleToSpacing(raw, ref.spacing, spec.targetSpacing, 'nearest'));
  }
  const grids = images.map((v) => {
    const r = resampleToSpacing(volumeToGrid(v), ref.spacing, spec.targetSpacing, 'linear');
    scale = r.scale;
    return normaliseGrid(r.grid, spec.normalisation);
  });
  return { images: grids, label: labelGrid, scale, originalShape: [...ref.shape] };
}
