/// <reference lib="dom" />
// The 3D and constrained labelling tools from the Labelling screen with real mouse events, each
// checked against a reference computed here from the saved versions: the sphere brush and eraser
// against an analytic ball of the brush radius in mm (voxel centres scaled by the spacing), region
// growing against skimage.segmentation.flood from the seed the screen reports, and painting with an
// editable area and an intensity range against (the same stroke unconstrained) ∩ area ∩ range.
// Every tool undoes in one step, and the saved version's "voxels changed" and seconds count it.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { AUTO_K } from '../../main/core/imaging/region-grow';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, waitForStatus, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const FLOOD_REF = path.join(ROOT, 'main/core/imaging/ref/region_grow_ref.py');
const skipReason = missingPrerequisite();

type V3 = [number, number, number];
interface Saved {
  id: number;
  voxels: Uint8Array;
  voxelsChanged: number | null;
  secondsSpent: number | null;
}

async function latest(dir: string, imageId: number): Promise<Saved> {
  const store = await ProjectStore.open(dir, { readOnly: true });
  try {
    const v = store.labelVersions.latestPerImage().find((x) => x.imageId === imageId)!;
    const row = store.labelVersions.get(v.id)!;
    const vol = await readNifti(await store.resolve(v.path));
    return { id: v.id, voxels: Uint8Array.from(vol.data), voxelsChanged: row.voxelsChanged, secondsSpent: row.secondsSpent };
  } finally {
    store.close();
  }
}

const changedSet = (a: Uint8Array, b: Uint8Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
};

/** Voxels whose centre lies within r mm of c (voxel coordinates), in the image grid. */
function ball(shape: V3, spacing: V3, c: V3, r: number): number[] {
  const [X, Y] = shape;
  const out: number[] = [];
  const lo = c.map((v, a) => Math.max(0, Math.floor(v - r / spacing[a]) - 1));
  const hi = c.map((v, a) => Math.min(shape[a] - 1, Math.ceil(v + r / spacing[a]) + 1));
  for (let k = lo[2]; k <= hi[2]; k++) {
    for (let j = lo[1]; j <= hi[1]; j++) {
      for (let i = lo[0]; i <= hi[0]; i++) {
        const d2 = ((i - c[0]) * spacing[0]) ** 2 + ((j - c[1]) * spacing[1]) ** 2 + ((k - c[2]) * spacing[2]) ** 2;
        if (d2 <= r * r) out.push(i + X * (j + Y * k));
      }
    }
  }
  return out;
}

/**
 * The ball of radius r (mm) whose centre best explains what a click changed, when the tool sets the
 * ball's voxels to `value`: mismatches = voxels changed but not expected + expected but not changed.
 * Centres are searched on a 0.1-voxel grid around the changed voxels' centroid (the click's world
 * point is not at a voxel centre). Returns the fewest mismatches.
 */
function fitBall(shape: V3, spacing: V3, r: number, changed: number[], before: Uint8Array, value: number): { mismatches: number; centre: V3; ballVoxels: number } {
  const [X, Y] = shape;
  const changedSet = new Set(changed);
  const ijk = changed.map((i) => [i % X, Math.floor(i / X) % Y, Math.floor(i / (X * Y))]);
  const mean = [0, 1, 2].map((a) => ijk.reduce((s, p) => s + p[a], 0) / ijk.length) as V3;
  let best = { mismatches: Infinity, centre: mean, ballVoxels: 0 };
  for (let dz = -10; dz <= 10; dz++) {
    for (let dy = -10; dy <= 10; dy++) {
      for (let dx = -10; dx <= 10; dx++) {
        const c: V3 = [mean[0] + dx / 10, mean[1] + dy / 10, mean[2] + dz / 10];
        const b = ball(shape, spacing, c, r);
        const expected = b.filter((i) => before[i] !== value);
        const hit = expected.filter((i) => changedSet.has(i)).length;
        const m = expected.length - hit + (changed.length - hit);
        if (m < best.mismatches) best = { mismatches: m, centre: c, ballVoxels: b.length };
      }
    }
  }
  return best;
}

interface FloodReq {
  seeds: number[];
  segment: number;
  tolerance: number | 'auto';
  connectivity: 6;
  overwrite: boolean;
}

/** skimage.segmentation.flood on the case's image (region_grow_ref.py). */
function floodRef(shape: V3, image: Float32Array, labels: Uint8Array, req: FloodReq): { labels: Uint8Array; tolerances: number[] } {
  const r = spawnSync('/usr/bin/python3', [FLOOD_REF], { input: JSON.stringify({ shape, image: Array.from(image), labels: Array.from(labels), autoK: AUTO_K, ...req }), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout) as { labels: number[]; tolerances: number[] };
  return { labels: Uint8Array.from(out.labels), tolerances: out.tolerances };
}

async function unsaved(page: Page): Promise<number> {
  const t = (await page.locator('[data-testid="unsaved"]').textContent({ timeout: 500 }).catch(() => null)) ?? '0';
  return Number(/(\d+)/.exec(t)?.[1] ?? 0);
}

/** Waits until the unsaved count is non-zero and has not changed for 800 ms (the edit is fully applied). */
async function settledUnsaved(page: Page): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await unsaved(page);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n > 0 && Date.now() - since > 800) return n;
    if (Date.now() > deadline) throw new Error(`the unsaved count did not settle (last ${n})`);
    await page.waitForTimeout(100);
  }
}

async function noUnsaved(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
}

describe.skipIf(skipReason !== null)(`3D and constrained labelling tools in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;
  let page: Page;
  let imageId = 0;
  let shape: V3 = [0, 0, 0];
  let spacing: V3 = [1, 1, 1];
  let image: Float32Array = new Float32Array();

  const flood = (labels: Uint8Array, req: FloodReq) => floodRef(shape, image, labels, req);
  const box = async (name = 'axial') => (await page.locator(`[data-testid="viewport-${name}"]`).boundingBox())!;
  const save = async () => {
    await page.locator('[data-testid="save"]').click();
    await waitForStatus(page, /Saved version/);
    await noUnsaved(page);
  };
  /** Undo takes the whole edit back, redo brings it again: checked on the unsaved count. */
  const undoRedo = async (n: number) => {
    await page.locator('[data-testid="undo"]').click();
    await noUnsaved(page);
    await page.keyboard.press('Control+Shift+z');
    expect(await settledUnsaved(page)).toBe(n);
  };
  const click = async (fx: number, fy: number) => {
    const b = await box();
    await page.mouse.click(b.x + b.width * fx, b.y + b.height * fy);
  };
  const stroke = async (from: [number, number], to: [number, number]) => {
    const b = await box();
    await page.mouse.move(b.x + b.width * from[0], b.y + b.height * from[1]);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * to[0], b.y + b.height * to[1], { steps: 10 });
    await page.mouse.up();
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('labtools');
    const ro = await ProjectStore.open(demo.dir, { readOnly: true });
    imageId = ro.labelVersions.latestPerImage()[0].imageId;
    const img = ro.images.require(imageId);
    const vol = await readNifti(await ro.resolve(img.path));
    ro.close();
    shape = vol.shape as unknown as V3;
    spacing = vol.spacing as unknown as V3;
    image = Float32Array.from(vol.data);
    page = await demo.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(demo.server.openUrl);
    await openCaseFromCases(page, imageId);
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('sphere brush paints, and the sphere eraser erases, a ball of the brush radius in mm across slices', async () => {
    await page.locator('[data-testid="segment-1"]').click();
    await page.keyboard.press('s'); // sphere brush by its key
    await expect.poll(() => page.locator('[data-testid="tool-sphere"]').getAttribute('class')).toContain('active');
    // Shift+wheel over the image: 2 mm -> 4 mm in 0.5 mm steps
    const b = await box();
    await page.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.5);
    await page.keyboard.down('Shift');
    for (let k = 0; k < 4; k++) {
      await page.mouse.wheel(0, -100);
      await page.waitForTimeout(80);
    }
    await page.keyboard.up('Shift');
    await expect.poll(() => page.locator('[data-testid="brush-size"]').inputValue()).toBe('4');

    const before = await latest(demo.dir, imageId);
    await click(0.5, 0.5);
    const n = await settledUnsaved(page);
    await undoRedo(n);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-sphere-brush-1400x900.png') });
    await save();
    const painted = await latest(demo.dir, imageId);
    const changed = changedSet(painted.voxels, before.voxels);
    expect(changed.length).toBe(n);
    expect(painted.voxelsChanged).toBe(n);
    expect(painted.secondsSpent).toBeGreaterThan(0);
    expect(changed.every((i) => painted.voxels[i] === 1)).toBe(true);
    const fit = fitBall(shape, spacing, 4, changed, before.voxels, 1);
    // a 4 mm ball spans several slices; nothing outside it and all of it inside
    const zs = new Set(changed.map((i) => Math.floor(i / (shape[0] * shape[1]))));
    expect(zs.size).toBeGreaterThanOrEqual(5);
    expect(fit.mismatches, `sphere vs ball at ${fit.centre.map((v) => v.toFixed(1))}`).toBe(0);

    // the sphere eraser (D) with radius 3 mm at the same point
    await page.keyboard.press('d');
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    await expect.poll(() => page.locator('[data-testid="brush-size"]').inputValue()).toBe('3');
    await click(0.5, 0.5);
    const m = await settledUnsaved(page);
    await undoRedo(m);
    await save();
    const erased = await latest(demo.dir, imageId);
    const gone = changedSet(erased.voxels, painted.voxels);
    expect(erased.voxelsChanged).toBe(m);
    expect(gone.every((i) => erased.voxels[i] === 0)).toBe(true);
    const efit = fitBall(shape, spacing, 3, gone, painted.voxels, 0);
    expect(efit.mismatches, `eraser vs ball at ${efit.centre.map((v) => v.toFixed(1))}`).toBe(0);
  }, 600_000);

  it('region growing from the clicked seed equals skimage flood; Discard undoes it, Keep + save counts it', async () => {
    const before = await latest(demo.dir, imageId);
    await page.keyboard.press('v');
    await expect.poll(() => page.locator('[data-testid="tool-regionGrow"]').getAttribute('class')).toContain('active');
    const STATUS = /Region grow from \((\d+), (\d+), (\d+)\): (\d+) voxels changed \(tolerance ±([-\d.e+]+)\)/;
    const grow = async (): Promise<{ seed: number; changed: number; tolerance: number }> => {
      const previous = (await page.locator('[data-testid="status"]').textContent()) ?? '';
      await click(0.42, 0.42);
      await page.waitForFunction(
        ([src, prev]) => {
          const t = document.querySelector('[data-testid="status"]')?.textContent ?? '';
          return t !== prev && new RegExp(src).test(t);
        },
        [STATUS.source, previous] as const,
        { timeout: 60_000 },
      );
      const m = STATUS.exec((await page.locator('[data-testid="status"]').textContent()) ?? '')!;
      await page.locator('[data-testid="op-preview"]').waitFor();
      return { seed: Number(m[1]) + shape[0] * (Number(m[2]) + shape[1] * Number(m[3])), changed: Number(m[4]), tolerance: Number(m[5]) };
    };
    // auto tolerance, overwriting other segments (editable area: everywhere), then discarded
    const first = await grow();
    expect(first.changed).toBeGreaterThan(0);
    expect(await settledUnsaved(page)).toBe(first.changed);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-region-grow-preview-1400x900.png') });
    const auto = flood(before.voxels, { seeds: [first.seed], segment: 1, tolerance: 'auto', connectivity: 6, overwrite: true });
    // the status shows 4 significant digits
    expect(Math.abs(auto.tolerances[0] - first.tolerance)).toBeLessThanOrEqual(Math.abs(first.tolerance) * 5e-4);
    expect(changedSet(auto.labels, before.voxels).length).toBe(first.changed);
    await page.locator('[data-testid="op-preview-discard"]').click();
    await noUnsaved(page);

    // a typed tolerance, painting only over background: kept and saved
    const tolerance = Number((first.tolerance * 1.5).toPrecision(4));
    await page.locator('[data-testid="paint-constraints"] summary').click();
    await page.locator('[data-testid="grow-tolerance"]').fill(String(tolerance));
    await page.locator('[data-testid="grow-tolerance"]').press('Tab');
    await page.locator('[data-testid="paint-area"]').selectOption('background');
    const second = await grow();
    expect(second.tolerance).toBeCloseTo(tolerance, 6);
    await page.locator('[data-testid="op-preview-keep"]').click();
    expect(await settledUnsaved(page)).toBe(second.changed);
    await save();
    const saved = await latest(demo.dir, imageId);
    const want = flood(before.voxels, { seeds: [second.seed], segment: 1, tolerance, connectivity: 6, overwrite: false });
    expect(changedSet(saved.voxels, want.labels).length, 'saved version vs skimage flood').toBe(0);
    expect(saved.voxelsChanged).toBe(second.changed);
    expect(second.changed).toBe(changedSet(want.labels, before.voxels).length);
    expect(saved.secondsSpent).toBeGreaterThan(0);
    await page.locator('[data-testid="paint-area"]').selectOption('everywhere');
  }, 600_000);

  it('painting inside a segment and an intensity range changes exactly (the free stroke) ∩ segment ∩ range', async () => {
    await page.locator('[data-testid="segment-2"]').click();
    await page.keyboard.press('b');
    const prev = await latest(demo.dir, imageId);
    const path0: [number, number] = [0.3, 0.5];
    const path1: [number, number] = [0.7, 0.52];
    // the same stroke without constraints, saved, then undone and saved again (back to prev)
    await stroke(path0, path1);
    const free = await settledUnsaved(page);
    await save();
    const a = await latest(demo.dir, imageId);
    const sFree = changedSet(a.voxels, prev.voxels);
    expect(sFree.length).toBe(free);
    await page.locator('[data-testid="undo"]').click();
    expect(await settledUnsaved(page)).toBe(free);
    await save();
    const b = await latest(demo.dir, imageId);
    expect(changedSet(b.voxels, prev.voxels).length).toBe(0);

    // the range: the middle of the intensities the stroke crossed inside segment 1
    const inSeg = sFree.filter((i) => b.voxels[i] === 1).map((i) => image[i]).sort((x, y) => x - y);
    expect(inSeg.length, 'the stroke crosses segment 1').toBeGreaterThan(5);
    const lo = Number(inSeg[Math.floor(inSeg.length * 0.2)].toPrecision(6));
    const hi = Number(inSeg[Math.floor(inSeg.length * 0.8)].toPrecision(6));
    await page.locator('[data-testid="paint-area"]').selectOption('inside');
    await page.locator('[data-testid="paint-area-segment"]').selectOption('1');
    await page.locator('[data-testid="paint-range-on"]').check();
    await page.locator('[data-testid="paint-range-lo"]').fill(String(lo));
    await page.locator('[data-testid="paint-range-hi"]').fill(String(hi));
    await page.locator('[data-testid="paint-range-hi"]').press('Tab');
    await stroke(path0, path1);
    const n = await settledUnsaved(page);
    await undoRedo(n);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-masked-brush-1400x900.png') });
    await save();
    const c = await latest(demo.dir, imageId);
    const want = sFree.filter((i) => b.voxels[i] === 1 && image[i] >= lo && image[i] <= hi);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(sFree.length);
    expect(changedSet(c.voxels, b.voxels)).toEqual(want);
    expect(want.every((i) => c.voxels[i] === 2)).toBe(true);
    expect(c.voxelsChanged).toBe(want.length);

    // the help overlay lists the new tools with their keys (from the one tool table)
    await page.keyboard.press('?');
    const help = (await page.locator('[data-testid="help"]').textContent()) ?? '';
    for (const t of ['Sphere brush', 'Sphere eraser', 'Region growing']) expect(help).toContain(t);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-help-1400x900.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[data-testid="help"]').count()).toBe(0);
    // L shows the labels as outlines (the checkbox follows), L again filled; displaying edits nothing
    await page.keyboard.press('l');
    await expect.poll(() => page.locator('[data-testid="label-outline"]').isChecked()).toBe(true);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-outline-1400x900.png') });
    await page.keyboard.press('l');
    await expect.poll(() => page.locator('[data-testid="label-outline"]').isChecked()).toBe(false);
    expect(await unsaved(page)).toBe(0);
  }, 600_000);
});
