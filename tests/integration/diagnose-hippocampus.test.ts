// segloop diagnose on the real hippocampus collection (../shared/data/hippocampus, 200 subjects):
// the quirks its README lists must show, and the numbers must equal nibabel/numpy/scipy's
// (tests/integration/ref/diagnose_ref.py) read from the same files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA, REPO, segloop } from './helpers/cli';
import type { DiagnosticsReport } from '../../main/core/diagnostics';

const HIPPO = path.join(DATA, 'hippocampus');
const IMAGES = path.join(HIPPO, 'images');
const LABELS = path.join(HIPPO, 'labels');

interface Ref {
  images: Record<string, { dtype: string; p: [number, number, number]; max: number }>;
  labels: Record<string, { dtype: string; counts: Record<string, number>; classes: Record<string, { components: number; tiny: number }> }>;
}

let tmp: string;
let proj: string;
let ref: Ref;
let report: DiagnosticsReport;
let text: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-diagnose-'));
  proj = path.join(tmp, 'hippo');
  expect(segloop(['init', proj]).status).toBe(0);
  const imp = segloop(['import', proj, '--images', IMAGES, '--labels', LABELS, '--split', 'pool', '--json']);
  expect(imp.status, imp.stderr).toBe(0);
  const r = segloop(['diagnose', proj, '--json']);
  expect(r.status, r.stderr).toBe(0);
  report = r.json as DiagnosticsReport;
  const t = segloop(['diagnose', proj]);
  expect(t.status, t.stderr).toBe(0);
  text = t.stdout;
  ref = JSON.parse(execFileSync('/usr/bin/python3', [path.join(REPO, 'tests/integration/ref/diagnose_ref.py'), IMAGES, LABELS, '10'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })) as Ref;
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('segloop diagnose <project> on the hippocampus collection', () => {
  it('counts subjects and images: 200 labelled patients, one image each, all in pool', () => {
    const c = report.composition;
    expect(c?.total).toEqual({ patients: 200, images: 200 });
    expect(c?.byLabelState.labelled).toEqual({ patients: 200, images: 200 });
    expect(c?.byLabelState.unlabelled).toEqual({ patients: 0, images: 0 });
    expect(c?.byLabelState.pseudo).toEqual({ patients: 0, images: 0 });
    expect(c?.bySplit).toEqual([{ name: 'pool', patients: 200, images: 200, labelledPatients: 200, labelledImages: 200 }]);
  });

  it('shows the mixed on-disk dtypes: 162 float32 + 38 uint8 (as nibabel reads them)', () => {
    const nib: Record<string, number> = {};
    for (const v of Object.values(ref.images)) nib[v.dtype] = (nib[v.dtype] ?? 0) + 1;
    expect(nib).toEqual({ float32: 162, uint8: 38 });
    expect(report.dtypes.images).toEqual({ float32: 162, uint8: 38 });
    expect(report.findings.find((f) => f.code === 'MIXED_IMAGE_DTYPES')?.message).toContain('162 float32, 38 uint8');
    expect(text).toContain('images: 162 float32, 38 uint8');
  });

  it('flags the intensity range spread with hippocampus_210 (max 1,704,295.25) first', () => {
    const rs = report.intensity?.rangeSpread;
    expect(rs?.maxOfMax).toBe(1704295.25);
    expect(rs?.flagged[0]).toMatchObject({ name: 'hippocampus_210.nii.gz', dtype: 'float32', max: 1704295.25 });
    // Every float image above 1e5 (29 in the README) is among the flagged ones.
    const big = Object.entries(ref.images).filter(([, v]) => v.max > 1e5).map(([k]) => k);
    expect(big).toHaveLength(29);
    const flagged = new Set(rs?.flagged.map((f) => f.name));
    for (const b of big) expect(flagged.has(b), b).toBe(true);
    expect(report.findings.map((f) => f.code)).toContain('INTENSITY_RANGE_SPREAD');
    expect(text).toMatch(/hippocampus_210\.nii\.gz \(float32\) max 1,704,295\.25/);
  });

  it('per-image raw percentiles (0.5/50/99.5) and max equal numpy.percentile on nibabel data', () => {
    const per = report.intensity?.perImage ?? [];
    expect(per).toHaveLength(200);
    for (const p of per) {
      const r = ref.images[p.name];
      expect(r, p.name).toBeDefined();
      expect(p.max).toBe(r.max);
      expect(p.p0_5).toBeCloseTo(r.p[0], 3);
      expect(p.p50).toBeCloseTo(r.p[1], 3);
      expect(p.p99_5).toBeCloseTo(r.p[2], 3);
    }
  });

  it('per-dtype histograms: uint8 vs float32 differ in scale, not much in normalised shape', () => {
    const byDtype = report.intensity?.grouped.find((g) => g.by === 'dtype');
    expect(byDtype?.groups.map((g) => [g.name, g.images])).toEqual([['float32', 162], ['uint8', 38]]);
    for (const g of byDtype?.groups ?? []) expect(g.histogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const s = byDtype?.shift[0];
    expect(s?.jensenShannon).toBeGreaterThanOrEqual(0);
    expect(s?.jensenShannon).toBeLessThan(0.05);
    expect(s?.scaleRatio).toBeGreaterThan(5);
    // Group percentiles are medians over the images of numpy's per-image percentiles.
    const u8 = Object.values(ref.images).filter((v) => v.dtype === 'uint8').map((v) => v.p[2]).sort((a, b) => a - b);
    const med = (u8[18] + u8[19]) / 2;
    expect(byDtype?.groups[1].p99_5).toBeCloseTo(med, 6);
  });

  it('class frequency and tiny 26-connected components equal scipy.ndimage.label on the label files', () => {
    const voxels: Record<number, number> = { 0: 0, 1: 0, 2: 0 };
    const images: Record<number, number> = { 0: 0, 1: 0, 2: 0 };
    const tiny: Record<number, { images: number; components: number }> = {};
    for (const l of Object.values(ref.labels)) {
      for (const [v, n] of Object.entries(l.counts)) {
        voxels[Number(v)] += n;
        if (n > 0) images[Number(v)]++;
      }
      for (const [c, x] of Object.entries(l.classes)) {
        if (x.tiny === 0) continue;
        const e = (tiny[Number(c)] ??= { images: 0, components: 0 });
        e.images++;
        e.components += x.tiny;
      }
    }
    const freq = report.labels?.classFrequency ?? [];
    expect(freq.map((f) => [f.index, f.voxels, f.images])).toEqual([0, 1, 2].map((c) => [c, voxels[c], images[c]]));
    expect(report.labels?.tinyComponents.perClass.map((p) => [p.index, p.images, p.components])).toEqual(
      Object.entries(tiny).map(([c, e]) => [Number(c), e.images, e.components]),
    );
    expect(report.labels?.outOfSchema).toEqual([]);
    expect(report.labels?.empty).toEqual([]);
    expect(report.labels?.geometryMismatch).toEqual([]);
  });

  it('geometry: 1 mm isotropic, all RAS, shapes 31..43 x 40..58 x 26..47', () => {
    const g = report.geometry;
    expect(g.spacing.values).toEqual([{ value: '1 x 1 x 1', images: 200 }]);
    expect(g.orientation.counts).toEqual([{ axcodes: 'RAS', images: 200 }]);
    expect(g.shape.axes.map((a) => [a.min, a.max])).toEqual([[31, 43], [40, 58], [26, 47]]);
    expect(g.anisotropic).toEqual([]);
  });
});

describe('segloop diagnose --images --labels (source files, no project)', () => {
  it('reports the float32 label of hippocampus_003 (values 0/1/2) that a project stores as uint8', () => {
    const r = segloop(['diagnose', '--images', IMAGES, '--labels', LABELS, '--schema', '0,1,2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = r.json as DiagnosticsReport & { unmatchedLabels: string[]; imagesWithoutLabel: string[] };
    expect(rep.labels?.fileDtypes).toEqual({ uint8: 199, float32: 1 });
    expect(rep.labels?.floatFiles).toEqual([{ name: 'hippocampus_003.nii.gz', dtype: 'float32', values: [0, 1, 2] }]);
    expect(rep.labels?.nonIntegerFiles).toEqual([]);
    expect(rep.findings.find((f) => f.code === 'LABEL_FLOAT_DTYPE')?.message).toContain('hippocampus_003.nii.gz (float32, values 0/1/2)');
    expect(rep.dtypes.images).toEqual({ float32: 162, uint8: 38 });
    expect(rep.unmatchedLabels).toEqual([]);
    expect(rep.imagesWithoutLabel).toEqual([]);
    const c003 = ref.labels['hippocampus_003.nii.gz'];
    expect(c003.dtype).toBe('float32');
    expect(Object.keys(c003.counts)).toEqual(['0.0', '1.0', '2.0']);
  });

  it('refuses a missing folder and a project-only flag with a clear error', () => {
    const a = segloop(['diagnose', '--images', path.join(tmp, 'nope'), '--json']);
    expect(a.status).toBe(1);
    expect((a.json as { error: { code: string } }).error.code).toBe('FILE_NOT_FOUND');
    const b = segloop(['diagnose', proj, '--labels', LABELS]);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain('INVALID_ARGUMENT');
    const c = segloop(['diagnose', path.join(tmp, 'not-a-project')]);
    expect(c.stderr).toContain('PROJECT_NOT_FOUND');
  });
});
