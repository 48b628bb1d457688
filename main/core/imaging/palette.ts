// RGB / palette-coded masks to class indices. Exact colour matching silently drops boundary pixels
// whose colour was blended by resizing or lossy saving; here every pixel goes to the NEAREST palette
// colour (squared Euclidean distance in RGB; ties go to the first palette entry) and the pixels that
// were not exactly on a palette colour are counted so the caller can warn (literature 000).
import { SegloopError } from '../../../shared/errors';

export interface PaletteEntry {
  index: number;
  /** '#rrggbb' or [r, g, b] (0..255). */
  colour: string | readonly [number, number, number];
}

export interface RgbVolume {
  /** Interleaved channel values (RGB24: 3 per voxel, RGBA32: 4; alpha is ignored). */
  data: ArrayLike<number>;
  channels: number;
}

export interface PaletteDecodeResult {
  labels: Uint8Array | Uint16Array;
  /** Pixels whose colour matched no palette colour exactly (mapped to the nearest). */
  offPalettePixels: number;
  /** Largest Euclidean RGB distance from a pixel to its assigned palette colour. */
  maxDistance: number;
  /** Pixels per class index after decoding. */
  counts: Record<number, number>;
}

export function parseColour(c: PaletteEntry['colour']): [number, number, number] {
  if (typeof c === 'string') {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c.trim());
    if (!m) throw new SegloopError('INVALID_ARGUMENT', `Palette colour "${c}" is not #rrggbb.`, { colour: c });
    return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  }
  if (c.length !== 3 || c.some((v) => !Number.isFinite(v) || v < 0 || v > 255)) {
    throw new SegloopError('INVALID_ARGUMENT', `Palette colour [${c.join(', ')}] must be three values in 0..255.`, { colour: [...c] });
  }
  return [c[0], c[1], c[2]];
}

export function decodePaletteMask(rgbVolume: RgbVolume, palette: readonly PaletteEntry[]): PaletteDecodeResult {
  if (rgbVolume.channels !== 3 && rgbVolume.channels !== 4) {
    throw new SegloopError('INVALID_ARGUMENT', `A palette mask needs 3 (RGB) or 4 (RGBA) channels per pixel, got ${rgbVolume.channels}.`);
  }
  if (palette.length === 0) throw new SegloopError('INVALID_ARGUMENT', 'The palette is empty: give at least one colour.');
  const cols = palette.map((p) => parseColour(p.colour));
  const maxIndex = Math.max(...palette.map((p) => p.index));
  if (palette.some((p) => !Number.isInteger(p.index) || p.index < 0 || p.index > 65535)) {
    throw new SegloopError('INVALID_ARGUMENT', 'Palette indices must be integers in 0..65535.');
  }
  const ch = rgbVolume.channels;
  const n = Math.floor(rgbVolume.data.length / ch);
  const labels = maxIndex > 255 ? new Uint16Array(n) : new Uint8Array(n);
  const counts: Record<number, number> = Object.fromEntries(palette.map((p) => [p.index, 0]));
  // Real masks hold few distinct colours: cache the nearest entry per 24-bit colour.
  const cache = new Map<number, number>();
  let off = 0;
  let maxD2 = 0;
  for (let v = 0; v < n; v++) {
    const r = rgbVolume.data[v * ch];
    const g = rgbVolume.data[v * ch + 1];
    const b = rgbVolume.data[v * ch + 2];
    const key = (r << 16) | (g << 8) | b;
    let best = cache.get(key);
    if (best === undefined) {
      let bestD = Infinity;
      best = 0;
      for (let e = 0; e < cols.length; e++) {
        const d = (r - cols[e][0]) ** 2 + (g - cols[e][1]) ** 2 + (b - cols[e][2]) ** 2;
        if (d < bestD) { bestD = d; best = e; }
      }
      cache.set(key, best);
    }
    const c = cols[best];
    const d2 = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2;
    if (d2 > 0) off++;
    if (d2 > maxD2) maxD2 = d2;
    labels[v] = palette[best].index;
    counts[palette[best].index]++;
  }
  return { labels, offPalettePixels: off, maxDistance: Math.sqrt(maxD2), counts };
}
