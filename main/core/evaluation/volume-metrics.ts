// Metrics between two label Volumes as read from disk: checks that both lie on the same voxel grid
// (shape and affine) before scoring, and takes the spacing from the reference.
import { SegloopError } from '../../../shared/errors';
import type { Volume } from '../imaging/volume';
import { segmentationMetrics, type SegmentationMetrics, type SegmentationMetricsOptions } from './metrics';

export interface LabelPairNames {
  pred: string;
  ref: string;
}

/**
 * Throws LABEL_GEOMETRY_MISMATCH unless pred and ref have the same shape and affines that agree
 * to `tolMm` in every entry (float32 headers round-trip to about 1e-5 mm).
 */
export function assertSameLabelGeometry(
  pred: Pick<Volume, 'shape' | 'affine' | 'channels'>,
  ref: Pick<Volume, 'shape' | 'affine' | 'channels'>,
  names: LabelPairNames,
  tolMm = 1e-4,
): void {
  for (const [v, name] of [[pred, names.pred], [ref, names.ref]] as const) {
    if (v.channels !== 1) {
      throw new SegloopError('LABEL_NOT_INTEGER', `${name} has ${v.channels} values per voxel (RGB?): a label map must be a scalar image.`, { name });
    }
  }
  if (pred.shape.some((n, a) => n !== ref.shape[a])) {
    throw new SegloopError(
      'LABEL_GEOMETRY_MISMATCH',
      `Prediction ${names.pred} has shape (${pred.shape.join(', ')}) but reference ${names.ref} has shape (${ref.shape.join(', ')}): metrics need both on the same voxel grid (resample the prediction onto the reference first).`,
      { pred: names.pred, ref: names.ref, predShape: [...pred.shape], refShape: [...ref.shape] },
    );
  }
  let worst = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(pred.affine[r][c] - ref.affine[r][c]));
  if (!(worst <= tolMm)) {
    const fmt = (m: Volume['affine']): string => `[${m.map((row) => `[${row.map((v) => Number(v.toPrecision(6))).join(', ')}]`).join(', ')}]`;
    throw new SegloopError(
      'LABEL_GEOMETRY_MISMATCH',
      `Prediction ${names.pred} and reference ${names.ref} have the same shape but different affines (entries differ by up to ${worst.toPrecision(4)}, tolerance ${tolMm}): they are not on the same voxel grid. Prediction affine ${fmt(pred.affine)}, reference affine ${fmt(ref.affine)}.`,
      { pred: names.pred, ref: names.ref, predAffine: pred.affine, refAffine: ref.affine, maxDifference: worst },
    );
  }
}

/** Geometry check + metrics, spacing taken from the reference volume. */
export function volumeMetrics(
  pred: Volume,
  ref: Volume,
  options: Omit<SegmentationMetricsOptions, 'spacing' | 'names'> & { names?: LabelPairNames } = {},
): SegmentationMetrics {
  const names = options.names ?? { pred: 'prediction', ref: 'reference' };
  assertSameLabelGeometry(pred, ref, names);
  return segmentationMetrics(pred, ref, { ...options, names, spacing: ref.spacing });
}
