// Voxel-to-world geometry, written to give the same numbers as nibabel (affines.py,
// orientations.py, quaternions.py, Nifti1Header.get_qform/set_qform).
import { SegloopError } from '../../../shared/errors';
import type { Vec3 } from '../base/vec3';
import type { Mat4, Volume, VoxelArray } from './volume';

export type { Vec3 };
/** Per input axis: the world axis it runs along (0 = x/R, 1 = y/A, 2 = z/S) and its sign. */
export type Orientation = Array<{ axis: number; flip: 1 | -1 } | null>;

export function identity4(): Mat4 {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

export function matmul4(a: Mat4, b: Mat4): Mat4 {
  const out = identity4();
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r][k] * b[k][c];
      out[r][c] = s;
    }
  }
  return out;
}

export function cloneMat4(m: Mat4): Mat4 {
  return m.map((row) => [...row]) as Mat4;
}

/** World (RAS+ mm) coordinates of voxel index (i, j, k). */
export function voxelToWorld(affine: Mat4, ijk: Vec3): Vec3 {
  const out: Vec3 = [0, 0, 0];
  for (let r = 0; r < 3; r++) {
    out[r] = affine[r][0] * ijk[0] + affine[r][1] * ijk[1] + affine[r][2] * ijk[2] + affine[r][3];
  }
  return out;
}

/** Norms of the first three affine columns (nibabel's voxel sizes from an affine). */
export function affineZooms(affine: Mat4): Vec3 {
  const z: Vec3 = [0, 0, 0];
  for (let c = 0; c < 3; c++) z[c] = Math.hypot(affine[0][c], affine[1][c], affine[2][c]);
  return z;
}

type Mat3 = number[][];

function det3(m: Mat3): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

function invTranspose3(m: Mat3): Mat3 | null {
  const d = det3(m);
  if (!Number.isFinite(d) || Math.abs(d) < 1e-12) return null;
  // cofactor matrix / det == inverse transposed
  const c = (r0: number, c0: number, r1: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  return [
    [c(1, 1, 2, 2) / d, -c(1, 0, 2, 2) / d, c(1, 0, 2, 1) / d],
    [-c(0, 1, 2, 2) / d, c(0, 0, 2, 2) / d, -c(0, 0, 2, 1) / d],
    [c(0, 1, 1, 2) / d, -c(0, 0, 1, 2) / d, c(0, 0, 1, 1) / d],
  ];
}

/**
 * Orthogonal polar factor of a 3x3 matrix (the closest rotation/reflection, as nibabel gets
 * from P·Qᵀ of the SVD). Newton's iteration R ← (R + R⁻ᵀ)/2 converges quadratically for
 * non-singular input; a singular matrix is returned unchanged (nibabel would drop the null
 * directions, which only matters for degenerate affines).
 */
export function polarOrthogonal(m: Mat3): Mat3 {
  let r = m.map((row) => [...row]);
  for (let it = 0; it < 100; it++) {
    const it3 = invTranspose3(r);
    if (!it3) return m.map((row) => [...row]);
    let delta = 0;
    const next = r.map((row, i) => row.map((v, j) => (v + it3[i][j]) / 2));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) delta = Math.max(delta, Math.abs(next[i][j] - r[i][j]));
    r = next;
    if (delta < 1e-15) break;
  }
  return r;
}

/** nibabel.orientations.io_orientation. */
export function ioOrientation(affine: Mat4): Orientation {
  const rzs: Mat3 = [0, 1, 2].map((r) => [affine[r][0], affine[r][1], affine[r][2]]);
  const zooms = affineZooms(affine).map((z) => (z === 0 ? 1 : z));
  const rs = rzs.map((row) => row.map((v, c) => v / zooms[c]));
  const r = polarOrthogonal(rs);
  const out: Orientation = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = [r[0][inAx], r[1][inAx], r[2][inAx]];
    if (col.every((v) => Math.abs(v) <= 1e-8)) {
      out.push(null);
      continue;
    }
    let outAx = 0;
    for (let k = 1; k < 3; k++) if (Math.abs(col[k]) > Math.abs(col[outAx])) outAx = k;
    out.push({ axis: outAx, flip: col[outAx] < 0 ? -1 : 1 });
    // remove the chosen world axis from later choices (nibabel resolves ties this way)
    r[outAx] = [0, 0, 0];
  }
  return out;
}

const AXIS_LABELS: Array<[string, string]> = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
];

/** nibabel.aff2axcodes, e.g. 'RAS', 'LPS'; an undeterminable axis is '?'. */
export function axcodes(affine: Mat4): string {
  return ioOrientation(affine)
    .map((o) => (o ? AXIS_LABELS[o.axis][o.flip === 1 ? 1 : 0] : '?'))
    .join('');
}

function emptyLike(data: VoxelArray, length: number): VoxelArray {
  const Ctor = data.constructor as new (n: number) => VoxelArray;
  return new Ctor(length);
}

/**
 * nibabel.as_closest_canonical: flip/transpose the voxel array so its axes run R, A, S as
 * closely as the affine allows, and adjust the affine so every voxel keeps its world position.
 * Returns the input itself when it is already canonical (as nibabel does).
 */
export function toCanonicalRas<T extends Volume>(img: T): T {
  const ornt = ioOrientation(img.affine);
  if (ornt.some((o) => o === null)) {
    throw new SegloopError('INVALID_ARGUMENT', 'Cannot reorient an image whose affine has a zero-length axis.', {
      affine: img.affine,
    });
  }
  const o = ornt as Array<{ axis: number; flip: 1 | -1 }>;
  if (o.every((x, i) => x.axis === i && x.flip === 1)) return img;

  // src[a] = input axis that becomes output (RAS) axis a
  const src = [0, 0, 0];
  o.forEach((x, i) => (src[x.axis] = i));
  const inShape = img.shape;
  const outShape: [number, number, number] = [inShape[src[0]], inShape[src[1]], inShape[src[2]]];
  // old index = P·new + c
  const p: Mat4 = identity4();
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) p[r][c] = 0;
  for (let a = 0; a < 3; a++) {
    const j = src[a];
    p[j][a] = o[j].flip;
    p[j][3] = o[j].flip === -1 ? inShape[j] - 1 : 0;
  }
  const affine = matmul4(img.affine, p);

  const ch = img.channels;
  const out = emptyLike(img.data, img.data.length);
  const inStride = [1, inShape[0], inShape[0] * inShape[1]];
  // per output axis: step in the input linear index and the start offset
  const step = [0, 1, 2].map((a) => o[src[a]].flip * inStride[src[a]]);
  let start = 0;
  for (let a = 0; a < 3; a++) if (o[src[a]].flip === -1) start += (inShape[src[a]] - 1) * inStride[src[a]];
  const [nx, ny, nz] = outShape;
  let w = 0;
  for (let k = 0; k < nz; k++) {
    for (let jj = 0; jj < ny; jj++) {
      let idx = start + jj * step[1] + k * step[2];
      if (ch === 1) {
        for (let i = 0; i < nx; i++, idx += step[0]) out[w++] = img.data[idx];
      } else {
        for (let i = 0; i < nx; i++, idx += step[0]) {
          for (let c = 0; c < ch; c++) out[w++] = img.data[idx * ch + c];
        }
      }
    }
  }
  const spacing: [number, number, number] = [img.spacing[src[0]], img.spacing[src[1]], img.spacing[src[2]]];
  return { ...img, shape: outShape, data: out, affine, spacing };
}

/**
 * nibabel's fallback when a header has no usable transform (Analyze / codes 0):
 * shape_zoom_affine with x flipped and the volume centred on (0, 0, 0).
 */
export function fallbackAffine(shape: number[], zooms: number[], origin?: number[]): Mat4 {
  const a = identity4();
  for (let d = 0; d < 3; d++) {
    const n = shape[d] ?? 1;
    const z = (zooms[d] ?? 1) * (d === 0 ? -1 : 1);
    const o = origin ? origin[d] : (n - 1) / 2;
    a[d][d] = z;
    a[d][3] = -o * z;
  }
  return a;
}

/** Rotation matrix of a unit quaternion (w, x, y, z), nibabel.quaternions.quat2mat. */
export function quatToMat(w: number, x: number, y: number, z: number): Mat3 {
  const nq = w * w + x * x + y * y + z * z;
  if (nq < 2.220446049250313e-16) {
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  }
  const s = 2 / nq;
  const X = x * s, Y = y * s, Z = z * s;
  const wX = w * X, wY = w * Y, wZ = w * Z;
  const xX = x * X, xY = x * Y, xZ = x * Z;
  const yY = y * Y, yZ = y * Z, zZ = z * Z;
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/** Nifti1Header.get_qform: quaternion (b, c, d) + pixdim + qfac + offsets -> affine. */
export function qformToAffine(
  b: number,
  c: number,
  d: number,
  offset: Vec3,
  pixdim: Vec3,
  qfac: number,
): Mat4 {
  // nibabel.quaternions.fillpositive with the NIfTI threshold (3 float32 eps)
  let w2 = 1 - (b * b + c * c + d * d);
  if (w2 < 0) {
    if (w2 < -3 * 1.1920928955078125e-7) {
      throw new SegloopError('NIFTI_UNSUPPORTED', `The qform quaternion (${b}, ${c}, ${d}) has norm > 1.`, { b, c, d });
    }
    w2 = 0;
  }
  const r = quatToMat(Math.sqrt(w2), b, c, d);
  const vox = [Math.abs(pixdim[0]), Math.abs(pixdim[1]), Math.abs(pixdim[2]) * (qfac < 0 ? -1 : 1)];
  const a = identity4();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) a[i][j] = r[i][j] * vox[j];
    a[i][3] = offset[i];
  }
  return a;
}

/**
 * Nifti1Header.set_qform: the quaternion, pixdim and qfac that best represent an affine
 * (shears are dropped via the polar decomposition). `exact` says whether the qform
 * reproduces the affine (no shear) to 1e-6 relative.
 */
export function affineToQform(affine: Mat4): {
  b: number;
  c: number;
  d: number;
  qfac: 1 | -1;
  pixdim: Vec3;
  offset: Vec3;
  exact: boolean;
} {
  const m: Mat3 = [0, 1, 2].map((r) => [affine[r][0], affine[r][1], affine[r][2]]);
  const zooms = affineZooms(affine).map((z) => (z === 0 ? 1 : z)) as Vec3;
  let qfac: 1 | -1 = 1;
  if (det3(m) < 0) {
    qfac = -1;
    for (let r = 0; r < 3; r++) m[r][2] = -m[r][2];
  }
  const rs = m.map((row) => row.map((v, c) => v / zooms[c]));
  const rot = polarOrthogonal(rs);
  // Shepperd's method; rot is a proper rotation here
  const t = rot[0][0] + rot[1][1] + rot[2][2];
  let w: number, x: number, y: number, z: number;
  if (t > 0) {
    const s = Math.sqrt(t + 1) * 2;
    w = s / 4;
    x = (rot[2][1] - rot[1][2]) / s;
    y = (rot[0][2] - rot[2][0]) / s;
    z = (rot[1][0] - rot[0][1]) / s;
  } else if (rot[0][0] > rot[1][1] && rot[0][0] > rot[2][2]) {
    const s = Math.sqrt(1 + rot[0][0] - rot[1][1] - rot[2][2]) * 2;
    w = (rot[2][1] - rot[1][2]) / s;
    x = s / 4;
    y = (rot[0][1] + rot[1][0]) / s;
    z = (rot[0][2] + rot[2][0]) / s;
  } else if (rot[1][1] > rot[2][2]) {
    const s = Math.sqrt(1 + rot[1][1] - rot[0][0] - rot[2][2]) * 2;
    w = (rot[0][2] - rot[2][0]) / s;
    x = (rot[0][1] + rot[1][0]) / s;
    y = s / 4;
    z = (rot[1][2] + rot[2][1]) / s;
  } else {
    const s = Math.sqrt(1 + rot[2][2] - rot[0][0] - rot[1][1]) * 2;
    w = (rot[1][0] - rot[0][1]) / s;
    x = (rot[0][2] + rot[2][0]) / s;
    y = (rot[1][2] + rot[2][1]) / s;
    z = s / 4;
  }
  if (w < 0) {
    w = -w;
    x = -x;
    y = -y;
    z = -z;
  }
  const offset: Vec3 = [affine[0][3], affine[1][3], affine[2][3]];
  const back = qformToAffine(x, y, z, offset, zooms, qfac);
  let maxErr = 0;
  let scale = 0;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      maxErr = Math.max(maxErr, Math.abs(back[r][c] - affine[r][c]));
      scale = Math.max(scale, Math.abs(affine[r][c]));
    }
  }
  return { b: x, c: y, d: z, qfac, pixdim: zooms, offset, exact: maxErr <= 1e-6 * Math.max(scale, 1) };
}

/**
 * Throws LABEL_GEOMETRY_MISMATCH when a label does not lie on the image's voxel grid
 * (different shape, or an affine entry differing by more than `tol`).
 */
export function assertSameGeometry(
  image: Pick<Volume, 'shape' | 'affine'>,
  label: Pick<Volume, 'shape' | 'affine'>,
  names: { image: string; label: string },
  tol = 1e-4,
): void {
  const shapeOk = image.shape.length === label.shape.length && image.shape.every((n, i) => n === label.shape[i]);
  if (!shapeOk) {
    throw new SegloopError(
      'LABEL_GEOMETRY_MISMATCH',
      `Label ${names.label} has shape ${fmtShape(label.shape)} but image ${names.image} has shape ${fmtShape(image.shape)}: the label must be drawn on the same voxel grid.`,
      { image: names.image, label: names.label, imageShape: image.shape, labelShape: label.shape },
    );
  }
  let worst = 0;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(image.affine[r][c] - label.affine[r][c]));
  if (!(worst <= tol)) {
    throw new SegloopError(
      'LABEL_GEOMETRY_MISMATCH',
      `Label ${names.label} is not aligned with image ${names.image}: their affines differ by up to ${worst.toPrecision(4)} (tolerance ${tol}). Image affine ${fmtMat(image.affine)}, label affine ${fmtMat(label.affine)}.`,
      { image: names.image, label: names.label, imageAffine: image.affine, labelAffine: label.affine, maxDifference: worst },
    );
  }
}

function fmtShape(s: readonly number[]): string {
  return `(${s.join(', ')})`;
}

function fmtMat(m: Mat4): string {
  return `[${m.map((row) => `[${row.map((v) => Number(v.toPrecision(6))).join(', ')}]`).join(', ')}]`;
}

/**
 * Throws IMAGE_GEOMETRY_INVALID when a volume's voxel size or affine cannot place it in space:
 * a zero, negative, NaN or infinite spacing, or a non-finite or singular affine. Readers return
 * such headers as stored (as nibabel does); import refuses them, since resampling, training
 * patches and every mm measurement would silently be wrong.
 */
export function assertUsableGeometry(volume: Pick<Volume, 'shape' | 'spacing' | 'affine'>, file: string): void {
  // a singleton axis (a 2D W x H x 1 image) has no extent, so its voxel size is often left 0
  const flat = volume.shape.some((n) => n === 1);
  const bad = volume.spacing.findIndex((s, i) => volume.shape[i] !== 1 && !(Number.isFinite(s) && s > 0));
  if (bad >= 0) {
    throw new SegloopError(
      'IMAGE_GEOMETRY_INVALID',
      `${file}: voxel size along axis ${bad} is ${volume.spacing[bad]} mm (pixdim[${bad + 1}] in the header); it must be a positive number. Fix the header (e.g. nibabel: img.header.set_zooms) and import again.`,
      { file, spacing: [...volume.spacing] },
    );
  }
  const a = volume.affine;
  const finite = a.every((row) => row.every((v) => Number.isFinite(v)));
  const det =
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  if (!finite || (!flat && !(Math.abs(det) > 0 && Number.isFinite(det)))) {
    throw new SegloopError(
      'IMAGE_GEOMETRY_INVALID',
      `${file}: the voxel-to-world transform (sform/qform) is ${finite ? 'singular' : 'not finite'}, so the image cannot be placed in space. Fix the header's sform/qform and import again.`,
      { file, affine: a.map((r) => [...r]) },
    );
  }
}
