// decodePaletteMask: RGB masks to class indices by the nearest palette colour, counting pixels
// that were not exactly on a palette colour. Checked against numpy on a mask written by nibabel
// and on the shared synthetic RGB24 file (R=40i, G=50j, B=60k).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA, REPO } from './helpers/cli';
import { readNifti } from '../../main/core/imaging/nifti';
import { decodePaletteMask } from '../../main/core/diagnostics';

let tmp: string;
beforeAll(() => void (tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-palette-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('decodePaletteMask', () => {
  it('decodes a nibabel-written RGB24 mask with blended boundary pixels exactly like numpy', async () => {
    const file = path.join(tmp, 'mask_rgb.nii.gz');
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [path.join(REPO, 'tests/integration/ref/palette_ref.py'), file], { encoding: 'utf8' })) as {
      labels: number[];
      off: number;
      counts: number[];
    };
    const vol = await readNifti(file);
    expect(vol.channels).toBe(3);
    const r = decodePaletteMask(vol, [
      { index: 0, colour: '#000000' },
      { index: 1, colour: '#ff0000' },
      { index: 2, colour: '#00ff00' },
      { index: 3, colour: [0, 0, 255] },
    ]);
    expect(Array.from(r.labels)).toEqual(ref.labels);
    expect(r.offPalettePixels).toBe(ref.off);
    expect(ref.off).toBeGreaterThan(5);
    expect([0, 1, 2, 3].map((c) => r.counts[c])).toEqual(ref.counts);
    expect(r.maxDistance).toBeGreaterThan(0);
  });

  it('maps the shared dtype_rgb24.nii.gz gradient to the nearest of a small palette', async () => {
    const vol = await readNifti(path.join(DATA, 'formats/synthetic/dtype_rgb24.nii.gz'));
    const [X, Y, Z] = vol.shape;
    const palette: { index: number; colour: [number, number, number] }[] = [
      { index: 0, colour: [0, 0, 0] },
      { index: 5, colour: [200, 0, 0] },
      { index: 7, colour: [0, 200, 180] },
    ];
    const r = decodePaletteMask(vol, palette);
    // Expected from the file's documented formula R=40i, G=50j, B=60k (nibabel order, i fastest).
    let off = 0;
    for (let k = 0; k < Z; k++) {
      for (let j = 0; j < Y; j++) {
        for (let i = 0; i < X; i++) {
          const rgb = [40 * i, 50 * j, 60 * k];
          const d = palette.map((p) => p.colour.reduce((a, c, ch) => a + (c - rgb[ch]) ** 2, 0));
          const best = d.indexOf(Math.min(...d));
          if (d[best] > 0) off++;
          expect(r.labels[i + X * (j + Y * k)]).toBe(palette[best].index);
        }
      }
    }
    expect(r.offPalettePixels).toBe(off);
    // Exactly on the palette: (0,0,0), (200,0,0) at i=5, and (0,200,180) at j=4, k=3.
    expect(r.offPalettePixels).toBe(X * Y * Z - 3);
  });

  it('refuses scalar volumes, empty palettes and bad colours', () => {
    const data = new Uint8Array(12);
    expect(() => decodePaletteMask({ data, channels: 1 }, [{ index: 0, colour: '#000000' }])).toThrow(/3 \(RGB\) or 4 \(RGBA\)/);
    expect(() => decodePaletteMask({ data, channels: 3 }, [])).toThrow(/palette is empty/);
    expect(() => decodePaletteMask({ data, channels: 3 }, [{ index: 0, colour: 'red' }])).toThrow(/#rrggbb/);
  });
});
