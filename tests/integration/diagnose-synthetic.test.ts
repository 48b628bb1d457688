// runDiagnostics / diagnoseFolder on small hand-made data where every flag has a known answer:
// two sites with different intensity shapes, pseudo-labels, labels outside the schema, empty,
// mis-sized, float/negative label files, an anisotropic and a differently oriented image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { segloop } from './helpers/cli';
import { encodeNifti } from '../../main/core/imaging/nifti';
import type { Mat4, VoxelArray } from '../../main/core/imaging/volume';
import { ProjectStore } from '../../main/core/project';
import { diagnoseFolder, runDiagnostics, formatDiagnostics, type DiagnosticsReport } from '../../main/core/diagnostics';
import { mulberry32 } from '../../main/core/evaluation';

const N = 8;
const RAS: Mat4 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const LPS: Mat4 = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const ANISO: Mat4 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]];
const rng = mulberry32(11);
let tmp: string;

const nii = (data: VoxelArray, affine: Mat4 = RAS, shape: [number, number, number] = [N, N, N]): Uint8Array => gzipSync(encodeNifti({ data, shape, affine }));
function image(site: 'A' | 'B'): Float32Array {
  // A: uniform 0..100; B: strongly skewed (most voxels dark), so normalised histograms differ.
  return Float32Array.from({ length: N ** 3 }, () => (site === 'A' ? rng() * 100 : 100 * rng() ** 6));
}
function blob(value = 1, extra?: number): Uint8Array {
  const d = new Uint8Array(N ** 3);
  for (let k = 2; k < 5; k++) for (let j = 2; j < 5; j++) for (let i = 2; i < 5; i++) d[i + N * (j + N * k)] = value;
  if (extra !== undefined) d[7 + N * (7 + N * 7)] = extra; // an isolated voxel: a tiny component
  return d;
}

let report: DiagnosticsReport;
let dir: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-diag-syn-'));
  dir = path.join(tmp, 'proj');
  const store = await ProjectStore.create(dir, { name: 'syn' });
  store.labelSchema.set([{ idx: 0, name: 'background', colour: '#000000' }, { idx: 1, name: 'organ', colour: '#ff0000' }]);
  const add = async (pid: string, site: 'A' | 'B', affine: Mat4 = RAS): Promise<number> =>
    (await store.addImageFile({ bytes: nii(image(site), affine), patientExternalId: pid, site, shape: [N, N, N], spacing: affine === ANISO ? [1, 1, 5] : [1, 1, 1], affine, dtype: 'float32', modality: 'MR', sourceName: `${pid}-${site}-${rng().toFixed(6)}.nii.gz` })).row.id;
  const label = (imageId: number, bytes: Uint8Array, source: 'imported' | 'pseudo' = 'imported') => store.addLabelVersionFile({ imageId, source, author: 'test', bytes });
  // Site A: 4 patients, 2 images each, labelled; one has a tiny extra component.
  for (let p = 0; p < 4; p++) {
    for (let k = 0; k < 2; k++) await label(await add(`A${p}`, 'A'), nii(blob(1, p === 0 && k === 0 ? 1 : undefined)));
  }
  // Site B: one labelled normally, one label with value 5 (outside the schema), one empty, one pseudo, one unlabelled.
  await label(await add('B0', 'B'), nii(blob(1)));
  await label(await add('B1', 'B'), nii(blob(5)));
  await label(await add('B2', 'B'), nii(new Uint8Array(N ** 3)));
  await label(await add('B3', 'B'), nii(blob(1)), 'pseudo');
  await add('B4', 'B');
  // Geometry oddities (site A): an anisotropic image, an LPS image, a label on another grid.
  await add('G0', 'A', ANISO);
  await add('G1', 'A', LPS);
  await label(await add('G2', 'A'), nii(new Uint8Array(4 * 4 * 4), RAS, [4, 4, 4]));
  report = await runDiagnostics(store);
  store.close();
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('runDiagnostics on a hand-made project', () => {
  it('counts subjects and images by label state, latest source, site and split', () => {
    const c = report.composition;
    expect(c?.total).toEqual({ patients: 12, images: 16 });
    expect(c?.byLabelState.labelled).toEqual({ patients: 8, images: 12 });
    expect(c?.byLabelState.pseudo).toEqual({ patients: 1, images: 1 });
    expect(c?.byLabelState.unlabelled).toEqual({ patients: 3, images: 3 });
    expect(c?.bySource).toMatchObject({ imported: { patients: 8, images: 12 }, pseudo: { patients: 1, images: 1 }, none: { patients: 3, images: 3 } });
    expect(c?.bySite.map((s) => [s.name, s.patients, s.images, s.labelledPatients])).toEqual([['A', 7, 11, 5], ['B', 5, 5, 3]]);
    expect(report.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['FEW_LABELLED_SUBJECTS', 'PSEUDO_LABELS', 'MULTI_IMAGE_PATIENTS']));
  });

  it('flags the anisotropic, the LPS image and the spacing outlier', () => {
    const g = report.geometry;
    expect(g.anisotropic.map((a) => [a.name.split('-')[0], a.ratio])).toEqual([['G0', 5]]);
    expect(g.orientation.majority).toBe('RAS');
    expect(g.orientation.outliers.map((o) => [o.name.split('-')[0], o.axcodes])).toEqual([['G1', 'LPS']]);
    expect(g.spacing.outliers.map((o) => o.name.split('-')[0])).toEqual(['G0']);
    expect(report.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['ANISOTROPIC', 'ORIENTATION_MINORITY', 'SPACING_OUTLIERS']));
  });

  it('scores the intensity shift between the sites (JSD and W1 well above zero, symmetric measures)', () => {
    const bySite = report.intensity?.grouped.find((g) => g.by === 'site');
    const s = bySite?.shift[0];
    expect([s?.a, s?.b]).toEqual(['A', 'B']);
    expect(s?.jensenShannon).toBeGreaterThan(0.1);
    expect(s?.jensenShannon).toBeLessThanOrEqual(1);
    expect(s?.wasserstein1).toBeGreaterThan(0.2);
    expect(report.findings.find((f) => f.code === 'DOMAIN_SHIFT')?.message).toContain('site A and B');
  });

  it('label QA: outside the schema, empty, grid mismatch, tiny component, class frequency', () => {
    const l = report.labels;
    expect(l?.checked).toBe(13); // every latest version, the pseudo one included
    expect(l?.outOfSchema.map((o) => [o.name.split('-')[0], o.values])).toEqual([['B1', [{ value: 5, voxels: 27 }]]]);
    expect(l?.empty.map((n) => n.split('-')[0]).sort()).toEqual(['B2', 'G2']);
    expect(l?.geometryMismatch.map((m) => [m.name.split('-')[0], m.reason])).toEqual([['G2', "shape 4x4x4 differs from the image's 8x8x8"]]);
    expect(l?.tinyComponents.perClass).toEqual([{ index: 1, images: 1, components: 1, voxels: 1 }]);
    // Class 1: 8 site-A labels x 27 + 1 isolated voxel + B0 27 + B3 (pseudo, still the latest version) 27.
    expect(l?.classFrequency.find((f) => f.index === 1)).toMatchObject({ voxels: 8 * 27 + 1 + 27 + 27, images: 10 });
    expect(l?.classFrequency.find((f) => f.index === 5)).toMatchObject({ voxels: 27, images: 1, name: null });
    expect(report.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['LABEL_OUT_OF_SCHEMA', 'LABEL_EMPTY', 'LABEL_GEOMETRY_MISMATCH', 'TINY_COMPONENTS']));
    const text = formatDiagnostics(report);
    expect(text).toContain('pseudo-labelled');
    expect(text).toMatch(/by site\/domain\n.*\n\s+A\s+7\s+11/);
  });

  it('segloop diagnose prints the same report as text', () => {
    const r = segloop(['diagnose', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[LABEL_OUT_OF_SCHEMA]');
    expect(r.stdout).toContain('[DOMAIN_SHIFT]');
  });
});

describe('diagnoseFolder on label files before import', () => {
  it('reports float, non-integer, negative, mis-sized and mis-placed label files, and unmatched names', async () => {
    const im = path.join(tmp, 'f-images');
    const lb = path.join(tmp, 'f-labels');
    mkdirSync(im);
    mkdirSync(lb);
    for (const n of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']) writeFileSync(path.join(im, `${n}.nii.gz`), nii(image('A')));
    writeFileSync(path.join(lb, 'c1_seg.nii.gz'), nii(Float32Array.from(blob(2))));
    const half = Float32Array.from(blob(1));
    half[0] = 0.5;
    writeFileSync(path.join(lb, 'c2.nii.gz'), nii(half));
    const neg = Int16Array.from(blob(1));
    neg[1] = -1;
    writeFileSync(path.join(lb, 'c3.nii.gz'), nii(neg));
    writeFileSync(path.join(lb, 'c4.nii.gz'), nii(new Uint8Array(4 * 4 * 4), RAS, [4, 4, 4]));
    writeFileSync(path.join(lb, 'c5.nii.gz'), nii(blob(1), [[1, 0, 0, 3], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]));
    writeFileSync(path.join(lb, 'orphan.nii.gz'), nii(blob(1)));
    const r = await diagnoseFolder(im, lb, { schema: [0, 1, 2] });
    const l = r.labels;
    expect(l?.floatFiles.map((f) => [f.name, f.dtype, f.values])).toEqual([['c1_seg.nii.gz', 'float32', [0, 2]], ['c2.nii.gz', 'float32', [0, 0.5, 1]]]);
    expect(l?.nonIntegerFiles).toEqual([{ name: 'c2.nii.gz', dtype: 'float32', nonIntegerVoxels: 1, values: [0, 0.5, 1] }]);
    expect(l?.negativeValues).toEqual([{ name: 'c3.nii.gz', voxels: 1 }]);
    expect(l?.outOfSchema.map((o) => o.name)).toEqual(['c2.nii.gz', 'c3.nii.gz']);
    expect(l?.geometryMismatch).toEqual([
      { name: 'c4.nii.gz', reason: "shape 4x4x4 differs from the image's 8x8x8" },
      { name: 'c5.nii.gz', reason: "affine differs from the image's by up to 3 mm" },
    ]);
    expect(r.unmatchedLabels).toEqual(['orphan.nii.gz']);
    expect(r.imagesWithoutLabel).toEqual(['c6.nii.gz']);
    expect(r.composition).toBeNull();
    expect(r.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['LABEL_FLOAT_DTYPE', 'LABEL_NOT_INTEGER', 'LABEL_NEGATIVE', 'LABEL_GEOMETRY_MISMATCH']));
  });
});
