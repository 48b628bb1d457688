// Walking a folder of DICOM files and grouping them into series (headers only, no pixels).
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SegloopError, type ErrorCode } from '../../../shared/errors';
import { parseDicomFile } from './dicom-header';

export interface DicomSeriesInfo {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  /** PHI: show it to the user, keep it out of logs. */
  patientName?: string;
  modality: string;
  description: string;
  seriesNumber: number | null;
  numberOfFiles: number;
  rows: number;
  columns: number;
  transferSyntaxUid: string;
  /** Absolute paths, ordered by InstanceNumber then path (the reader sorts by position itself). */
  files: string[];
}

export interface SkippedFile {
  file: string;
  code: ErrorCode;
  reason: string;
}

export interface DicomScanResult {
  series: DicomSeriesInfo[];
  /** Files that are not DICOM images (other files, DICOMDIR, reports...), with the reason. */
  skipped: SkippedFile[];
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SegloopError('FILE_NOT_FOUND', `Folder not found: ${dir}`, { dir });
    }
    throw err;
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Scan recursively and return the series found plus the files skipped and why. */
export async function scanDicomFolderWithReport(dir: string): Promise<DicomScanResult> {
  const files = await listFiles(dir);
  const skipped: SkippedFile[] = [];
  const groups = new Map<string, { info: DicomSeriesInfo; instances: Map<string, number | null> }>();
  for (const file of files) {
    let header;
    try {
      ({ header } = await parseDicomFile(file, { headerOnly: true }));
    } catch (err) {
      if (err instanceof SegloopError) {
        skipped.push({ file, code: err.code, reason: err.message });
        continue;
      }
      throw err;
    }
    if (!header.hasPixelData) {
      skipped.push({ file: file, code: 'DICOM_UNSUPPORTED', reason: `${relative(dir, file)} holds no image (SOP class ${header.sopClassUid || 'unknown'}).` });
      continue;
    }
    if (!header.seriesUid) {
      skipped.push({ file, code: 'DICOM_INVALID', reason: `${relative(dir, file)} has no SeriesInstanceUID.` });
      continue;
    }
    let g = groups.get(header.seriesUid);
    if (!g) {
      g = {
        info: {
          seriesUid: header.seriesUid,
          studyUid: header.studyUid,
          patientId: header.patientId,
          patientName: header.patientName || undefined,
          modality: header.modality,
          description: header.seriesDescription,
          seriesNumber: header.seriesNumber,
          numberOfFiles: 0,
          rows: header.rows,
          columns: header.columns,
          transferSyntaxUid: header.transferSyntaxUid,
          files: [],
        },
        instances: new Map(),
      };
      groups.set(header.seriesUid, g);
    }
    g.info.files.push(file);
    g.info.numberOfFiles += 1;
    g.instances.set(file, header.instanceNumber);
  }
  const series = [...groups.values()].map(({ info, instances }) => {
    info.files.sort((a, b) => {
      const ia = instances.get(a) ?? Infinity;
      const ib = instances.get(b) ?? Infinity;
      return ia - ib || (a < b ? -1 : a > b ? 1 : 0);
    });
    return info;
  });
  series.sort((a, b) => (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) || (a.seriesUid < b.seriesUid ? -1 : 1));
  return { series, skipped };
}

/**
 * Scan a folder recursively for DICOM images grouped by SeriesInstanceUID. Files that are not
 * DICOM images are skipped and reported through `onSkipped` (use scanDicomFolderWithReport to
 * get them as a list).
 */
export async function scanDicomFolder(dir: string, options: { onSkipped?: (s: SkippedFile) => void } = {}): Promise<DicomSeriesInfo[]> {
  const { series, skipped } = await scanDicomFolderWithReport(dir);
  if (options.onSkipped) for (const s of skipped) options.onSkipped(s);
  return series;
}
