import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../imaging/nifti';
import { synthesize2dImage, writeSynthetic2dCollection } from './synthetic-2d';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-synth2d-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('synthetic 2D ellipse collection', () => {
  it('is seeded: the same options give the same pixels, another seed other pixels', () => {
    const a = synthesize2dImage(3, 10, { width: 120, height: 80, seed: 5 });
    const b = synthesize2dImage(3, 10, { width: 120, height: 80, seed: 5 });
    const c = synthesize2dImage(3, 10, { width: 120, height: 80, seed: 6 });
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(a.pixelMm).toBe(b.pixelMm);
    expect(Buffer.from(a.image).equals(Buffer.from(c.image))).toBe(false);
  });

  it('spreads pixel sizes over the whole 6x range even for a dozen frames', () => {
    const px = Array.from({ length: 12 }, (_, i) => synthesize2dImage(i, 12, { width: 32, height: 32 }).pixelMm);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0.05);
    expect(Math.max(...px)).toBeLessThanOrEqual(0.3);
    // Stratified: one frame per twelfth of the log range, so the extremes are within one stratum of the ends.
    expect(Math.max(...px) / Math.min(...px)).toBeGreaterThan(6 ** (10 / 12));
  });

  it('the label is the filled ellipse (area = pi a b) and the noise is multiplicative', () => {
    const s = synthesize2dImage(0, 1, { width: 400, height: 300, seed: 9 });
    let area = 0;
    for (const v of s.label) area += v;
    expect(area / (Math.PI * s.ellipse.a * s.ellipse.b)).toBeCloseTo(1, 2);
    // Deep inside (brain) and far outside (background): relative spread similar, absolute spread scales with the mean.
    const stats = (pick: (r: number) => boolean): { mean: number; cv: number } => {
      let n = 0;
      let sum = 0;
      let sum2 = 0;
      const { cx, cy, a, b, angle } = s.ellipse;
      for (let y = 0; y < s.height; y++) {
        for (let x = 0; x < s.width; x++) {
          const dx = x + 0.5 - cx;
          const dy = y + 0.5 - cy;
          const u = (dx * Math.cos(angle) + dy * Math.sin(angle)) / a;
          const v = (-dx * Math.sin(angle) + dy * Math.cos(angle)) / b;
          if (!pick(Math.hypot(u, v))) continue;
          const val = s.image[y * s.width + x];
          n++;
          sum += val;
          sum2 += val * val;
        }
      }
      const mean = sum / n;
      return { mean, cv: Math.sqrt(sum2 / n - mean * mean) / mean };
    };
    const inside = stats((r) => r < 0.6);
    const outside = stats((r) => r > 1.4);
    expect(inside.mean).toBeGreaterThan(outside.mean * 1.2);
    expect(inside.cv).toBeGreaterThan(0.15);
    expect(outside.cv).toBeGreaterThan(0.15);
    expect(inside.cv / outside.cv).toBeGreaterThan(0.6);
    expect(inside.cv / outside.cv).toBeLessThan(1.6);
  });

  it('writes W x H x 1 uint8 NIfTI pairs and a schema that nibabel and our reader agree on', async () => {
    const dir = path.join(tmp, 'coll');
    const out = await writeSynthetic2dCollection(dir, { count: 3, width: 64, height: 48, seed: 2 });
    expect(out.cases.map((c) => path.basename(c.imagePath))).toEqual(['synth_000.nii.gz', 'synth_001.nii.gz', 'synth_002.nii.gz']);
    const schema = JSON.parse(readFileSync(out.schemaFile, 'utf8')) as { labels: { index: number; name: string }[] };
    expect(schema.labels.map((l) => l.index)).toEqual([0, 1]);
    for (const c of out.cases) {
      const img = await readNifti(c.imagePath);
      const lab = await readNifti(c.labelPath);
      expect(img.shape).toEqual([64, 48, 1]);
      expect(img.diskDtype).toBe('uint8');
      expect(lab.shape).toEqual([64, 48, 1]);
      expect(img.spacing[0]).toBeCloseTo(c.pixelMm, 5);
      expect(img.spacing[1]).toBeCloseTo(c.pixelMm, 5);
      expect(new Set(lab.data)).toEqual(new Set([0, 1]));
    }
    const py = 'import nibabel as nib, sys, json; print(json.dumps([[list(map(int, (i := nib.load(f)).shape)), [float(z) for z in i.header.get_zooms()], str(i.get_data_dtype())] for f in sys.argv[1:]]))';
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, ...out.cases.map((c) => c.imagePath)], { encoding: 'utf8' })) as [number[], number[], string][];
    ref.forEach(([shape, zooms, dtype], i) => {
      expect(shape).toEqual([64, 48, 1]);
      expect(zooms[0]).toBeCloseTo(out.cases[i].pixelMm, 5);
      expect(dtype).toBe('uint8');
    });
  });

  it('bad options are a clear error', async () => {
    expect(() => synthesize2dImage(0, 1, { width: 8, height: 8 })).toThrow(/width and height/);
    expect(() => synthesize2dImage(0, 1, { minPixelMm: 0.3, maxPixelMm: 0.1 })).toThrow(/Pixel sizes/);
    await expect(writeSynthetic2dCollection(path.join(tmp, 'bad'), { count: 0 })).rejects.toThrow(/count/);
  });
});
