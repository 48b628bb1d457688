// The engine's scalar array (see layout.ts for the memory order), without tfjs: the
// preprocessing worker threads (preprocess-pool-worker.ts) import this, not layout.ts, so that
// each thread starts without loading tfjs-core.
import type { Volume } from '../../imaging/volume';
import { SegloopError } from '../../../../shared/errors';

/** A scalar 3D array in Volume memory order (i fastest). shape is [X, Y, Z]. */
export interface Grid {
  shape: [number, number, number];
  data: Float32Array;
}

export function gridSize(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}

/** Scalar Volume -> Float32 Grid (copy). Multi-channel volumes are rejected. */
export function volumeToGrid(v: Volume): Grid {
  if (v.channels !== 1) {
    throw new SegloopError('INVALID_ARGUMENT', `The ML engine takes scalar images; this one has ${v.channels} channels per voxel.`, { channels: v.channels });
  }
  if (v.data.length !== gridSize(v.shape)) {
    throw new SegloopError('INVALID_ARGUMENT', `Volume data has ${v.data.length} values but shape ${v.shape.join('x')} needs ${gridSize(v.shape)}.`);
  }
  return { shape: [...v.shape], data: Float32Array.from(v.data) };
}

