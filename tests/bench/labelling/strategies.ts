// The three fixed strategies of the scripted annotator (see docs/labelling-cost.md), each driven
// through the real Labelling screen, and the correction rounds they share: read the saved version
// from the project, fix the slices that differ most from the reference until the planned Dice
// reaches the target, save again.
import type { Page } from 'playwright-core';
import { readNifti } from '../../../main/core/imaging/nifti';
import { ProjectStore } from '../../../main/core/project';
import { AnnotatorDriver } from './page-driver';
import { applyStrokes, everyKth, meanDice, planBrush, planCorrection, slicesWith, traceContours, type BrushStroke } from './plan';

export const CLASSES = [1, 2] as const;

export interface StrategyOptions {
  target: number;
  k: number;
  /** brush radii in voxels: the big one first */
  radii: number[];
  maxRounds: number;
}

export interface CaseContext {
  dir: string;
  imageId: string;
  shape: [number, number, number];
  spacing: [number, number, number];
  ref: Uint8Array;
}

/** The newest saved label of the image, read from the project (never from the page). */
export async function latestLabel(c: CaseContext): Promise<{ id: string; labels: Uint8Array; voxelsChanged: number | null }> {
  const store = await ProjectStore.open(c.dir, { readOnly: true });
  try {
    const v = store.labelVersions.latestPerImage().find((x) => String(x.imageId) === c.imageId);
    if (!v) return { id: '', labels: new Uint8Array(c.ref.length), voxelsChanged: null };
    const vol = await readNifti(await store.resolve(v.path));
    return { id: String(v.id), labels: Uint8Array.from(vol.data), voxelsChanged: v.voxelsChanged ?? null };
  } finally {
    store.close();
  }
}

export async function waitStatus(page: Page, re: RegExp, timeout = 120_000): Promise<string> {
  const h = await page.waitForFunction(
    ([src, flags]) => {
      const t = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      return new RegExp(src, flags).test(t) ? t : null;
    },
    [re.source, re.flags] as const,
    { timeout, polling: 200 },
  );
  return (await h.jsonValue()) as string;
}

/** Opens the case in Labelling from the Cases screen and waits for its first frame. */
export async function openLabelling(page: Page, imageId: string): Promise<void> {
  if ((await page.locator('[data-testid="cases-screen"]').count()) === 0) await page.locator('a[href="#/cases"]').first().click();
  await page.waitForSelector(`[data-testid="case-row-${imageId}"]`, { timeout: 120_000 });
  await page.evaluate(() => performance.clearMarks());
  await page.locator(`[data-testid="case-row-${imageId}"]`).click();
  await page.waitForFunction(() => performance.getEntriesByName('segloop:first-frame').length > 0, null, { timeout: 120_000 });
  await waitStatus(page, /Version|No label/);
}

export async function save(d: AnnotatorDriver): Promise<void> {
  await d.settle((n) => n > 0, 'strokes before saving');
  await d.click('save');
  await waitStatus(d.page, /Saved version/);
}

function sliceView(vol: Uint8Array, shape: readonly number[], k: number): Uint8Array {
  const [X, Y] = shape;
  return vol.subarray(k * X * Y, (k + 1) * X * Y);
}

/** Slices from the current one outwards in one sweep: nearest end first, then across. */
function travelOrder(slices: number[], from: number): number[] {
  const s = [...new Set(slices)].sort((a, b) => a - b);
  if (s.length === 0) return s;
  return Math.abs(from - s[0]) <= Math.abs(from - s[s.length - 1]) ? s : s.reverse();
}

async function runBrushPlan(d: AnnotatorDriver, plan: { segment: number; strokes: BrushStroke[] }[]): Promise<void> {
  for (const p of plan) for (const s of p.strokes) await d.brushStroke(s, p.segment);
}

/**
 * Correction rounds: from the saved version, pick slices by number of wrong voxels (most first)
 * and plan eraser + brush on them until the planned mean Dice reaches target + 0.01; paint them
 * in slice order; save; repeat while the saved Dice is under the target.
 */
export async function correctToTarget(d: AnnotatorDriver, c: CaseContext, o: StrategyOptions): Promise<number> {
  const [X, Y, Z] = c.shape;
  let rounds = 0;
  for (; rounds < o.maxRounds; rounds++) {
    const cur = (await latestLabel(c)).labels;
    if (meanDice(cur, c.ref, CLASSES) >= o.target) break;
    const errors: { k: number; n: number }[] = [];
    for (let k = 0; k < Z; k++) {
      let n = 0;
      const a = sliceView(cur, c.shape, k);
      const b = sliceView(c.ref, c.shape, k);
      for (let v = 0; v < a.length; v++) if (a[v] !== b[v]) n++;
      if (n > 0) errors.push({ k, n });
    }
    errors.sort((p, q) => q.n - p.n || p.k - q.k);
    const work = cur.slice();
    const plans = new Map<number, { segment: number; strokes: BrushStroke[] }[]>();
    for (const { k } of errors) {
      if (meanDice(work, c.ref, CLASSES) >= o.target + 0.01) break;
      const slice = sliceView(work, c.shape, k);
      const plan = planCorrection(slice, sliceView(c.ref, c.shape, k), X, Y, CLASSES, o.radii);
      if (plan.length === 0) continue;
      for (const p of plan) applyStrokes(slice, X, Y, p.strokes, p.segment);
      plans.set(k, plan);
    }
    if (plans.size === 0) break;
    for (const k of travelOrder([...plans.keys()], d.slice)) {
      await d.gotoSlice(k);
      await runBrushPlan(d, plans.get(k)!);
    }
    await save(d);
  }
  return rounds;
}

/** (a) The brush on every slice holding the structure: per slice and class, big brush inside, small brush at the edge. */
export async function strategyBrush(d: AnnotatorDriver, c: CaseContext, o: StrategyOptions): Promise<number> {
  const [X, Y] = c.shape;
  const slices = [...new Set(CLASSES.flatMap((cls) => slicesWith(c.ref, c.shape, cls)))];
  for (const k of travelOrder(slices, d.slice)) {
    await d.gotoSlice(k);
    const ref = sliceView(c.ref, c.shape, k);
    for (const cls of CLASSES) {
      const target = Uint8Array.from(ref, (v) => (v === cls ? 1 : 0));
      if (!target.some((v) => v)) continue;
      const harmful = Uint8Array.from(ref, (v) => (v !== cls ? 1 : 0));
      await runBrushPlan(d, [{ segment: cls, strokes: planBrush({ w: X, h: Y, data: target }, harmful, o.radii) }]);
    }
  }
  await save(d);
  return correctToTarget(d, c, o);
}

/** (b) Freehand contours on every k-th slice of each class, fill between slices (preview, Keep), then corrections. */
export async function strategyContours(d: AnnotatorDriver, c: CaseContext, o: StrategyOptions): Promise<number> {
  const [X, Y] = c.shape;
  const chosen = new Map<number, number[]>();
  for (const cls of CLASSES) for (const k of everyKth(slicesWith(c.ref, c.shape, cls), o.k)) chosen.set(k, [...(chosen.get(k) ?? []), cls]);
  for (const k of travelOrder([...chosen.keys()], d.slice)) {
    await d.gotoSlice(k);
    const ref = sliceView(c.ref, c.shape, k);
    for (const cls of chosen.get(k)!) {
      for (const contour of traceContours({ w: X, h: Y, data: Uint8Array.from(ref, (v) => (v === cls ? 1 : 0)) })) await d.contour(contour, cls);
    }
    await d.settle(() => true, `contours on slice ${k}`);
  }
  await d.page.locator('[data-testid="op-interp-axis"]').selectOption('2');
  d.counts.toolChanges++;
  for (const cls of CLASSES) {
    await d.selectSegment(cls);
    const before = await d.unsaved();
    await d.click('op-interpolate');
    // a preview when voxels were added; otherwise the status line says so
    await d.page.waitForFunction(() => !!document.querySelector('[data-testid="op-preview"]') || /Filled between slices|failed/.test(document.body.textContent ?? ''), null, { timeout: 180_000 });
    if (await d.page.locator('[data-testid="op-preview"]').count()) {
      await d.click('op-preview-keep');
      await d.settle((n) => n > before, `fill between slices of segment ${cls}`);
    }
  }
  await save(d);
  return correctToTarget(d, c, o);
}

/** (c) The model's prediction accepted in Review, then corrected in Labelling where it differs most. */
export async function strategyCorrectPrediction(d: AnnotatorDriver, c: CaseContext, o: StrategyOptions): Promise<number> {
  // the annotator checks every slice where the prediction or the reference has the structure
  const start = (await latestLabel(c)).labels;
  const slices = [...new Set(CLASSES.flatMap((cls) => [...slicesWith(c.ref, c.shape, cls), ...slicesWith(start, c.shape, cls)]))];
  for (const k of travelOrder(slices, d.slice)) await d.gotoSlice(k);
  return correctToTarget(d, c, o);
}
