// runDiagnostics (a project) and diagnoseFolder (image/label files before import): read every
// image and label once, then build the report (report.ts) from the per-image facts.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { readNifti, type NiftiImage } from '../imaging/nifti';
import type { ProjectStore } from '../project';
import { intensityStats } from './histogram';
import { labelQa, type LabelGeometry } from './label-qa';
import {
  composition,
  DEFAULT_OPTIONS,
  findings,
  geometrySection,
  intensitySection,
  labelSection,
  type DiagnosticsOptions,
  type DiagnosticsReport,
  type ImageFacts,
} from './report';

export interface DiagnosticsProgress {
  done: number;
  total: number;
  name: string;
}

export interface RunDiagnosticsOptions extends DiagnosticsOptions {
  onProgress?: (p: DiagnosticsProgress) => void;
}

function resolveOptions(opts: DiagnosticsOptions): Required<DiagnosticsOptions> {
  const o = { ...DEFAULT_OPTIONS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<DiagnosticsOptions> & { onProgress?: unknown };
  delete o.onProgress;
  const positive = (k: keyof DiagnosticsOptions, v: number): void => {
    if (!(Number.isFinite(v) && v > 0)) throw new SegloopError('INVALID_ARGUMENT', `Diagnostics option ${k} must be a positive number, got ${v}.`, { [k]: v });
  };
  positive('bins', o.bins);
  positive('outlierK', o.outlierK);
  positive('anisotropyMax', o.anisotropyMax);
  positive('tinyComponentVoxels', o.tinyComponentVoxels);
  positive('rangeSpreadRatio', o.rangeSpreadRatio);
  if (!Number.isInteger(o.bins)) throw new SegloopError('INVALID_ARGUMENT', `Diagnostics option bins must be an integer, got ${o.bins}.`);
  return o;
}

function scalarOrFail(img: NiftiImage, what: string): void {
  if (img.channels !== 1) throw new SegloopError('NIFTI_UNSUPPORTED', `${img.filePath}: the ${what} has ${img.channels} channels per voxel (${img.diskDtype}); expected a scalar volume.`);
}

function finish(facts: ImageFacts[], schema: { index: number; name: string }[], o: Required<DiagnosticsOptions>, source: DiagnosticsReport['source'], unreadable: DiagnosticsReport['unreadable'], withComposition: boolean): DiagnosticsReport {
  const ok = facts.filter((f) => !f.error);
  const tally = (xs: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const x of xs) out[x] = (out[x] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
  };
  const body: Omit<DiagnosticsReport, 'findings'> = {
    source,
    options: o,
    composition: withComposition ? composition(facts) : null,
    dtypes: { images: tally(facts.map((f) => f.dtype)), labels: tally(ok.filter((f) => f.label).map((f) => f.label?.dtype ?? '')) },
    geometry: geometrySection(facts, o),
    intensity: intensitySection(ok, o),
    labels: labelSection(ok, schema, o),
    unreadable,
  };
  return { findings: findings(body), ...body };
}

/**
 * Diagnoses a project: composition (patients and images by label state, site, split), geometry,
 * on-disk dtypes, per-site and per-dtype intensity histograms with shift scores, and QA of the
 * LATEST label version of every image.
 */
export async function runDiagnostics(store: ProjectStore, opts: RunDiagnosticsOptions = {}): Promise<DiagnosticsReport> {
  const o = resolveOptions(opts);
  const schema = store.labelSchema.list().map((c) => ({ index: c.idx, name: c.name }));
  const images = store.images.list();
  const patients = new Map(store.patients.list().map((p) => [p.id, p]));
  const latest = new Map(store.labelVersions.latestPerImage().map((lv) => [lv.imageId, lv]));
  const facts: ImageFacts[] = [];
  const unreadable: DiagnosticsReport['unreadable'] = [];
  let done = 0;
  for (const img of images) {
    const lv = latest.get(img.id) ?? null;
    const name = img.sourceName ?? path.basename(img.path);
    const f: ImageFacts = {
      name,
      imageId: img.id,
      patient: patients.get(img.patientId)?.externalId ?? String(img.patientId),
      site: img.site ?? patients.get(img.patientId)?.site ?? null,
      split: img.split,
      dtype: img.dtype,
      shape: img.shape,
      spacing: img.spacing,
      affine: img.affine,
      intensity: null,
      labelState: lv === null ? 'unlabelled' : lv.source === 'pseudo' ? 'pseudo' : 'labelled',
      labelSource: lv?.source ?? null,
      labelName: lv ? `${name} (label v${lv.id}, ${lv.source})` : null,
      label: null,
    };
    if (!o.skipVoxels) {
      try {
        const vol = await readNifti(await store.resolve(img.path));
        scalarOrFail(vol, 'image');
        f.intensity = intensityStats(vol.data, o.bins);
      } catch (err) {
        f.error = (err as Error).message;
        unreadable.push({ name, reason: f.error });
      }
      if (lv && !f.error) {
        try {
          const lab = await readNifti(await store.resolve(lv.path));
          scalarOrFail(lab, 'label');
          f.label = labelQa(lab, { shape: img.shape, affine: img.affine }, { schema: schema.map((s) => s.index), tinyComponentVoxels: o.tinyComponentVoxels });
        } catch (err) {
          unreadable.push({ name: f.labelName ?? name, reason: (err as Error).message });
        }
      }
    }
    facts.push(f);
    opts.onProgress?.({ done: ++done, total: images.length, name });
  }
  return finish(facts, schema, o, { kind: 'project', dir: store.dir, name: store.name }, unreadable, true);
}

const NIFTI = /\.(nii|nii\.gz|hdr|hdr\.gz)$/i;
const stem = (f: string): string => path.basename(f).replace(NIFTI, '');
// The importer's matching rule: an nnU-Net channel suffix on images and a _seg/_label/_mask/_gt
// suffix on labels are ignored, case-insensitively.
const key = (f: string): string => stem(f).replace(/_0000$/, '').replace(/[_-](seg|segmentation|label|labels|mask|gt)$/i, '').toLowerCase();

async function listNifti(dir: string, what: string): Promise<string[]> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new SegloopError('FILE_NOT_FOUND', `The ${what} folder ${dir} does not exist.`, { dir });
  if (st.isFile()) return [dir];
  const names = (await fs.readdir(dir)).filter((n) => NIFTI.test(n) && !n.startsWith('.')).sort();
  if (names.length === 0) throw new SegloopError('FILE_NOT_FOUND', `The ${what} folder ${dir} holds no NIfTI files (.nii, .nii.gz, .hdr).`, { dir });
  return names.map((n) => path.join(dir, n));
}

export interface DiagnoseFolderOptions extends RunDiagnosticsOptions {
  /** Class indices allowed in the labels; default: any integer >= 0. */
  schema?: readonly number[];
}

/**
 * Diagnoses image/label FILES as they are on disk, before import (a project stores labels as uint8,
 * so float or non-integer label files are only visible here). Labels are matched to images by name
 * like `segloop import`; a label without an image is reported as unmatched.
 */
export async function diagnoseFolder(imagesDir: string, labelsDir: string | null, opts: DiagnoseFolderOptions = {}): Promise<DiagnosticsReport & { unmatchedLabels: string[]; imagesWithoutLabel: string[] }> {
  const o = resolveOptions(opts);
  const images = await listNifti(imagesDir, 'images');
  const labels = labelsDir ? await listNifti(labelsDir, 'labels') : [];
  const byKey = new Map<string, string>();
  for (const l of labels) byKey.set(key(l), l);
  const used = new Set<string>();
  const schemaIdx = opts.schema ? [...opts.schema] : [];
  const facts: ImageFacts[] = [];
  const unreadable: DiagnosticsReport['unreadable'] = [];
  let done = 0;
  for (const file of images) {
    const name = path.basename(file);
    const labelFile = byKey.get(key(file)) ?? null;
    if (labelFile) used.add(labelFile);
    let vol: NiftiImage;
    try {
      vol = await readNifti(file);
      scalarOrFail(vol, 'image');
    } catch (err) {
      unreadable.push({ name, reason: (err as Error).message });
      continue;
    }
    const f: ImageFacts = {
      name,
      imageId: null,
      patient: stem(file),
      site: null,
      split: null,
      dtype: vol.diskDtype,
      shape: [...vol.shape],
      spacing: [...vol.spacing],
      affine: vol.affine.map((r) => [...r]),
      intensity: o.skipVoxels ? null : intensityStats(vol.data, o.bins),
      labelState: labelFile ? 'labelled' : 'unlabelled',
      labelSource: labelFile ? 'file' : null,
      labelName: labelFile ? path.basename(labelFile) : null,
      label: null,
    };
    if (labelFile) {
      try {
        const lab = await readNifti(labelFile);
        scalarOrFail(lab, 'label');
        const geom: LabelGeometry = { shape: f.shape, affine: f.affine };
        f.label = labelQa(lab, geom, { schema: schemaIdx, tinyComponentVoxels: o.tinyComponentVoxels });
      } catch (err) {
        unreadable.push({ name: path.basename(labelFile), reason: (err as Error).message });
      }
    }
    facts.push(f);
    opts.onProgress?.({ done: ++done, total: images.length, name });
  }
  const schema = schemaIdx.map((index) => ({ index, name: String(index) }));
  const report = finish(facts, schema, o, { kind: 'folder', imagesDir, labelsDir }, unreadable, false);
  return {
    ...report,
    unmatchedLabels: labels.filter((l) => !used.has(l)).map((l) => path.basename(l)),
    imagesWithoutLabel: labelsDir ? facts.filter((f) => f.labelName === null).map((f) => f.name) : [],
  };
}
