// THE tensor layout of Segloop's ML engine, documented once here:
//
//   image tensors  [batch, Z, Y, X, C]   (3D models)      [batch, Y, X, C]  (2D models, one Z slice)
//   label tensors  [batch, Z, Y, X]  int32 class indices, or one-hot [batch, Z, Y, X, K]
//
// Why this order: a Volume stores voxel (i, j, k) at data[i + X*(j + Y*k)] (nibabel order, i
// fastest). Read as a row-major array that is exactly [Z][Y][X], so Volume <-> tensor is a
// reshape, no transpose (rank-5 transposes are slow on wasm). Channels last, as tfjs wants.
// Spatial arrays in this folder ("Grid") use the same memory order and carry their shape as
// [X, Y, Z] like Volume.shape.

import * as tf from '@tensorflow/tfjs-core';
import type { Volume, VoxelArray } from '../../imaging/volume';
import { SegloopError } from '../../../../shared/errors';
import { volumeToGrid, type Grid } from './grid';

// Grid, gridSize and volumeToGrid live in grid.ts (no tfjs import: the preprocessing worker
// threads load them without tfjs-core); re-exported here for the rest of the engine.
export { gridSize, volumeToGrid, type Grid } from './grid';

/** Grids (one per channel, same shape) -> [1, Z, Y, X, C] tensor. */
export function gridsToTensor5d(grids: readonly Grid[]): tf.Tensor5D {
  if (grids.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'gridsToTensor5d needs at least one channel.');
  const [X, Y, Z] = grids[0].shape;
  const C = grids.length;
  const n = X * Y * Z;
  const out = new Float32Array(n * C);
  grids.forEach((g, c) => {
    if (g.shape[0] !== X || g.shape[1] !== Y || g.shape[2] !== Z) {
      throw new SegloopError('INVALID_ARGUMENT', `Channel ${c} has shape ${g.shape.join('x')}, expected ${X}x${Y}x${Z}.`);
    }
    if (C === 1) out.set(g.data);
    else for (let v = 0; v < n; v++) out[v * C + c] = g.data[v];
  });
  return tf.tensor5d(out, [1, Z, Y, X, C]);
}

/** A Volume -> [1, Z, Y, X, 1] float32 tensor. */
export function volumeToTensor(v: Volume): tf.Tensor5D {
  return gridsToTensor5d([volumeToGrid(v)]);
}

/**
 * Inverse of volumeToTensor for a model output: probabilities or logits [1, Z, Y, X, K]
 * (or an int label map [1, Z, Y, X]) -> a label Volume in the given image's geometry
 * (argmax over K when a class axis is present). The tensor must already be in the image's
 * voxel grid (resample back first when the model ran at another spacing).
 */
export function predictionToVolume(pred: tf.Tensor, like: Pick<Volume, 'shape' | 'affine' | 'spacing'>): Volume {
  const [X, Y, Z] = like.shape;
  const sameGrid = pred.shape[1] === Z && pred.shape[2] === Y && pred.shape[3] === X && pred.shape[0] === 1;
  if (!sameGrid || (pred.rank !== 4 && pred.rank !== 5)) {
    throw new SegloopError('INVALID_ARGUMENT', `Prediction of shape [${pred.shape.join(', ')}] does not match the image grid [1, ${Z}, ${Y}, ${X}(, K)].`);
  }
  const labels = tf.tidy(() => tf.cast(pred.rank === 5 ? tf.argMax(pred, 4) : pred, 'int32'));
  const data = labels.dataSync();
  labels.dispose();
  const out: VoxelArray = Uint8Array.from(data);
  return {
    shape: [X, Y, Z],
    channels: 1,
    data: out,
    spacing: [...like.spacing],
    affine: like.affine.map((r) => [...r]) as Volume['affine'],
    diskDtype: 'uint8',
  };
}

/** Grid -> tensor of per-voxel probabilities' inverse helper: [1,Z,Y,X,K] -> K grids. */
export function tensorToGrids(t: tf.Tensor5D): Grid[] {
  const [b, Z, Y, X, K] = t.shape;
  if (b !== 1) throw new SegloopError('INVALID_ARGUMENT', `tensorToGrids expects batch 1, got ${b}.`);
  const all = t.dataSync() as Float32Array;
  const n = X * Y * Z;
  const grids: Grid[] = [];
  for (let k = 0; k < K; k++) {
    const d = new Float32Array(n);
    for (let v = 0; v < n; v++) d[v] = all[v * K + k];
    grids.push({ shape: [X, Y, Z], data: d });
  }
  return grids;
}
