// Spatial + intensity augmentation driven by a seeded Rng. All spatial parts (flips, 90°
// rotations, small rotations, scaling, elastic deformation) are folded into ONE coordinate map
// per patch, so each patch is resampled once (trilinear for images, nearest for labels):
//   input(o) = centre + M · (o - h) + elastic(o),   h = floor(patchShape / 2)
// Voxels mapped outside the image read 0 (images are z-scored, so 0 is the mean) and label 0.
// Anisotropic data and 2D models only get in-plane (X-Y) rotations.

import { SegloopError } from '../../../../shared/errors';
import { DEFAULT_TRAINING_CONFIG } from '../../../../shared/training-config';
import type { Grid } from './layout';
import type { Rng } from './prng';
import type { Vec3 } from './resample';

export interface AugmentationConfig {
  enabled: boolean;
  flipProbability: number;
  /** Probability of a random multiple of 90° rotation (in-plane when inPlaneOnly). */
  rot90Probability: number;
  rotationProbability: number;
  /** Max |angle| of small rotations, degrees. */
  maxRotationDeg: number;
  scaleProbability: number;
  scaleRange: [number, number];
  elasticProbability: number;
  /** Std of control-point displacements, in voxels. */
  elasticSigma: number;
  /** Control-point spacing of the elastic field, in voxels. */
  elasticGridSpacing: number;
  intensityScaleProbability: number;
  intensityScaleRange: [number, number];
  intensityShiftProbability: number;
  intensityShiftStd: number;
  gammaProbability: number;
  gammaRange: [number, number];
  /** Only rotate about Z (2D models, or anisotropic spacing). */
  inPlaneOnly: boolean;
}

// The defaults are the shared training config's, so the plan shown in the UI and the trainer agree.
export const DEFAULT_AUGMENTATION: AugmentationConfig = { ...DEFAULT_TRAINING_CONFIG.augmentation };

export const NO_AUGMENTATION: AugmentationConfig = { ...DEFAULT_AUGMENTATION, enabled: false };

type Mat3 = [number, number, number, number, number, number, number, number, number];
const I3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function mul(a: Mat3, b: Mat3): Mat3 {
  const r = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) r[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return r as Mat3;
}

function rotation(axis: 0 | 1 | 2, rad: number): Mat3 {
  const c = Math.cos(rad);
  const s = Math.sin(rad);
  // Rotation in the plane of the two axes other than `axis`.
  const [p, q] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
  const m = [...I3] as Mat3;
  m[p * 3 + p] = c; m[p * 3 + q] = -s; m[q * 3 + p] = s; m[q * 3 + q] = c;
  return m;
}

export interface ElasticField {
  /** control grid shape and spacing (voxels of the patch) */
  shape: Vec3;
  spacing: number;
  /** displacements dx,dy,dz interleaved per control point, i fastest */
  disp: Float32Array;
}

export interface SpatialParams {
  matrix: Mat3;
  elastic: ElasticField | null;
}

export interface IntensityParams {
  scale: number;
  shift: number;
  gamma: number | null;
}

export interface AugmentationParams {
  spatial: SpatialParams;
  intensity: IntensityParams;
}

export const IDENTITY_PARAMS: AugmentationParams = { spatial: { matrix: I3, elastic: null }, intensity: { scale: 1, shift: 0, gamma: null } };

/** Draws one patch's augmentation. `patchShape[2] === 1` means a 2D patch (X-Y only). */
export function sampleAugmentation(rng: Rng, cfg: AugmentationConfig, patchShape: Vec3): AugmentationParams {
  if (!cfg.enabled) return IDENTITY_PARAMS;
  const is2d = patchShape[2] === 1;
  const inPlane = cfg.inPlaneOnly || is2d;
  let m: Mat3 = I3;
  const flip = [...I3] as Mat3;
  for (let a = 0; a < (is2d ? 2 : 3); a++) if (rng.chance(cfg.flipProbability)) flip[a * 4] = -1;
  m = mul(m, flip);
  if (rng.chance(cfg.rot90Probability)) {
    const axis: 0 | 1 | 2 = inPlane ? 2 : ([0, 1, 2] as const)[rng.int(3)];
    m = mul(m, rotation(axis, (Math.PI / 2) * (1 + rng.int(3))));
  }
  if (rng.chance(cfg.rotationProbability)) {
    const r = (cfg.maxRotationDeg * Math.PI) / 180;
    for (const axis of inPlane ? ([2] as const) : ([0, 1, 2] as const)) m = mul(m, rotation(axis, rng.uniform(-r, r)));
  }
  if (rng.chance(cfg.scaleProbability)) {
    const s = rng.uniform(cfg.scaleRange[0], cfg.scaleRange[1]);
    m = mul(m, [s, 0, 0, 0, s, 0, 0, 0, is2d ? 1 : s]);
  }
  let elastic: ElasticField | null = null;
  if (rng.chance(cfg.elasticProbability)) {
    const sp = Math.max(2, cfg.elasticGridSpacing);
    const shape = patchShape.map((p) => Math.ceil((p - 1) / sp) + 2) as Vec3;
    const disp = new Float32Array(shape[0] * shape[1] * shape[2] * 3);
    for (let i = 0; i < disp.length; i++) disp[i] = is2d && i % 3 === 2 ? 0 : rng.normal() * cfg.elasticSigma;
    elastic = { shape, spacing: sp, disp };
  }
  const intensity: IntensityParams = {
    scale: rng.chance(cfg.intensityScaleProbability) ? rng.uniform(cfg.intensityScaleRange[0], cfg.intensityScaleRange[1]) : 1,
    shift: rng.chance(cfg.intensityShiftProbability) ? rng.normal() * cfg.intensityShiftStd : 0,
    gamma: rng.chance(cfg.gammaProbability) ? rng.uniform(cfg.gammaRange[0], cfg.gammaRange[1]) : null,
  };
  return { spatial: { matrix: m, elastic }, intensity };
}

function elasticAt(f: ElasticField, o: Vec3, out: Float64Array): void {
  const [GX, GY] = f.shape;
  const gx = o[0] / f.spacing, gy = o[1] / f.spacing, gz = o[2] / f.spacing;
  const x0 = Math.floor(gx), y0 = Math.floor(gy), z0 = Math.floor(gz);
  const wx = gx - x0, wy = gy - y0, wz = gz - z0;
  out[0] = out[1] = out[2] = 0;
  for (let dz = 0; dz < 2; dz++) for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
    const zz = Math.min(z0 + dz, f.shape[2] - 1);
    const w = (dx ? wx : 1 - wx) * (dy ? wy : 1 - wy) * (dz ? wz : 1 - wz);
    const base = 3 * ((x0 + dx) + GX * ((y0 + dy) + GY * zz));
    out[0] += w * f.disp[base]; out[1] += w * f.disp[base + 1]; out[2] += w * f.disp[base + 2];
  }
}

export interface PatchOut {
  images: Float32Array[];
  label: Int32Array | null;
}

/**
 * Extracts one patch around `centre` (input voxel coordinates) with the given spatial transform
 * and applies the intensity transform to the image channels.
 */
export function extractPatch(images: readonly Grid[], label: Grid | null, centre: Vec3, patchShape: Vec3, params: AugmentationParams): PatchOut {
  if (images.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'extractPatch needs at least one image channel.');
  const [X, Y, Z] = images[0].shape;
  const [PX, PY, PZ] = patchShape;
  const n = PX * PY * PZ;
  const outs = images.map(() => new Float32Array(n));
  const lab = label ? new Int32Array(n) : null;
  const h: Vec3 = [Math.floor(PX / 2), Math.floor(PY / 2), Math.floor(PZ / 2)];
  const m = params.spatial.matrix;
  const el = params.spatial.elastic;
  const d = new Float64Array(3);
  const XY = X * Y;
  let p = 0;
  for (let k = 0; k < PZ; k++) for (let j = 0; j < PY; j++) for (let i = 0; i < PX; i++, p++) {
    const ox = i - h[0], oy = j - h[1], oz = k - h[2];
    let cx = centre[0] + m[0] * ox + m[1] * oy + m[2] * oz;
    let cy = centre[1] + m[3] * ox + m[4] * oy + m[5] * oz;
    let cz = centre[2] + m[6] * ox + m[7] * oy + m[8] * oz;
    if (el) {
      elasticAt(el, [i, j, k], d);
      cx += d[0]; cy += d[1]; cz += d[2];
    }
    if (lab && label) {
      const li = Math.round(cx), lj = Math.round(cy), lk = Math.round(cz);
      lab[p] = li >= 0 && li < X && lj >= 0 && lj < Y && lk >= 0 && lk < Z ? label.data[li + X * lj + XY * lk] : 0;
    }
    // Trilinear with zero outside.
    const x0 = Math.floor(cx), y0 = Math.floor(cy), z0 = Math.floor(cz);
    const fx = cx - x0, fy = cy - y0, fz = cz - z0;
    if (x0 >= 0 && y0 >= 0 && z0 >= 0 && x0 + 1 < X && y0 + 1 < Y && z0 + 1 < Z) {
      const b = x0 + X * y0 + XY * z0;
      for (let c = 0; c < images.length; c++) {
        const s = images[c].data;
        const c00 = s[b] + fx * (s[b + 1] - s[b]);
        const c01 = s[b + X] + fx * (s[b + X + 1] - s[b + X]);
        const c10 = s[b + XY] + fx * (s[b + XY + 1] - s[b + XY]);
        const c11 = s[b + XY + X] + fx * (s[b + XY + X + 1] - s[b + XY + X]);
        const c0 = c00 + fy * (c01 - c00);
        const c1 = c10 + fy * (c11 - c10);
        outs[c][p] = c0 + fz * (c1 - c0);
      }
    } else {
      for (let c = 0; c < images.length; c++) {
        const s = images[c].data;
        let acc = 0;
        for (let dz = 0; dz < 2; dz++) for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
          const xi = x0 + dx, yi = y0 + dy, zi = z0 + dz;
          if (xi < 0 || yi < 0 || zi < 0 || xi >= X || yi >= Y || zi >= Z) continue;
          acc += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * (dz ? fz : 1 - fz) * s[xi + X * yi + XY * zi];
        }
        outs[c][p] = acc;
      }
    }
  }
  for (const o of outs) applyIntensity(o, params.intensity);
  return { images: outs, label: lab };
}

/** In place: gamma (on the patch range, nnU-Net style), then scale and shift. */
export function applyIntensity(v: Float32Array, t: IntensityParams): void {
  if (t.gamma !== null) {
    let lo = Infinity, hi = -Infinity;
    for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; }
    const range = hi - lo;
    if (range > 1e-8) for (let i = 0; i < v.length; i++) v[i] = lo + range * Math.pow((v[i] - lo) / range, t.gamma);
  }
  if (t.scale !== 1 || t.shift !== 0) for (let i = 0; i < v.length; i++) v[i] = v[i] * t.scale + t.shift;
}

/** Mirror a grid along one axis (0 = X/i, 1 = Y/j, 2 = Z/k). */
export function flipGrid(g: Grid, axis: 0 | 1 | 2): Grid {
  const [X, Y, Z] = g.shape;
  const out = new Float32Array(g.data.length);
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    const si = axis === 0 ? X - 1 - i : i, sj = axis === 1 ? Y - 1 - j : j, sk = axis === 2 ? Z - 1 - k : k;
    out[i + X * (j + Y * k)] = g.data[si + X * (sj + Y * sk)];
  }
  return { shape: [...g.shape], data: out };
}

/** Constant-pads a grid (centred) so every axis is at least minShape. Returns the offset used. */
export function padToShape(g: Grid, minShape: Vec3, value = 0): { grid: Grid; offset: Vec3 } {
  const shape = g.shape.map((s, a) => Math.max(s, minShape[a])) as Vec3;
  const offset = shape.map((s, a) => Math.floor((s - g.shape[a]) / 2)) as Vec3;
  if (offset.every((o, a) => o === 0 && shape[a] === g.shape[a])) return { grid: { shape, data: g.data.slice() }, offset };
  const out = new Float32Array(shape[0] * shape[1] * shape[2]).fill(value);
  const [X, Y, Z] = g.shape;
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) {
    const src = X * (j + Y * k);
    out.set(g.data.subarray(src, src + X), offset[0] + shape[0] * (j + offset[1] + shape[1] * (k + offset[2])));
  }
  return { grid: { shape, data: out }, offset };
}
