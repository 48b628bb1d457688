// NIfTI-1 parsing in the renderer: the server streams the stored .nii(.gz) bytes and the client
// builds the Cornerstone volume itself (no image loader scheme, no per-slice requests).
// Voxel order stays nibabel's (i fastest), the affine is nibabel's (sform, else qform, else pixdim).

export interface ParsedNifti {
  shape: [number, number, number];
  spacing: [number, number, number];
  /** Row-major 4x4 voxel -> RAS+ mm. */
  affine: number[][];
  datatype: number;
  /** Scaled voxel values. */
  data: Float32Array;
}

export async function gunzipIfNeeded(bytes: ArrayBuffer): Promise<ArrayBuffer> {
  const u8 = new Uint8Array(bytes);
  if (u8.length < 2 || u8[0] !== 0x1f || u8[1] !== 0x8b) return bytes;
  const stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

export async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

export async function parseNifti(raw: ArrayBuffer, name = 'file'): Promise<ParsedNifti> {
  const buf = await gunzipIfNeeded(raw);
  if (buf.byteLength < 348) throw new Error(`${name}: too short to be a NIfTI file (${buf.byteLength} bytes).`);
  const dv = new DataView(buf);
  let le = true;
  if (dv.getInt32(0, true) !== 348) {
    if (dv.getInt32(0, false) !== 348) throw new Error(`${name}: not a NIfTI-1 file (sizeof_hdr is not 348).`);
    le = false;
  }
  const magic = String.fromCharCode(dv.getUint8(344), dv.getUint8(345), dv.getUint8(346));
  if (magic !== 'n+1' && magic !== 'ni1') throw new Error(`${name}: not a NIfTI-1 file (bad magic "${magic.replace(/[^ -~]/g, '?')}").`);
  const i16 = (o: number) => dv.getInt16(o, le);
  const f32 = (o: number) => dv.getFloat32(o, le);
  const ndim = i16(40);
  const dims = [1, 2, 3].map((k) => (k <= ndim ? Math.max(1, i16(40 + 2 * k)) : 1)) as [number, number, number];
  const datatype = i16(70);
  const pixdim = [0, 1, 2, 3, 4].map((k) => f32(76 + 4 * k));
  // Some writers leave vox_offset at 0 in single-file .nii: the data then starts right after the header.
  const voxOffset = Math.max(352, Math.round(f32(108)));
  const slope = f32(112);
  const inter = f32(116);
  const qformCode = i16(252);
  const sformCode = i16(254);

  let affine: number[][];
  if (sformCode > 0) {
    affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c)));
    affine.push([0, 0, 0, 1]);
  } else if (qformCode > 0) {
    affine = qformAffine(f32(256), f32(260), f32(264), f32(268), f32(272), f32(276), pixdim);
  } else {
    affine = [
      [pixdim[1] || 1, 0, 0, 0],
      [0, pixdim[2] || 1, 0, 0],
      [0, 0, pixdim[3] || 1, 0],
      [0, 0, 0, 1],
    ];
  }
  const spacing = [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]) || 1) as [number, number, number];

  const n = dims[0] * dims[1] * dims[2];
  const bpv: Record<number, number> = { 2: 1, 256: 1, 4: 2, 512: 2, 8: 4, 768: 4, 16: 4, 64: 8 };
  const size = bpv[datatype];
  if (!size) throw new Error(`${name}: NIfTI datatype ${datatype} is not supported by the viewer.`);
  if (voxOffset + n * size > buf.byteLength) throw new Error(`${name}: the file is truncated (needs ${voxOffset + n * size} bytes, has ${buf.byteLength}).`);
  const data = new Float32Array(n);
  const read: (o: number) => number =
    datatype === 2 ? (o) => dv.getUint8(o)
    : datatype === 256 ? (o) => dv.getInt8(o)
    : datatype === 4 ? (o) => dv.getInt16(o, le)
    : datatype === 512 ? (o) => dv.getUint16(o, le)
    : datatype === 8 ? (o) => dv.getInt32(o, le)
    : datatype === 768 ? (o) => dv.getUint32(o, le)
    : datatype === 16 ? (o) => dv.getFloat32(o, le)
    : (o) => dv.getFloat64(o, le);
  if (datatype === 16 && le) data.set(new Float32Array(buf.slice(voxOffset, voxOffset + 4 * n)));
  else if (datatype === 2) data.set(new Uint8Array(buf, voxOffset, n));
  else for (let i = 0; i < n; i++) data[i] = read(voxOffset + i * size);
  // slope 0 or NaN means "no scaling" (NIfTI spec).
  if (Number.isFinite(slope) && slope !== 0 && (slope !== 1 || (Number.isFinite(inter) && inter !== 0))) {
    const b = Number.isFinite(inter) ? inter : 0;
    for (let i = 0; i < n; i++) data[i] = data[i] * slope + b;
  }
  return { shape: dims, spacing, affine, datatype, data };
}

function qformAffine(b: number, c: number, d: number, qx: number, qy: number, qz: number, pixdim: number[]): number[][] {
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const qfac = pixdim[0] < 0 ? -1 : 1;
  const R = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const s = [pixdim[1] || 1, pixdim[2] || 1, (pixdim[3] || 1) * qfac];
  return [
    [R[0][0] * s[0], R[0][1] * s[1], R[0][2] * s[2], qx],
    [R[1][0] * s[0], R[1][1] * s[1], R[1][2] * s[2], qy],
    [R[2][0] * s[0], R[2][1] * s[1], R[2][2] * s[2], qz],
    [0, 0, 0, 1],
  ];
}

/** Cornerstone works in DICOM LPS: origin, direction (i, j, k unit vectors) and spacing from a RAS affine. */
export function toLpsGeometry(affine: number[][]): { origin: [number, number, number]; direction: number[]; spacing: [number, number, number] } {
  const flip = [-1, -1, 1];
  const origin = [0, 1, 2].map((r) => flip[r] * affine[r][3]) as [number, number, number];
  const direction: number[] = [];
  const spacing = [0, 0, 0] as [number, number, number];
  for (let c = 0; c < 3; c++) {
    const col = [0, 1, 2].map((r) => flip[r] * affine[r][c]);
    const norm = Math.hypot(col[0], col[1], col[2]) || 1;
    spacing[c] = norm;
    direction.push(col[0] / norm, col[1] / norm, col[2] / norm);
  }
  return { origin, direction, spacing };
}

/** Percentile window presets: hippocampus float images reach 1.7e6, so min/max would look black. */
export function percentiles(data: Float32Array, ps: readonly number[]): number[] {
  const step = Math.max(1, Math.floor(data.length / 200_000));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += step) if (Number.isFinite(data[i])) sample.push(data[i]);
  sample.sort((a, b) => a - b);
  if (sample.length === 0) return ps.map(() => 0);
  return ps.map((p) => sample[Math.min(sample.length - 1, Math.max(0, Math.round((p / 100) * (sample.length - 1))))]);
}
