// Synthetic 2D collection (issue 17): W x H x 1 uint8 frames that look, to a segmentation
// network, like fetal-head ultrasound: a filled ellipse (the head mask) with a bright rim (skull)
// on a darker background, under multiplicative speckle-like noise, each frame with its own pixel
// size. Pixel sizes are stratified over [minPixelMm, maxPixelMm] (default 0.05-0.3 mm, 6x), so even
// a collection of a dozen frames spans the whole range — that spread is what the 2D plan has to
// cope with. Everything is seeded: the same options write the same bytes.
//
// `writeSynthetic2dCollection(dir, ...)` writes dir/images/<id>.nii.gz, dir/labels/<id>.nii.gz and
// dir/label-schema.json, the layout `segloop import <project> --images dir/images --labels
// dir/labels --schema dir/label-schema.json` expects (labels matched to images by file name).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SegloopError } from '../../../../shared/errors';
import { writeNifti } from '../../imaging/nifti';
import type { Mat4 } from '../../imaging/volume';
import { createRng, type Rng } from './prng';

export interface Ellipse {
  /** Centre in pixels (x along W, y along H). */
  cx: number;
  cy: number;
  /** Semi-axes in pixels. */
  a: number;
  b: number;
  /** Rotation of the a axis from +x, radians. */
  angle: number;
}

export interface Synthetic2dImage {
  width: number;
  height: number;
  /** Pixel size in mm (square pixels). */
  pixelMm: number;
  ellipse: Ellipse;
  /** x fastest (NIfTI order), W x H x 1. */
  image: Uint8Array;
  label: Uint8Array;
}

export interface Synthetic2dOptions {
  width?: number;
  height?: number;
  seed?: number;
  minPixelMm?: number;
  maxPixelMm?: number;
}

export interface Synthetic2dCollectionOptions extends Synthetic2dOptions {
  count?: number;
}

export interface Synthetic2dCase {
  id: string;
  imagePath: string;
  labelPath: string;
  pixelMm: number;
  ellipse: Ellipse;
}

export interface Synthetic2dCollection {
  imagesDir: string;
  labelsDir: string;
  schemaFile: string;
  cases: Synthetic2dCase[];
}

export const SYNTHETIC_2D_DEFAULTS = { width: 800, height: 540, count: 100, seed: 17, minPixelMm: 0.05, maxPixelMm: 0.3 } as const;

function checkOptions(width: number, height: number, minMm: number, maxMm: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 32767 || height > 32767) {
    throw new SegloopError('INVALID_ARGUMENT', `Synthetic images need integer width and height in 16..32767, got ${width} x ${height}.`);
  }
  if (!(minMm > 0) || !(maxMm >= minMm)) throw new SegloopError('INVALID_ARGUMENT', `Pixel sizes need 0 < min <= max, got ${minMm}..${maxMm} mm.`);
}

/** Frame `index` of `count`: the pixel sizes of a collection are stratified log-uniformly over the range. */
export function synthesize2dImage(index: number, count: number, opts: Synthetic2dOptions = {}): Synthetic2dImage {
  const width = opts.width ?? SYNTHETIC_2D_DEFAULTS.width;
  const height = opts.height ?? SYNTHETIC_2D_DEFAULTS.height;
  const minMm = opts.minPixelMm ?? SYNTHETIC_2D_DEFAULTS.minPixelMm;
  const maxMm = opts.maxPixelMm ?? SYNTHETIC_2D_DEFAULTS.maxPixelMm;
  checkOptions(width, height, minMm, maxMm);
  const seed = opts.seed ?? SYNTHETIC_2D_DEFAULTS.seed;
  // The stratum of each frame comes from a seeded permutation, so neighbouring ids do not share a scale.
  const perm = Array.from({ length: count }, (_, i) => i);
  const prng = createRng(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const rng = createRng((Math.imul(seed, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const stratum = count > 1 ? (perm[index] + rng.next()) / count : rng.next();
  const pixelMm = minMm * (maxMm / minMm) ** stratum;

  // The head fills a similar part of the frame at any zoom (as in ultrasound, where depth sets the pixel size).
  const short = Math.min(width, height);
  const a = short * rng.uniform(0.22, 0.42);
  const b = a * rng.uniform(0.65, 0.95);
  const ellipse: Ellipse = {
    a,
    b,
    angle: rng.uniform(0, Math.PI),
    cx: width / 2 + rng.uniform(-0.2, 0.2) * width,
    cy: height / 2 + rng.uniform(-0.15, 0.15) * height,
  };
  const { image, label } = render(width, height, ellipse, rng);
  return { width, height, pixelMm, ellipse, image, label };
}

function render(width: number, height: number, e: Ellipse, rng: Rng): { image: Uint8Array; label: Uint8Array } {
  const n = width * height;
  const label = new Uint8Array(n);
  const tissue = new Float32Array(n);
  const cos = Math.cos(e.angle);
  const sin = Math.sin(e.angle);
  const bg = rng.uniform(35, 60);
  const brain = rng.uniform(80, 110);
  const rimWidth = 0.07; // skull thickness as a fraction of the radius
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Pixel centres; r = 1 on the ellipse.
      const dx = x + 0.5 - e.cx;
      const dy = y + 0.5 - e.cy;
      const u = (dx * cos + dy * sin) / e.a;
      const v = (-dx * sin + dy * cos) / e.b;
      const r = Math.sqrt(u * u + v * v);
      const i = y * width + x;
      if (r <= 1) label[i] = 1;
      // Soft rim around r = 1 (inside and just outside), brain inside, a depth-like gradient outside.
      const rim = Math.exp(-(((r - 1 + rimWidth / 2) / rimWidth) ** 2));
      tissue[i] = (r <= 1 ? brain : bg * (1 - 0.3 * (y / height))) + 140 * rim;
    }
  }
  // Speckle: multiplicative Rayleigh-like amplitude noise (|complex Gaussian|, mean 1), smoothed over
  // a 3x3 window so that grains span a few pixels as in a real B-mode image.
  const grain = new Float32Array(n);
  const rayleighMean = Math.sqrt(Math.PI / 2);
  for (let i = 0; i < n; i++) {
    const re = rng.normal();
    const im = rng.normal();
    grain[i] = Math.sqrt(re * re + im * im) / rayleighMean;
  }
  const image = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - 1);
    const y1 = Math.min(height - 1, y + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - 1);
      const x1 = Math.min(width - 1, x + 1);
      let s = 0;
      for (let yy = y0; yy <= y1; yy++) for (let xx = x0; xx <= x1; xx++) s += grain[yy * width + xx];
      const speckle = s / ((y1 - y0 + 1) * (x1 - x0 + 1));
      const i = y * width + x;
      image[i] = Math.max(0, Math.min(255, Math.round(tissue[i] * speckle)));
    }
  }
  return { image, label };
}

function affineFor(pixelMm: number): Mat4 {
  return [
    [pixelMm, 0, 0, 0],
    [0, pixelMm, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Writes `count` frames (default 100 of 800 x 540) as image + label NIfTI files and a label schema into `dir`. */
export async function writeSynthetic2dCollection(dir: string, opts: Synthetic2dCollectionOptions = {}): Promise<Synthetic2dCollection> {
  const count = opts.count ?? SYNTHETIC_2D_DEFAULTS.count;
  if (!Number.isInteger(count) || count < 1) throw new SegloopError('INVALID_ARGUMENT', `count must be a positive integer, got ${count}.`);
  const imagesDir = path.join(dir, 'images');
  const labelsDir = path.join(dir, 'labels');
  await fs.mkdir(imagesDir, { recursive: true });
  await fs.mkdir(labelsDir, { recursive: true });
  const digits = Math.max(3, String(count - 1).length);
  const cases: Synthetic2dCase[] = [];
  for (let i = 0; i < count; i++) {
    const s = synthesize2dImage(i, count, opts);
    const id = `synth_${String(i).padStart(digits, '0')}`;
    const imagePath = path.join(imagesDir, `${id}.nii.gz`);
    const labelPath = path.join(labelsDir, `${id}.nii.gz`);
    const shape: [number, number, number] = [s.width, s.height, 1];
    await writeNifti(imagePath, { data: s.image, shape, affine: affineFor(s.pixelMm) }, { description: `segloop synthetic 2D ${id}` });
    await writeNifti(labelPath, { data: s.label, shape, affine: affineFor(s.pixelMm) }, { description: `segloop synthetic 2D ${id} label` });
    cases.push({ id, imagePath, labelPath, pixelMm: s.pixelMm, ellipse: s.ellipse });
  }
  const schemaFile = path.join(dir, 'label-schema.json');
  const schema = { labels: [{ index: 0, name: 'background', colour: '#000000' }, { index: 1, name: 'head', colour: '#e6553a' }] };
  await fs.writeFile(schemaFile, `${JSON.stringify(schema, null, 2)}\n`);
  return { imagesDir, labelsDir, schemaFile, cases };
}
