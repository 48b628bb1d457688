// Shape measurements in mm: a rasterised analytic ellipse (anisotropic pixels, 6x range of pixel
// size) gives back its area, axes and circumference within 1%; on real masks (hippocampus label
// slices) the measures equal skimage's regionprops / find_contours.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { readNifti } from './nifti';
import { ellipseCircumference, measureSlice, measureVolume } from './shape-measures';

/** An ellipse with semi-axes a, b (mm), rotated by theta, centred in a W x H grid of pixel size s. */
function ellipseMask(a: number, b: number, theta: number, s: [number, number]): { data: Uint8Array; w: number; h: number } {
  const w = Math.ceil((2.4 * a) / s[0]);
  const h = Math.ceil((2.4 * a) / s[1]);
  const data = new Uint8Array(w * h);
  const [cx, cy] = [(w / 2) * s[0], (h / 2) * s[1]];
  const [c, sn] = [Math.cos(theta), Math.sin(theta)];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x * s[0] - cx;
      const dy = y * s[1] - cy;
      const u = dx * c + dy * sn;
      const v = -dx * sn + dy * c;
      if ((u / a) ** 2 + (v / b) ** 2 <= 1) data[y * w + x] = 1;
    }
  }
  return { data, w, h };
}

describe('shape measures', () => {
  it("Ramanujan's circumference: a circle is 2πr, a flat ellipse tends to 4a (his formula's known 0.04% there)", () => {
    expect(ellipseCircumference(10, 10)).toBeCloseTo(2 * Math.PI * 10, 9);
    expect(Math.abs(ellipseCircumference(10, 1e-9) - 40) / 40).toBeLessThan(5e-4);
    // a = 2, b = 1: the exact value is 9.68844822055 (Ramanujan II agrees to ~1e-9 here)
    expect(ellipseCircumference(2, 1)).toBeCloseTo(9.6884482205, 8);
  });

  it.each([
    [[0.05, 0.05], 0],
    [[0.1, 0.15], 0.4],
    [[0.3, 0.3], 1.1],
    [[0.3, 0.1], -0.7],
  ] as const)('an analytic ellipse (a=45 mm, b=30 mm) at pixel size %j: area, axes, circumference within 1%%', (s, theta) => {
    const [a, b] = [45, 30];
    const m = ellipseMask(a, b, theta, [s[0], s[1]]);
    const r = measureSlice(m.data, m.w, m.h, [s[0], s[1]], 1);
    const rel = (x: number, ref: number) => Math.abs(x - ref) / ref;
    expect(rel(r.areaMm2, Math.PI * a * b)).toBeLessThan(0.01);
    expect(rel(r.ellipse!.semiMajorMm, a)).toBeLessThan(0.01);
    expect(rel(r.ellipse!.semiMinorMm, b)).toBeLessThan(0.01);
    expect(rel(r.ellipse!.circumferenceMm, ellipseCircumference(a, b))).toBeLessThan(0.01);
    expect(rel(r.maxDiameterMm, 2 * a)).toBeLessThan(0.01);
    // the angle of the major axis (mod π)
    const d = Math.abs(((r.ellipse!.angleRad - theta + Math.PI / 2) % Math.PI + Math.PI) % Math.PI - Math.PI / 2);
    expect(d).toBeLessThan(0.01);
    // the pixelated contour is longer than the smooth one (a staircase; up to ~13% with 3:1 pixels):
    // that is why the clinical circumference is the ellipse's, not the contour's
    expect(r.perimeterMm).toBeGreaterThan(ellipseCircumference(a, b) * 0.99);
    expect(r.perimeterMm).toBeLessThan(ellipseCircumference(a, b) * 1.15);
  });

  it('an absent label measures zero; a 3D mask gives voxels, mm³ and the extent', () => {
    expect(measureSlice(new Uint8Array(16), 4, 4, [1, 1], 1)).toMatchObject({ pixels: 0, areaMm2: 0, ellipse: null });
    const m = new Uint8Array(4 * 5 * 6);
    m[1 + 4 * 2 + 20 * 3] = 2;
    m[2 + 4 * 4 + 20 * 5] = 2;
    expect(measureVolume(m, [4, 5, 6], [0.5, 1, 2], 2)).toEqual({ label: 2, voxels: 2, volumeMm3: 2, extentMm: [1, 3, 6] });
  });

  it('equals skimage on real masks (hippocampus label slices, both classes)', async () => {
    const slices: { w: number; h: number; data: number[]; label: number }[] = [];
    for (const name of ['hippocampus_003.nii.gz', 'hippocampus_006.nii.gz', 'hippocampus_007.nii.gz']) {
      const lab = await readNifti(path.join(HIPPOCAMPUS, 'labels', name));
      const [X, Y, Z] = lab.shape;
      for (const z of [Math.floor(Z / 3), Math.floor(Z / 2), Math.floor((2 * Z) / 3)]) {
        const data = Array.from(lab.data.slice(z * X * Y, (z + 1) * X * Y));
        for (const label of [1, 2]) if (data.filter((v) => v === label).length >= 10) slices.push({ w: X, h: Y, data, label });
      }
    }
    expect(slices.length).toBeGreaterThanOrEqual(10);
    const py = spawnSync('/usr/bin/python3', [path.join(__dirname, 'ref/shape_measures_ref.py')], { input: JSON.stringify({ slices }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as { pixels: number; semi_major: number; semi_minor: number; perimeter: number; feret: number }[];
    slices.forEach((s, i) => {
      const r = measureSlice(s.data, s.w, s.h, [1, 1], s.label);
      // regionprops of a 0/1 image is one region holding every pixel of the label, as ours is
      expect(r.pixels).toBe(ref[i].pixels);
      expect(r.ellipse!.semiMajorMm).toBeCloseTo(ref[i].semi_major, 6);
      expect(r.ellipse!.semiMinorMm).toBeCloseTo(ref[i].semi_minor, 6);
      expect(Math.abs(r.perimeterMm - ref[i].perimeter) / ref[i].perimeter).toBeLessThan(0.02);
      expect(Math.abs(r.maxDiameterMm - ref[i].feret) / ref[i].feret).toBeLessThan(0.05);
    });
  });
});
