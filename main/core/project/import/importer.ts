// `segloop import`: a folder of images (NIfTI files and/or DICOM series) with an optional folder of
// labels matched by name. Idempotent by sha256; a bad file is reported and skipped while the rest
// import; every file gets a line in the report.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { SegloopError, toErrorData, type ErrorCode } from '../../../../shared/errors';
import { readNifti, encodeNifti, assertSameGeometry, assertUsableGeometry, type NiftiImage } from '../../imaging/nifti';
import { scanDicomFolderWithReport, readDicomSeries } from '../../imaging/dicom';
import { decodePaletteMask } from '../../imaging/palette';
import type { ProjectStore } from '../project-store';
import type { ImageRow, Split } from '../types';
import { checkLabelVoxels } from './label-check';
import { inferLabelSchema, readLabelSchemaFile, type LabelClass } from './label-schema-file';
import { isNiftiFile, matchLabels, patientIdFromName, stemOf } from './naming';

export interface ImportOptions {
  /** A folder of images (NIfTI files, DICOM series in any sub-folders) or a single NIfTI file. */
  images: string;
  /** A folder (or single file) of label volumes named like their images. */
  labels?: string;
  split?: Split;
  /** Regular expression applied to the image file stem; its first group is the patient id. */
  patientPattern?: string;
  /** JSON label schema file; without it the schema is inferred from the label values. */
  schemaFile?: string;
  site?: string;
  modality?: string;
  author?: string;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  done: number;
  total: number;
  file: string;
}

export type ImportStatus = 'imported' | 'unchanged' | 'failed' | 'skipped';

export interface ImportFileResult {
  file: string;
  kind: 'image' | 'label' | 'dicom-series';
  status: ImportStatus;
  patientId?: string;
  imageId?: number;
  labelVersionId?: number;
  code?: ErrorCode;
  message?: string;
  /** Something the user should know although the file imported (e.g. off-palette pixels of an RGB mask). */
  note?: string;
}

export interface ImportReport {
  files: ImportFileResult[];
  counts: Record<ImportStatus, number>;
  imagesAdded: number;
  labelVersionsAdded: number;
  schema: LabelClass[];
}

interface ImageTask {
  kind: 'nifti' | 'dicom';
  /** Display name / report key. */
  file: string;
  read: () => Promise<{ volume: NiftiImage | Awaited<ReturnType<typeof readDicomSeries>>; bytes?: Uint8Array; patientId: string; modality: string | null; sourceName: string }>;
  label?: string;
}

export async function importStudy(store: ProjectStore, opts: ImportOptions): Promise<ImportReport> {
  const results: ImportFileResult[] = [];
  const images = await listFiles(opts.images, 'images');
  const niftiImages = images.filter(isNiftiFile);
  const labels = opts.labels ? (await listFiles(opts.labels, 'labels')).filter(isNiftiFile) : [];
  const { byImage, unmatchedLabels, ambiguous } = matchLabels(niftiImages, labels);

  let schema = store.labelSchema.list().map((c) => ({ index: c.idx, name: c.name, colour: c.colour }));
  if (opts.schemaFile) {
    const fromFile = readLabelSchemaFile(opts.schemaFile);
    if (schema.length && !sameSchema(schema, fromFile)) {
      throw new SegloopError('VALIDATION_FAILED', `The project already has a label schema (${describe(schema)}) that differs from ${opts.schemaFile} (${describe(fromFile)}).`);
    }
    schema = fromFile;
  }
  const allowed = schema.length ? new Set(schema.map((c) => c.index)) : undefined;
  const seenValues = new Set<number>();

  const tasks: ImageTask[] = niftiImages.map((file) => ({
    kind: 'nifti',
    file,
    label: byImage.get(file),
    read: async () => {
      const volume = await readNifti(file);
      return {
        volume,
        bytes: await fs.readFile(volume.filePath),
        patientId: patientIdFromName(stemOf(file), opts.patientPattern),
        modality: opts.modality ?? null,
        sourceName: path.basename(file),
      };
    },
  }));

  // Anything that is not NIfTI may be DICOM: group it into series.
  const others = images.filter((f) => !isNiftiFile(f) && !/\.(img|img\.gz|json|txt|md)$/i.test(f));
  if (others.length) {
    const root = (await fs.stat(opts.images)).isDirectory() ? opts.images : path.dirname(opts.images);
    const { series, skipped } = await scanDicomFolderWithReport(root);
    for (const s of skipped) {
      if (isNiftiFile(s.file)) continue;
      results.push({ file: s.file, kind: 'image', status: 'skipped', code: s.code, message: s.reason });
    }
    for (const s of series) {
      const name = `${s.description || 'series'}_${s.seriesNumber ?? s.seriesUid.slice(-8)}`.replace(/[^A-Za-z0-9._-]+/g, '_');
      tasks.push({
        kind: 'dicom',
        file: path.join(root, `${name} (${s.numberOfFiles} DICOM files)`),
        read: async () => {
          const volume = await readDicomSeries(s.files);
          return {
            volume,
            patientId: opts.patientPattern ? patientIdFromName(volume.patientId || name, opts.patientPattern) : volume.patientId || name,
            modality: volume.modality || opts.modality || null,
            sourceName: `${name}.nii.gz`,
          };
        },
      });
    }
  }

  for (const file of ambiguous) {
    results.push({ file, kind: 'label', status: 'skipped', code: 'INVALID_ARGUMENT', message: `more than one label file matches image ${path.basename(file)}; rename one` });
  }
  for (const file of unmatchedLabels) {
    results.push({ file, kind: 'label', status: 'skipped', code: 'IMAGE_NOT_FOUND', message: `no image named like ${path.basename(file)}` });
  }

  let imagesAdded = 0;
  let labelVersionsAdded = 0;
  const total = tasks.length;
  for (let t = 0; t < tasks.length; t++) {
    const task = tasks[t];
    opts.onProgress?.({ done: t, total, file: task.file });
    let image: ImageRow;
    let volume: NiftiImage | Awaited<ReturnType<typeof readDicomSeries>>;
    let patientId: string;
    try {
      const r = await task.read();
      volume = r.volume;
      patientId = r.patientId;
      if ('nanCount' in volume && volume.nanCount > 0) {
        throw new SegloopError('IMAGE_HAS_NAN', `${task.file}: ${volume.nanCount} voxels are NaN; fix or mask them before importing`, { file: task.file });
      }
      assertUsableGeometry(volume, task.file);
      if (volume.channels !== 1) {
        throw new SegloopError('NIFTI_UNSUPPORTED', `${task.file}: colour (${volume.channels}-channel) images are not supported for segmentation; convert to greyscale first`);
      }
      const bytes = r.bytes ?? gzipSync(encodeNifti(volume, { dtype: volume.diskDtype }));
      const added = await store.addImageFile(
        {
          bytes,
          sourceName: r.sourceName,
          patientExternalId: patientId,
          shape: [...volume.shape],
          spacing: [...volume.spacing],
          affine: volume.affine.map((row) => [...row]),
          dtype: volume.diskDtype,
          modality: r.modality,
          site: opts.site ?? null,
          split: opts.split ?? null,
        },
        { actor: opts.author },
      );
      image = added.row;
      if (added.created) imagesAdded++;
      results.push({ file: task.file, kind: task.kind === 'dicom' ? 'dicom-series' : 'image', status: added.created ? 'imported' : 'unchanged', patientId, imageId: image.id });
    } catch (err) {
      const e = toErrorData(err);
      results.push({ file: task.file, kind: task.kind === 'dicom' ? 'dicom-series' : 'image', status: 'failed', code: e.code, message: e.message });
      if (e.code === 'DISK_FULL') throw err;
      if (task.label) results.push({ file: task.label, kind: 'label', status: 'skipped', code: e.code, message: `its image failed: ${e.message}` });
      continue;
    }

    if (!task.label) continue;
    try {
      const label = await readNifti(task.label);
      assertSameGeometry(volume, label, { image: task.file, label: task.label });
      let note: string | undefined;
      let labelData = label.data;
      if (label.channels > 1) {
        // RGB/RGBA masks (exported from drawing tools): each pixel takes the nearest schema colour.
        if (!schema.length) {
          throw new SegloopError('LABEL_OUT_OF_SCHEMA', `${task.label} is an RGB mask: give a label schema with colours (--schema) so colours can be mapped to labels`);
        }
        const decoded = decodePaletteMask({ data: label.data, channels: label.channels as 3 | 4 }, schema.map((c) => ({ index: c.index, colour: c.colour })));
        labelData = decoded.labels;
        if (decoded.offPalettePixels > 0) {
          note = `RGB mask decoded by nearest schema colour: ${decoded.offPalettePixels} pixel(s) were not exactly a schema colour (largest colour distance ${Math.round(decoded.maxDistance)})`;
        }
      }
      const check = checkLabelVoxels(labelData, task.label, allowed);
      check.values.forEach((v) => seenValues.add(v));
      const bytes = gzipSync(encodeNifti({ data: check.voxels, shape: volume.shape, affine: volume.affine }, { dtype: 'uint8', description: 'segloop label' }));
      const added = await store.addLabelVersionFile(
        {
          imageId: image.id,
          bytes,
          source: 'imported',
          author: opts.author ?? 'import',
          parentId: store.labelVersions.latestForImage(image.id)?.id ?? null,
          voxelsChanged: check.voxels.length - (check.counts[0] ?? 0),
          secondsSpent: null,
          labelledClasses: null,
          reuseIdentical: true,
        },
        { actor: opts.author },
      );
      if (added.created) labelVersionsAdded++;
      results.push({ file: task.label, kind: 'label', status: added.created ? 'imported' : 'unchanged', patientId, imageId: image.id, labelVersionId: added.row.id, ...(note ? { note } : {}) });
    } catch (err) {
      const e = toErrorData(err);
      results.push({ file: task.label, kind: 'label', status: 'failed', code: e.code, message: e.message, imageId: image.id });
      if (e.code === 'DISK_FULL') throw err;
    }
  }
  opts.onProgress?.({ done: total, total, file: '' });

  // Settle the schema: from the file, or inferred (extended with values seen for the first time).
  if (!store.labelSchema.list().length || opts.schemaFile) {
    const finalSchema = schema.length ? schema : inferLabelSchema(seenValues);
    if (finalSchema.length > 1 && !sameSchema(store.labelSchema.list().map((c) => ({ index: c.idx, name: c.name, colour: c.colour })), finalSchema)) {
      store.labelSchema.set(finalSchema.map((c) => ({ idx: c.index, name: c.name, colour: c.colour })), { actor: opts.author });
    }
  }

  const counts: Record<ImportStatus, number> = { imported: 0, unchanged: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.status]++;
  return {
    files: results,
    counts,
    imagesAdded,
    labelVersionsAdded,
    schema: store.labelSchema.list().map((c) => ({ index: c.idx, name: c.name, colour: c.colour })),
  };
}

async function listFiles(p: string, what: string): Promise<string[]> {
  let st;
  try {
    st = await fs.stat(p);
  } catch {
    throw new SegloopError('FILE_NOT_FOUND', `The ${what} path ${p} does not exist`);
  }
  if (st.isFile()) return [p];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await walk(p);
  return out;
}

function sameSchema(a: readonly LabelClass[], b: readonly LabelClass[]): boolean {
  return a.length === b.length && a.every((c, i) => c.index === b[i].index && c.name === b[i].name && c.colour.toLowerCase() === b[i].colour.toLowerCase());
}

function describe(s: readonly LabelClass[]): string {
  return s.map((c) => `${c.index}=${c.name}`).join(', ');
}
