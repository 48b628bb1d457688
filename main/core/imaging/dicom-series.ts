// Reading one DICOM series (single-frame slices) into a Volume.
//
// Voxel-order convention — chosen so a DICOM import gives the same NIfTI as dcm2niix:
//   i = DICOM column index (along the IOP row direction, step PixelSpacing[1]),
//   j = DICOM row index REVERSED (j = 0 is the last stored row; NIfTI is stored bottom-up),
//   k = slices sorted by increasing projection of ImagePositionPatient on n = row x col
//       (the IOP cross product), independent of InstanceNumber or file order.
// With this order the affine has a negative determinant (the usual dcm2niix/FSL handedness).
// For the sagittal test series this is native[:, ::-1, ::-1] where native = (column, row,
// InstanceNumber), exactly dcm2niix v1.0.20220720's output. The affine is the LPS geometry
// flipped to RAS+ (x and y negated), as nibabel reports it.
import { basename } from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { isNativeTransferSyntax, parseDicomFile, transferSyntaxName, type DicomFileHeader, type ParsedDicomFile } from './dicom-header';
import type { DType, Mat4, Volume, VoxelArray } from './volume';
import type { Vec3 } from '../base/vec3';

export interface DicomVolume extends Volume {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  /** PHI: keep out of logs. */
  patientName: string;
  modality: string;
  description: string;
  seriesNumber: number | null;
  /** Distance between slice centres, measured from ImagePositionPatient (not SliceThickness). */
  sliceSpacing: number;
  sliceThickness: number | null;
  photometric: string;
  /** True when MONOCHROME1 values were inverted so that higher = brighter. */
  inverted: boolean;
  /** True when any slice had RescaleSlope != 1 or RescaleIntercept != 0. */
  rescaled: boolean;
  transferSyntaxUid: string;
  windowCenter: number | null;
  windowWidth: number | null;
  /** Source files in the order of the k axis of `data`. */
  files: string[];
}

export interface ReadDicomSeriesOptions {
  /** Largest allowed deviation of one slice step from the mean step, as a fraction of it (default 0.01). */
  spacingTolerance?: number;
}

const ORIENTATION_TOLERANCE = 1e-3;
const DUPLICATE_POSITION_MM = 1e-2;
const TILT_TOLERANCE_MM = 0.05;

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
const unit = (a: Vec3): Vec3 => {
  const n = norm(a);
  return [a[0] / n, a[1] / n, a[2] / n];
};

function mixed(message: string, reason: string, files: string[], extra: Record<string, unknown> = {}): SegloopError {
  return new SegloopError('DICOM_MIXED_SERIES', message, { reason, files, ...extra });
}

function names(files: string[], max = 3): string {
  const shown = files.slice(0, max).map((f) => basename(f));
  return files.length > max ? `${shown.join(', ')} and ${files.length - max} more` : shown.join(', ');
}

function checkFile(h: DicomFileHeader, pixelData: Uint8Array | null): void {
  const name = basename(h.file);
  if (!isNativeTransferSyntax(h.transferSyntaxUid)) {
    throw new SegloopError(
      'DICOM_UNSUPPORTED',
      `${name} uses the ${transferSyntaxName(h.transferSyntaxUid)} transfer syntax (${h.transferSyntaxUid}), which Segloop does not decode. ` +
        'Convert the series to uncompressed DICOM (e.g. `gdcmconv --raw`) or to NIfTI with dcm2niix, then import that.',
      { file: h.file, transferSyntaxUid: h.transferSyntaxUid, transferSyntax: transferSyntaxName(h.transferSyntaxUid) },
    );
  }
  if (!h.hasPixelData) {
    throw new SegloopError('DICOM_INVALID', `${name} holds no image (no PixelData; SOP class ${h.sopClassUid || 'unknown'}).`, {
      file: h.file,
      reason: 'no PixelData',
    });
  }
  if (h.numberOfFrames > 1) {
    throw new SegloopError(
      'DICOM_UNSUPPORTED',
      `${name} is a multi-frame DICOM (${h.numberOfFrames} frames); only single-frame series are supported. Convert it with dcm2niix and import the NIfTI.`,
      { file: h.file, numberOfFrames: h.numberOfFrames },
    );
  }
  if (h.samplesPerPixel !== 1 || (h.photometric !== 'MONOCHROME1' && h.photometric !== 'MONOCHROME2')) {
    throw new SegloopError(
      'DICOM_UNSUPPORTED',
      `${name} is a colour image (${h.photometric}, ${h.samplesPerPixel} samples per pixel); only greyscale series are supported.`,
      { file: h.file, photometric: h.photometric, samplesPerPixel: h.samplesPerPixel },
    );
  }
  if (![8, 16, 32].includes(h.bitsAllocated) || h.bitsStored < 1 || h.bitsStored > h.bitsAllocated || h.highBit >= h.bitsAllocated) {
    throw new SegloopError(
      'DICOM_UNSUPPORTED',
      `${name} stores pixels with BitsAllocated ${h.bitsAllocated} / BitsStored ${h.bitsStored} / HighBit ${h.highBit}; supported are 8, 16 or 32 bits allocated.`,
      { file: h.file, bitsAllocated: h.bitsAllocated, bitsStored: h.bitsStored, highBit: h.highBit },
    );
  }
  if (h.rows < 1 || h.columns < 1) {
    throw new SegloopError('DICOM_INVALID', `${name} has no valid Rows/Columns (${h.rows} x ${h.columns}).`, { file: h.file, reason: 'bad size' });
  }
  if (!h.imagePosition || !h.imageOrientation || !h.pixelSpacing) {
    throw new SegloopError(
      'DICOM_UNSUPPORTED',
      `${name} lacks ImagePositionPatient, ImageOrientationPatient or PixelSpacing, so it cannot be placed in patient space.`,
      { file: h.file },
    );
  }
  const expected = (h.rows * h.columns * h.bitsAllocated) / 8;
  const got = pixelData ? pixelData.byteLength : 0;
  if (got < expected) {
    throw new SegloopError(
      'DICOM_INVALID',
      `${name} is truncated: its pixel data has ${got} bytes, ${h.rows} x ${h.columns} x ${h.bitsAllocated / 8} = ${expected} are needed.`,
      { file: h.file, reason: 'truncated pixel data', bytes: got, expectedBytes: expected },
    );
  }
}

interface Slice {
  header: DicomFileHeader;
  pixels: Uint8Array;
  position: number;
}

/** Read stored values of one slice into `dst` as numbers with the MONOCHROME2 meaning, before rescale. */
function storedValues(h: DicomFileHeader, bytes: Uint8Array, dst: Float64Array): void {
  const n = h.rows * h.columns;
  const shift = h.highBit + 1 - h.bitsStored;
  const range = 2 ** h.bitsStored;
  const signed = h.pixelRepresentation === 1;
  const invert = h.photometric === 'MONOCHROME1';
  // (raw >>> shift) mod 2^bitsStored, then two's complement for signed data. Done in doubles so
  // 32-bit values need no special casing.
  const shiftDiv = 2 ** shift;
  const exact = shift === 0 && h.bitsStored === h.bitsAllocated;
  let raw: ArrayLike<number>;
  const aligned = bytes.byteOffset % (h.bitsAllocated / 8) === 0;
  const src = aligned ? bytes : bytes.slice(0, (n * h.bitsAllocated) / 8);
  if (h.bitsAllocated === 8) raw = signed && exact ? new Int8Array(src.buffer, src.byteOffset, n) : src;
  else if (h.bitsAllocated === 16)
    raw = signed && exact ? new Int16Array(src.buffer, src.byteOffset, n) : new Uint16Array(src.buffer, src.byteOffset, n);
  else raw = signed && exact ? new Int32Array(src.buffer, src.byteOffset, n) : new Uint32Array(src.buffer, src.byteOffset, n);
  for (let p = 0; p < n; p++) {
    let v = raw[p];
    if (!exact) {
      v = Math.floor(v / shiftDiv) % range;
      if (signed && v >= range / 2) v -= range;
    }
    // MONOCHROME1: minimum stored value is white. Mirror within the stored range.
    if (invert) v = signed ? -1 - v : range - 1 - v;
    dst[p] = v;
  }
}

function chooseOutput(min: number, max: number, integral: boolean, bitsAllocated: number): { array: (n: number) => VoxelArray } {
  const fits = (lo: number, hi: number): boolean => min >= lo && max <= hi;
  if (!integral) return { array: (n) => new Float32Array(n) };
  if (bitsAllocated === 8 && fits(0, 255)) return { array: (n) => new Uint8Array(n) };
  if (bitsAllocated === 8 && fits(-128, 127)) return { array: (n) => new Int8Array(n) };
  // Int16 first (dcm2niix writes 12-bit unsigned MR as int16), then Uint16, then Int32.
  if (fits(-32768, 32767)) return { array: (n) => new Int16Array(n) };
  if (fits(0, 65535)) return { array: (n) => new Uint16Array(n) };
  if (fits(-(2 ** 31), 2 ** 31 - 1)) return { array: (n) => new Int32Array(n) };
  return { array: (n) => new Float32Array(n) };
}

function diskDtypeOf(h: DicomFileHeader): DType {
  const signed = h.pixelRepresentation === 1;
  if (h.bitsAllocated === 8) return signed ? 'int8' : 'uint8';
  if (h.bitsAllocated === 16) return signed ? 'int16' : 'uint16';
  return signed ? 'int32' : 'uint32';
}

/** Sort, validate and measure the geometry; returns slices in output k order and the affine. */
function buildGeometry(parsed: ParsedDicomFile[], spacingTolerance: number): { slices: Slice[]; affine: Mat4; spacing: [number, number, number]; sliceSpacing: number } {
  const first = parsed[0].header;

  const bySeries = new Map<string, string[]>();
  for (const { header } of parsed) {
    const list = bySeries.get(header.seriesUid) ?? [];
    list.push(header.file);
    bySeries.set(header.seriesUid, list);
  }
  if (bySeries.size > 1) {
    const groups = [...bySeries.entries()].sort((a, b) => b[1].length - a[1].length);
    const parts = groups.map(([uid, files]) => `${files.length} file(s) of series ${uid || '(no SeriesInstanceUID)'} (${names(files)})`);
    throw mixed(
      `These files come from ${groups.length} different series: ${parts.join('; ')}. Import one series at a time.`,
      'different SeriesInstanceUID',
      groups.slice(1).flatMap(([, files]) => files),
      { series: groups.map(([uid, files]) => ({ seriesUid: uid, files })) },
    );
  }

  const iop = first.imageOrientation!;
  for (const { header: h } of parsed) {
    if (h.rows !== first.rows || h.columns !== first.columns) {
      throw mixed(
        `${basename(h.file)} is ${h.columns} x ${h.rows} pixels but ${basename(first.file)} is ${first.columns} x ${first.rows}: the files are not one volume.`,
        'different Rows/Columns',
        [first.file, h.file],
      );
    }
    const o = h.imageOrientation!;
    if (o.some((v, t) => Math.abs(v - iop[t]) > ORIENTATION_TOLERANCE)) {
      throw mixed(
        `${basename(h.file)} has orientation [${o.join(', ')}] but ${basename(first.file)} has [${iop.join(', ')}]: slices of different orientation (e.g. a localizer) cannot be stacked.`,
        'different ImageOrientationPatient',
        [first.file, h.file],
      );
    }
    const ps = h.pixelSpacing!;
    if (Math.abs(ps[0] - first.pixelSpacing![0]) > 1e-4 || Math.abs(ps[1] - first.pixelSpacing![1]) > 1e-4) {
      throw mixed(
        `${basename(h.file)} has pixel spacing ${ps.join(' x ')} mm but ${basename(first.file)} has ${first.pixelSpacing!.join(' x ')} mm.`,
        'different PixelSpacing',
        [first.file, h.file],
      );
    }
    if (h.bitsAllocated !== first.bitsAllocated || h.photometric !== first.photometric) {
      throw mixed(
        `${basename(h.file)} stores pixels differently (${h.bitsAllocated} bits, ${h.photometric}) from ${basename(first.file)} (${first.bitsAllocated} bits, ${first.photometric}).`,
        'different pixel format',
        [first.file, h.file],
      );
    }
  }

  const rowDir = unit([iop[0], iop[1], iop[2]]);
  const colDir = unit([iop[3], iop[4], iop[5]]);
  const normal = unit(cross(rowDir, colDir));

  const slices: Slice[] = parsed.map(({ header, pixelData }) => ({
    header,
    pixels: pixelData!,
    position: dot(header.imagePosition!, normal),
  }));
  // Tie-break on file name only to make the error below deterministic; equal positions are rejected.
  slices.sort((a, b) => a.position - b.position || (a.header.file < b.header.file ? -1 : 1));

  for (let s = 1; s < slices.length; s++) {
    if (slices[s].position - slices[s - 1].position < DUPLICATE_POSITION_MM) {
      const a = slices[s - 1].header;
      const b = slices[s].header;
      throw mixed(
        `${basename(a.file)} and ${basename(b.file)} are at the same slice position (${slices[s].position.toFixed(3)} mm along the slice normal). ` +
          'The folder holds a duplicated slice or several volumes (echoes, time points) in one series; import them separately.',
        'duplicate slice position',
        [a.file, b.file],
      );
    }
  }

  let sliceSpacing: number;
  if (slices.length > 1) {
    sliceSpacing = (slices[slices.length - 1].position - slices[0].position) / (slices.length - 1);
    const tol = Math.max(1e-3, spacingTolerance * sliceSpacing);
    for (let s = 1; s < slices.length; s++) {
      const step = slices[s].position - slices[s - 1].position;
      if (Math.abs(step - sliceSpacing) > tol) {
        const a = slices[s - 1].header;
        const b = slices[s].header;
        throw mixed(
          `The slice spacing is not uniform: ${basename(a.file)} -> ${basename(b.file)} is ${step.toFixed(3)} mm while the mean is ${sliceSpacing.toFixed(3)} mm. ` +
            'A slice is missing or the files mix several acquisitions.',
          'non-uniform slice spacing',
          [a.file, b.file],
          { step, meanSpacing: sliceSpacing },
        );
      }
    }
    // Positions must move along the normal; a sideways drift is a gantry tilt we do not resample.
    const p0 = slices[0].header.imagePosition!;
    for (const s of slices) {
      const p = s.header.imagePosition!;
      const along = s.position - slices[0].position;
      const off: Vec3 = [p[0] - p0[0] - along * normal[0], p[1] - p0[1] - along * normal[1], p[2] - p0[2] - along * normal[2]];
      if (norm(off) > TILT_TOLERANCE_MM * Math.max(1, Math.abs(along) / 10)) {
        throw new SegloopError(
          'DICOM_UNSUPPORTED',
          `${basename(s.header.file)} is offset ${norm(off).toFixed(2)} mm sideways from the slice stack (gantry tilt or sheared series), which Segloop does not resample. Convert with dcm2niix (it corrects tilt) and import the NIfTI.`,
          { file: s.header.file, offsetMm: norm(off) },
        );
      }
    }
  } else {
    sliceSpacing = first.spacingBetweenSlices ?? first.sliceThickness ?? 1;
  }

  const [dy, dx] = first.pixelSpacing!; // DICOM: [between rows, between columns]
  const origin = slices[0].header.imagePosition!;
  // LPS columns: i along rowDir, j along -colDir (rows reversed), k along +normal.
  const ci: Vec3 = [rowDir[0] * dx, rowDir[1] * dx, rowDir[2] * dx];
  const cj: Vec3 = [-colDir[0] * dy, -colDir[1] * dy, -colDir[2] * dy];
  const ck: Vec3 = [normal[0] * sliceSpacing, normal[1] * sliceSpacing, normal[2] * sliceSpacing];
  const last = first.rows - 1;
  const t: Vec3 = [origin[0] + colDir[0] * dy * last, origin[1] + colDir[1] * dy * last, origin[2] + colDir[2] * dy * last];
  const ras = (row: number, sign: number): [number, number, number, number] => [
    sign * ci[row] + 0,
    sign * cj[row] + 0,
    sign * ck[row] + 0,
    sign * t[row] + 0,
  ];
  // "+ 0" turns -0 into 0 so affines compare cleanly.
  const affine: Mat4 = [ras(0, -1), ras(1, -1), ras(2, 1), [0, 0, 0, 1]];
  return { slices, affine, spacing: [dx, dy, sliceSpacing], sliceSpacing };
}

/**
 * Read one single-frame DICOM series into a volume in dcm2niix's voxel order (see the top of
 * this file). Throws DICOM_INVALID, DICOM_UNSUPPORTED or DICOM_MIXED_SERIES naming the file(s).
 */
export async function readDicomSeries(files: string[], options: ReadDicomSeriesOptions = {}): Promise<DicomVolume> {
  if (files.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'No DICOM files were given to read.');
  const parsed: ParsedDicomFile[] = [];
  for (const file of files) {
    const p = await parseDicomFile(file);
    checkFile(p.header, p.pixelData);
    parsed.push(p);
  }
  const { slices, affine, spacing, sliceSpacing } = buildGeometry(parsed, options.spacingTolerance ?? 0.01);
  const first = slices[0].header;
  const X = first.columns;
  const Y = first.rows;
  const Z = slices.length;
  const plane = X * Y;

  // Pass 1: value range after rescale, to pick the narrowest exact output type.
  const tmp = new Float64Array(plane);
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  let rescaled = false;
  for (const s of slices) {
    const { rescaleSlope: m, rescaleIntercept: b } = s.header;
    if (m !== 1 || b !== 0) rescaled = true;
    if (!Number.isInteger(m) || !Number.isInteger(b)) integral = false;
    storedValues(s.header, s.pixels, tmp);
    for (let p = 0; p < plane; p++) {
      const v = tmp[p] * m + b;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const data = chooseOutput(min, max, integral, first.bitsAllocated).array(plane * Z);

  // Pass 2: fill. Output row j comes from stored row Y-1-j.
  for (let k = 0; k < Z; k++) {
    const s = slices[k];
    const { rescaleSlope: m, rescaleIntercept: b } = s.header;
    storedValues(s.header, s.pixels, tmp);
    const base = k * plane;
    for (let j = 0; j < Y; j++) {
      const srcRow = (Y - 1 - j) * X;
      const dstRow = base + j * X;
      for (let i = 0; i < X; i++) data[dstRow + i] = tmp[srcRow + i] * m + b;
    }
  }

  return {
    shape: [X, Y, Z],
    channels: 1,
    data,
    spacing,
    affine,
    diskDtype: diskDtypeOf(first),
    seriesUid: first.seriesUid,
    studyUid: first.studyUid,
    patientId: first.patientId,
    patientName: first.patientName,
    modality: first.modality,
    description: first.seriesDescription,
    seriesNumber: first.seriesNumber,
    sliceSpacing,
    sliceThickness: first.sliceThickness,
    photometric: first.photometric,
    inverted: first.photometric === 'MONOCHROME1',
    rescaled,
    transferSyntaxUid: first.transferSyntaxUid,
    windowCenter: first.windowCenter,
    windowWidth: first.windowWidth,
    files: slices.map((s) => s.header.file),
  };
}
