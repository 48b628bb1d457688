/// <reference lib="dom" />
// Masking (editable area + intensity range) on the tools beyond the brush, with the real mouse:
// each tool's edit is made once free and saved (its voxel set S), undone and saved back, then made
// again with a mask; the saved difference must equal S ∩ mask voxel for voxel, where the mask is
// the rule of that tool (maskAllows in segmentation-viewer-service.ts):
// - eraser, inside segment 1 + a range: erases only segment-1 voxels in the range;
// - sphere eraser, background only: erases only the active segment;
// - rectangle scissors, background only + a range: fills only background voxels in the range;
// - freehand, inside segment 1: fills only segment-1 voxels;
// - slice flood fill + a range: the in-range part of the free fill that connects to the click
//   (one 4-connected component of S ∩ range: the fill stops at the mask as at a wall).
// The toolbar marks exactly the masked tools while masking is on.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, unsavedCount, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

async function latestVoxels(dir: string, imageId: number): Promise<Uint8Array> {
  const store = await ProjectStore.open(dir, { readOnly: true });
  try {
    const v = store.labelVersions.latestForImage(imageId)!;
    return Uint8Array.from((await readNifti(await store.resolve(v.path))).data);
  } finally {
    store.close();
  }
}

const changedSet = (a: Uint8Array, b: Uint8Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
};

async function settledUnsaved(page: Page, allowZero = false): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await unsavedCount(page);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if ((n > 0 || allowZero) && Date.now() - since > (n > 0 ? 800 : 3000)) return n;
    if (Date.now() > deadline) throw new Error(`the unsaved count did not settle (last ${n})`);
    await page.waitForTimeout(100);
  }
}

/** The 6-connected components (in 3D; planar sets: in-plane 4-connected) of a voxel set. */
function components(set: number[], shape: [number, number, number]): number[][] {
  const [X, Y] = shape;
  const inSet = new Set(set);
  const seen = new Set<number>();
  const out: number[][] = [];
  for (const s of set) {
    if (seen.has(s)) continue;
    const comp: number[] = [];
    const stack = [s];
    seen.add(s);
    while (stack.length) {
      const i = stack.pop()!;
      comp.push(i);
      for (const j of [i - 1, i + 1, i - X, i + X, i - X * Y, i + X * Y]) {
        // neighbours across a row/slice end are not neighbours
        if (Math.abs((j % X) - (i % X)) > 1 || Math.abs((Math.floor(j / X) % Y) - (Math.floor(i / X) % Y)) > 1) continue;
        if (inSet.has(j) && !seen.has(j)) {
          seen.add(j);
          stack.push(j);
        }
      }
    }
    out.push(comp.sort((a, b) => a - b));
  }
  return out;
}

describe.skipIf(skipReason !== null)(`masking on erasers, scissors, freehand and flood fill${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;
  let page: Page;
  let imageId = 0;
  let shape: [number, number, number] = [0, 0, 0];
  let image = new Float32Array();

  const box = async (name: string) => (await page.locator(`[data-testid="viewport-${name}"]`).boundingBox())!;
  const at = async (name: string, fx: number, fy: number): Promise<[number, number]> => {
    const b = await box(name);
    return [b.x + b.width * fx, b.y + b.height * fy];
  };
  const drag = async (points: [number, number][]) => {
    await page.mouse.move(...points[0]);
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(p[0], p[1], { steps: 8 });
    await page.mouse.up();
  };
  const save = async () => {
    const before = (await page.locator('[data-testid="status"]').textContent()) ?? '';
    await page.locator('[data-testid="save"]').click();
    await page.waitForFunction((prev) => {
      const t = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      return t !== prev && /Saved version/.test(t);
    }, before);
    await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
  };
  const setMask = async (area: 'everywhere' | 'background' | 'inside', range: [number, number] | null) => {
    await page.locator('[data-testid="paint-area"]').selectOption(area);
    if (area === 'inside') await page.locator('[data-testid="paint-area-segment"]').selectOption('1');
    if (range) {
      await page.locator('[data-testid="paint-range-on"]').check();
      await page.locator('[data-testid="paint-range-lo"]').fill(String(range[0]));
      await page.locator('[data-testid="paint-range-hi"]').fill(String(range[1]));
      await page.locator('[data-testid="paint-range-hi"]').press('Tab');
    } else await page.locator('[data-testid="paint-range-on"]').uncheck();
  };
  /** Runs `edit` free (saved), undoes it (saved), and returns the free set and the labels before it. */
  const freeEdit = async (edit: () => Promise<void>): Promise<{ free: number[]; before: Uint8Array }> => {
    await setMask('everywhere', null);
    const before = await latestVoxels(demo.dir, imageId);
    await edit();
    await settledUnsaved(page);
    await save();
    const free = changedSet(await latestVoxels(demo.dir, imageId), before);
    await page.locator('[data-testid="undo"]').click();
    await settledUnsaved(page);
    await save();
    expect(changedSet(await latestVoxels(demo.dir, imageId), before)).toEqual([]);
    return { free, before };
  };
  /** Runs `edit` under the mask and returns the saved difference. */
  const maskedEdit = async (edit: () => Promise<void>, area: 'everywhere' | 'background' | 'inside', range: [number, number] | null): Promise<number[]> => {
    await setMask(area, range);
    const before = await latestVoxels(demo.dir, imageId);
    await edit();
    const n = await settledUnsaved(page, true);
    if (n > 0) await save();
    const got = changedSet(await latestVoxels(demo.dir, imageId), before);
    expect(got.length).toBe(n);
    return got;
  };
  /** The intensities between the 20th and 80th percentile of these voxels. */
  const midRange = (voxels: number[]): [number, number] => {
    const v = voxels.map((i) => image[i]).sort((a, b) => a - b);
    return [Number(v[Math.floor(v.length * 0.2)].toPrecision(6)), Number(v[Math.floor(v.length * 0.8)].toPrecision(6))];
  };
  const inRange = (i: number, r: [number, number]) => image[i] >= r[0] && image[i] <= r[1];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('labmask');
    const ro = await ProjectStore.open(demo.dir, { readOnly: true });
    imageId = ro.labelVersions.latestPerImage()[0].imageId;
    const vol = await readNifti(await ro.resolve(ro.images.require(imageId).path));
    ro.close();
    shape = vol.shape as unknown as [number, number, number];
    image = Float32Array.from(vol.data);
    page = await demo.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(demo.server.openUrl);
    await openCaseFromCases(page, imageId);
    await page.locator('[data-testid="paint-constraints"] summary').click();
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('the toolbar marks the masked tools while masking is on', async () => {
    const masked = async () => page.locator('[data-testid^="tool-"][data-masked="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(await masked()).toEqual([]);
    await setMask('background', null);
    expect((await masked()).sort()).toEqual(['tool-brush', 'tool-eraser', 'tool-fill', 'tool-freehand', 'tool-rectangle', 'tool-regionGrow', 'tool-sphere', 'tool-sphereEraser', 'tool-threshold'].sort());
    expect(await page.locator('[data-testid="tool-crosshairs"]').getAttribute('data-masked')).toBeNull();
    expect(await page.locator('[data-testid="masked-tools"]').textContent()).toContain('Flood fill');
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-masking-toolbar-1400x900.png') });
    await setMask('everywhere', null);
    expect(await masked()).toEqual([]);
  }, 120_000);

  it('erasers: inside segment 1 + range erases S ∩ segment 1 ∩ range; background only erases only the active segment', async () => {
    // set-up (saved): segment 1 then segment 2 painted side by side across the middle, so that
    // the erasers below meet both segments
    await page.keyboard.press('b');
    await page.keyboard.press(']');
    await page.keyboard.press(']');
    await expect.poll(() => page.locator('[data-testid="brush-size"]').inputValue()).toBe('3');
    await page.locator('[data-testid="segment-1"]').click();
    await drag([await at('axial', 0.35, 0.51), await at('axial', 0.5, 0.51)]);
    await page.locator('[data-testid="segment-2"]').click();
    await drag([await at('axial', 0.5, 0.51), await at('axial', 0.68, 0.51)]);
    await settledUnsaved(page);
    await save();

    await page.keyboard.press('e');
    const stroke = async () => drag([await at('axial', 0.3, 0.5), await at('axial', 0.7, 0.52)]);
    const { free, before } = await freeEdit(stroke);
    const seg1 = free.filter((i) => before[i] === 1);
    expect(seg1.length, 'the eraser stroke crosses segment 1').toBeGreaterThan(5);
    expect(free.some((i) => before[i] === 2), 'and segment 2').toBe(true);
    const r = midRange(seg1);
    const got = await maskedEdit(stroke, 'inside', r);
    const want = free.filter((i) => before[i] === 1 && inRange(i, r));
    expect(want.length).toBeGreaterThan(0);
    expect(got).toEqual(want);
    await page.locator('[data-testid="undo"]').click();
    await settledUnsaved(page);
    await save();

    // the sphere eraser at the same place, active segment 2, background only: only 2 goes
    await page.keyboard.press('d');
    const click = async () => page.mouse.click(...(await at('axial', 0.5, 0.51)));
    const sphere = await freeEdit(click);
    expect(new Set(sphere.free.map((i) => sphere.before[i])).size, 'the ball holds both segments').toBe(2);
    const got2 = await maskedEdit(click, 'background', null);
    expect(got2).toEqual(sphere.free.filter((i) => sphere.before[i] === 2));
    await page.locator('[data-testid="undo"]').click();
    await settledUnsaved(page);
    await save();
  }, 600_000);

  it('rectangle scissors (background only + range) and freehand (inside segment 1) fill S ∩ mask', async () => {
    await page.locator('[data-testid="segment-2"]').click();
    await page.keyboard.press('r');
    const rect = async () => drag([await at('axial', 0.3, 0.35), await at('axial', 0.65, 0.65)]);
    const { free, before } = await freeEdit(rect);
    const bg = free.filter((i) => before[i] === 0);
    expect(bg.length).toBeGreaterThan(20);
    expect(free.some((i) => before[i] === 1), 'the rectangle covers segment 1 too').toBe(true);
    const r = midRange(bg);
    const got = await maskedEdit(rect, 'background', r);
    expect(got).toEqual(free.filter((i) => before[i] === 0 && inRange(i, r)));
    await page.locator('[data-testid="undo"]').click();
    await settledUnsaved(page);
    await save();

    await page.keyboard.press('f');
    const outline = async () => drag([await at('axial', 0.3, 0.35), await at('axial', 0.65, 0.35), await at('axial', 0.65, 0.65), await at('axial', 0.3, 0.65), await at('axial', 0.3, 0.36)]);
    const fh = await freeEdit(outline);
    expect(fh.free.filter((i) => fh.before[i] === 1).length, 'the outline holds segment 1').toBeGreaterThan(5);
    const got2 = await maskedEdit(outline, 'inside', null);
    expect(got2).toEqual(fh.free.filter((i) => fh.before[i] === 1));
    await page.locator('[data-testid="undo"]').click();
    await settledUnsaved(page);
    await save();
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-masked-freehand-1400x900.png') });
  }, 600_000);

  it('the slice flood fill with a range keeps the part of the free fill in range that connects to the click', async () => {
    await page.locator('[data-testid="segment-2"]').click();
    await page.keyboard.press('g');
    const fill = async () => page.mouse.click(...(await at('coronal', 0.5, 0.5)));
    // the fill changes nothing where the click is already the active segment: then use segment 1
    await fill();
    if ((await settledUnsaved(page, true)) > 0) {
      await page.locator('[data-testid="undo"]').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
    } else await page.locator('[data-testid="segment-1"]').click();
    const { free } = await freeEdit(fill);
    expect(free.length).toBeGreaterThan(50);
    const v = free.map((i) => image[i]).sort((a, b) => a - b);
    // drop the darkest 30 %: the rest of the fill breaks into pieces where dark voxels were. The
    // clicked voxel may be among the dark ones (then nothing is filled): then keep only those.
    const k = Math.floor(v.length * 0.3);
    let r: [number, number] = [v[k], v[v.length - 1] + 1];
    let got = await maskedEdit(fill, 'everywhere', r);
    if (got.length === 0) {
      r = [v[0] - 1, v[k - 1]];
      got = await maskedEdit(fill, 'everywhere', r);
    }
    const pieces = components(
      free.filter((i) => inRange(i, r)),
      shape,
    );
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((i) => inRange(i, r))).toBe(true);
    // exactly one whole piece: what the fill reached from the click through in-range voxels
    expect(pieces.some((p) => p.length === got.length && p.every((x, k) => x === got[k]))).toBe(true);
    await setMask('everywhere', null);
  }, 600_000);
});
