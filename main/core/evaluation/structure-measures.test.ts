// Per-structure measurements of prediction and reference and their errors in mm: a synthetic 2D
// case whose answers are known analytically (two ellipses: the prediction 3 mm longer in its
// semi-major axis), and real hippocampus masks against skimage.measure.regionprops and an
// independent scipy ConvexHull/pdist computation of the maximum diameter.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { readNifti } from '../imaging/nifti';
import { ellipseCircumference } from '../imaging/shape-measures';
import { caseMeasurements, measureError, measureStructures, summarizeMeasurements } from './structure-measures';

/** A W x H x 1 label image (pixel size s mm) holding axis-aligned ellipses of semi-axes a, b mm (centre shifted by dx mm). */
function ellipseImage(w: number, h: number, s: number, ellipses: { a: number; b: number; label: number; dx?: number }[]): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = (y - h / 2) * s;
      for (const e of ellipses) if ((((x - w / 2) * s - (e.dx ?? 0)) / e.a) ** 2 + (dy / e.b) ** 2 <= 1) m[y * w + x] = e.label;
    }
  }
  return m;
}

const rel = (x: number, ref: number): number => Math.abs(x - ref) / Math.abs(ref);

describe('structure measurements and their errors', () => {
  it('a synthetic 2D case with known answers: area, axes, circumference, diameter and their errors within 1%', () => {
    const [w, h, s] = [600, 400, 0.2];
    const ref = ellipseImage(w, h, s, [{ a: 45, b: 30, label: 1 }]);
    const pred = ellipseImage(w, h, s, [{ a: 48, b: 30, label: 1 }, { a: 3, b: 2, label: 2, dx: 54 }]);
    const m = caseMeasurements(pred, ref, [w, h, 1], [s, s, 1], [1, 2]);
    expect(m.dims).toBe(2);
    const head = m.classes[0];
    expect(rel(head.ref!.areaMm2!, Math.PI * 45 * 30)).toBeLessThan(0.01);
    expect(rel(head.ref!.majorAxisMm!, 90)).toBeLessThan(0.01);
    expect(rel(head.ref!.minorAxisMm!, 60)).toBeLessThan(0.01);
    expect(rel(head.ref!.circumferenceMm!, ellipseCircumference(45, 30))).toBeLessThan(0.01);
    expect(rel(head.ref!.maxDiameterMm!, 90)).toBeLessThan(0.01);
    // errors pred − ref: +6 mm on the major axis and the diameter, ~0 on the minor axis
    expect(rel(measureError(head, 'majorAxisMm')!, 6)).toBeLessThan(0.05);
    expect(rel(measureError(head, 'maxDiameterMm')!, 6)).toBeLessThan(0.05);
    expect(Math.abs(measureError(head, 'minorAxisMm')!)).toBeLessThan(0.2);
    expect(rel(measureError(head, 'areaMm2')!, Math.PI * 3 * 30)).toBeLessThan(0.02);
    expect(rel(measureError(head, 'circumferenceMm')!, ellipseCircumference(48, 30) - ellipseCircumference(45, 30))).toBeLessThan(0.05);
    expect(measureError(head, 'volumeMm3')).toBeNull(); // 2D: no volume
    // class 2 only in the prediction: nothing to compare
    expect(m.classes[1].ref).toBeNull();
    expect(measureError(m.classes[1], 'areaMm2')).toBeNull();

    // a second case where the prediction is 3 mm short: MAE is the mean of |+6| and |−6|, bias 0
    const pred2 = ellipseImage(w, h, s, [{ a: 42, b: 30, label: 1 }]);
    const m2 = caseMeasurements(pred2, ref, [w, h, 1], [s, s, 1], [1, 2]);
    const rows = summarizeMeasurements([m, m2]);
    const major = rows.find((r) => r.label === 1 && r.key === 'majorAxisMm')!;
    expect(major.n).toBe(2);
    expect(rel(major.meanAbsError!, 6)).toBeLessThan(0.05);
    expect(Math.abs(major.meanError!)).toBeLessThan(0.3);
    expect(rel(major.meanAbsRelError!, 6 / 90)).toBeLessThan(0.05);
    const absent = rows.find((r) => r.label === 2 && r.key === 'areaMm2')!;
    expect(absent).toMatchObject({ n: 0, oneEmpty: 1, meanAbsError: null });
    expect(rows.some((r) => r.key === 'volumeMm3')).toBe(false);
  });

  it('3D volumes: volume and max diameter equal skimage regionprops / scipy on real hippocampus masks (isotropic and anisotropic spacing)', async () => {
    const files = ['hippocampus_003.nii.gz', 'hippocampus_006.nii.gz', 'hippocampus_007.nii.gz'].map((f) => path.join(HIPPOCAMPUS, 'labels', f));
    const spacings: [number, number, number][] = [[1, 1, 1], [1, 1.5, 2.5]];
    const masks = files.flatMap((file) => spacings.map((spacing) => ({ file, spacing, labels: [1, 2] })));
    const py = spawnSync('/usr/bin/python3', [path.join(__dirname, 'ref/structure_measures_ref.py')], { input: JSON.stringify({ masks }), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as { voxels: number; volume_mm3: number; feret_skimage: number; diameter_faces_mm: number }[];
    expect(ref).toHaveLength(masks.length * 2);
    let i = 0;
    for (const mk of masks) {
      const lab = await readNifti(mk.file);
      const ours = measureStructures(lab.data, lab.shape, mk.spacing, [1, 2]);
      for (const label of [1, 2]) {
        const r = ref[i++];
        const o = ours.get(label)!;
        expect(o.volumeMm3).toBeCloseTo(r.volume_mm3, 6);
        expect(o.maxDiameterMm).toBeCloseTo(r.diameter_faces_mm, 6);
        // skimage's Feret (marching cubes of the convex image) has no spacing in 0.19: compare at 1 mm
        if (mk.spacing[1] === 1) expect(rel(o.maxDiameterMm!, r.feret_skimage)).toBeLessThan(0.03);
      }
    }
  });
});
