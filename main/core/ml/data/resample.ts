// Resampling between voxel grids that share their first voxel centre (origin) and differ by a
// per-axis scale: output voxel o samples input coordinate o * scale. Edges clamp to the border
// voxel (scipy.ndimage mode='nearest'). Images: trilinear; labels: nearest (values stay the
// class integers). The same mapping, inverted, brings a prediction back to the image grid.

import type { Mat4, Volume } from '../../../core/imaging/volume';
import { SegloopError } from '../../../../shared/errors';
import { gridSize, volumeToGrid, type Grid } from './grid';
import type { Vec3 } from '../../base/vec3';

export type Interp = 'linear' | 'nearest';
export type { Vec3 };

/** Sample `grid` at output voxels o (shape outShape) at input coordinate o * scale (per axis). */
export function resampleScaled(grid: Grid, outShape: Vec3, scale: Vec3, interp: Interp): Grid {
  const [X, Y, Z] = grid.shape;
  const [OX, OY, OZ] = outShape;
  const src = grid.data;
  const out = new Float32Array(OX * OY * OZ);
  const clampI = (v: number, n: number): number => (v < 0 ? 0 : v > n - 1 ? n - 1 : v);
  // Precompute per-axis indices and weights: the transform is separable.
  const axis = (n: number, on: number, s: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } => {
    const i0 = new Int32Array(on);
    const i1 = new Int32Array(on);
    const w = new Float32Array(on);
    for (let o = 0; o < on; o++) {
      const c = clampI(o * s, n);
      if (interp === 'nearest') {
        i0[o] = i1[o] = Math.min(n - 1, Math.round(c));
        w[o] = 0;
      } else {
        const f = Math.floor(c);
        i0[o] = f;
        i1[o] = Math.min(f + 1, n - 1);
        w[o] = c - f;
      }
    }
    return { i0, i1, w };
  };
  const ax = axis(X, OX, scale[0]);
  const ay = axis(Y, OY, scale[1]);
  const az = axis(Z, OZ, scale[2]);
  const XY = X * Y;
  let p = 0;
  for (let k = 0; k < OZ; k++) {
    const z0 = az.i0[k] * XY, z1 = az.i1[k] * XY, wz = az.w[k];
    for (let j = 0; j < OY; j++) {
      const y0 = ay.i0[j] * X, y1 = ay.i1[j] * X, wy = ay.w[j];
      const a00 = z0 + y0, a01 = z0 + y1, a10 = z1 + y0, a11 = z1 + y1;
      for (let i = 0; i < OX; i++, p++) {
        const x0 = ax.i0[i], x1 = ax.i1[i], wx = ax.w[i];
        if (interp === 'nearest') {
          out[p] = src[a00 + x0];
          continue;
        }
        const c00 = src[a00 + x0] + wx * (src[a00 + x1] - src[a00 + x0]);
        const c01 = src[a01 + x0] + wx * (src[a01 + x1] - src[a01 + x0]);
        const c10 = src[a10 + x0] + wx * (src[a10 + x1] - src[a10 + x0]);
        const c11 = src[a11 + x0] + wx * (src[a11 + x1] - src[a11 + x0]);
        const c0 = c00 + wy * (c01 - c00);
        const c1 = c10 + wy * (c11 - c10);
        out[p] = c0 + wz * (c1 - c0);
      }
    }
  }
  return { shape: [OX, OY, OZ], data: out };
}

/** Output shape for a grid of `shape` at `spacing` resampled to `target` spacing. */
export function shapeAtSpacing(shape: Vec3, spacing: Vec3, target: Vec3): Vec3 {
  return [0, 1, 2].map((a) => Math.max(1, Math.round((shape[a] * spacing[a]) / target[a]))) as Vec3;
}

function checkSpacing(s: readonly number[], what: string): void {
  if (s.length !== 3 || s.some((v) => !(v > 0) || !Number.isFinite(v))) {
    throw new SegloopError('INVALID_ARGUMENT', `${what} must be three positive numbers (mm), got [${s.join(', ')}].`);
  }
}

/** Resample to a target spacing (mm). Returns the grid and the scale used (for the inverse). */
export function resampleToSpacing(grid: Grid, spacing: Vec3, target: Vec3, interp: Interp): { grid: Grid; scale: Vec3 } {
  checkSpacing(spacing, 'Image spacing');
  checkSpacing(target, 'Target spacing');
  if (grid.data.length !== gridSize(grid.shape)) throw new SegloopError('INVALID_ARGUMENT', 'Grid data length does not match its shape.');
  const scale = [0, 1, 2].map((a) => target[a] / spacing[a]) as Vec3;
  const same = scale.every((s) => Math.abs(s - 1) < 1e-6);
  if (same) return { grid: { shape: [...grid.shape], data: grid.data.slice() }, scale };
  return { grid: resampleScaled(grid, shapeAtSpacing(grid.shape, spacing, target), scale, interp), scale };
}

/** Inverse of resampleToSpacing: back onto the original grid of `originalShape`. */
export function resampleBack(grid: Grid, originalShape: Vec3, scale: Vec3, interp: Interp): Grid {
  return resampleScaled(grid, originalShape, [1 / scale[0], 1 / scale[1], 1 / scale[2]], interp);
}

/** Affine of the resampled grid: same first voxel centre, columns scaled. */
export function scaledAffine(affine: Mat4, scale: Vec3): Mat4 {
  return affine.map((row) => [row[0] * scale[0], row[1] * scale[1], row[2] * scale[2], row[3]]) as Mat4;
}

/** Volume-level convenience: image (trilinear) or label (nearest) volume at a new spacing. */
export function resampleVolume(v: Volume, target: Vec3, kind: 'image' | 'label'): Volume {
  const { grid, scale } = resampleToSpacing(volumeToGrid(v), v.spacing, target, kind === 'image' ? 'linear' : 'nearest');
  return {
    shape: grid.shape,
    channels: 1,
    data: kind === 'label' ? Uint8Array.from(grid.data) : grid.data,
    spacing: [...target],
    affine: scaledAffine(v.affine, scale),
    diskDtype: kind === 'label' ? 'uint8' : 'float32',
  };
}
