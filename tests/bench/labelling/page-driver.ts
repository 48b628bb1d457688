/// <reference lib="dom" />
// The scripted annotator's hands: real mouse and keyboard on the Labelling screen (stable
// data-testid selectors only), counting every action for the cost model. Voxel (i, j) of the
// axial slice on screen is mapped to a pixel by a calibration done once per case the way a user
// would find their bearings: four brush dots, read back from the project's draft (the app saves
// unsaved strokes as a draft 2 s after the last edit), fitted to an affine map, then undone.
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { emptyCounts, type ActionCounts } from './cost-model';
import { densify, pathLength, type BrushStroke, type ContourStroke, type Pt } from './plan';

type Tool = 'brush' | 'eraser' | 'freehand';
const TOOL_KEY: Record<Tool, string> = { brush: 'b', eraser: 'e', freehand: 'f' };

export interface Calibration {
  /** screen pixel = [a * i + b * j + c, d * i + e * j + f] */
  affine: [number, number, number, number, number, number];
  /** pixels per voxel (mean of the two axes) */
  pxPerVoxel: number;
  /** slice index change per wheel notch down (deltaY > 0) */
  kPerNotch: number;
}

export class AnnotatorDriver {
  readonly counts: ActionCounts = emptyCounts();
  private tool: Tool | null = null;
  private segment = 0;
  private radius = 0;
  slice = -1;
  private cal: Calibration | null = null;
  private box = { x: 0, y: 0, width: 0, height: 0 };
  private readonly t0 = Date.now();

  constructor(
    readonly page: Page,
    readonly imageId: string,
    readonly shape: readonly number[],
    readonly spacingMm: number,
  ) {}

  async unsaved(): Promise<number> {
    const text = (await this.page.locator('[data-testid="unsaved"]').textContent({ timeout: 500 }).catch(() => null)) ?? '0';
    return Number(/(\d+)/.exec(text)?.[1] ?? 0);
  }

  /** Waits until the unsaved count has stopped changing (every stroke applied) and returns it. */
  async settle(accept: (n: number) => boolean = () => true, what = 'the edits'): Promise<number> {
    const deadline = Date.now() + 120_000;
    let last = -1;
    let since = Date.now();
    for (;;) {
      const n = await this.unsaved();
      if (n !== last) {
        last = n;
        since = Date.now();
      } else if (accept(n) && Date.now() - since >= 400) return n;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (unsaved count ${n})`);
      await this.page.waitForTimeout(80);
    }
  }

  private async refreshBox(): Promise<void> {
    const b = await this.page.locator('[data-testid="viewport-axial"]').boundingBox();
    if (!b) throw new Error('the axial viewport has no box');
    this.box = b;
  }

  // Tools, segments and the brush size change with the screen's keyboard shortcuts, as a practised
  // user does (and one key press is far cheaper than a located click on a loaded machine). Keys are
  // ignored while a form field has the focus, so it is dropped first.
  private async key(k: string): Promise<void> {
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur?.());
    await this.page.keyboard.press(k);
  }

  async selectTool(t: Tool): Promise<void> {
    if (this.tool === t) return;
    await this.key(TOOL_KEY[t]);
    this.tool = t;
    this.counts.toolChanges++;
  }

  async selectSegment(s: number): Promise<void> {
    if (this.segment === s) return;
    await this.key(String(s));
    this.segment = s;
    this.counts.toolChanges++;
  }

  /** Brush radius in mm with [ and ] (0.5 mm per press). */
  async setRadius(mm: number): Promise<void> {
    if (this.radius === mm) return;
    const presses = Math.round((mm - this.radius) / 0.5);
    for (let n = 0; n < Math.abs(presses); n++) await this.key(presses > 0 ? ']' : '[');
    this.radius = mm;
    this.counts.toolChanges++;
  }

  /** The brush radius the screen shows (mm). */
  async shownRadius(): Promise<number> {
    return Number(await this.page.locator('[data-testid="brush-size"]').inputValue());
  }

  private toScreen(p: Pt): [number, number] {
    const [a, b, c, d, e, f] = this.cal!.affine;
    return [this.box.x + a * p[0] + b * p[1] + c, this.box.y + d * p[0] + e * p[1] + f];
  }

  private async wheel(notches: number): Promise<void> {
    await this.page.mouse.move(this.box.x + this.box.width * 0.5, this.box.y + this.box.height * 0.08);
    for (let n = 0; n < Math.abs(notches); n++) {
      await this.page.mouse.wheel(0, notches > 0 ? 100 : -100);
      await this.page.waitForTimeout(25);
    }
  }

  /** Scrolls the axial view to slice k with the wheel and counts it as a visit. */
  async gotoSlice(k: number): Promise<void> {
    if (!this.cal) throw new Error('calibrate first');
    if (k !== this.slice) {
      const notches = (k - this.slice) / this.cal.kPerNotch;
      if (!Number.isInteger(notches)) throw new Error(`slice ${k} is not reachable from ${this.slice} in whole wheel notches`);
      await this.wheel(notches);
      this.counts.slicesScrolled += Math.abs(k - this.slice);
      this.slice = k;
    }
    this.counts.sliceVisits++;
    if (process.env.SEGLOOP_BENCH_VERBOSE) process.stderr.write(`    slice ${k}: ${this.counts.strokes} strokes so far, ${((Date.now() - this.t0) / 1000).toFixed(0)} s\n`);
  }

  /** One drag with the brush or eraser along a voxel path, pointer events every 1/3 voxel. */
  async brushStroke(s: BrushStroke, segment: number): Promise<void> {
    await this.selectTool(s.kind);
    if (s.kind === 'brush') await this.selectSegment(segment);
    await this.setRadius(s.radius * this.spacingMm);
    // pointer events every half voxel: the brush circle (radius >= 1 voxel) leaves no gap between them
    const pts = densify(s.path, 0.5).map((p) => this.toScreen(p));
    await this.page.mouse.move(...pts[0]);
    await this.page.mouse.down();
    // a dot: a tiny wiggle, so the drag has a move like a real hand makes
    if (pts.length === 1) await this.page.mouse.move(pts[0][0] + 0.5, pts[0][1]);
    for (const p of pts.slice(1)) await this.page.mouse.move(p[0], p[1]);
    await this.page.mouse.up();
    this.counts.strokes++;
    this.counts.strokeMm += pathLength(s.path) * this.spacingMm;
  }

  /** One closed freehand contour through the corner points, a pointer event at least every 2 voxels. */
  async contour(s: ContourStroke, segment: number): Promise<void> {
    await this.selectTool('freehand');
    await this.selectSegment(segment);
    const pts = densify(s.path, 2).map((p) => this.toScreen(p));
    await this.page.mouse.move(...pts[0]);
    await this.page.mouse.down();
    for (const p of pts.slice(1)) await this.page.mouse.move(p[0], p[1]);
    await this.page.mouse.up();
    this.counts.strokes++;
    this.counts.contourPoints += s.path.length - 1;
    this.counts.strokeMm += pathLength(s.path) * this.spacingMm;
  }

  async click(testId: string): Promise<void> {
    await this.page.locator(`[data-testid="${testId}"]`).click();
    this.counts.buttons++;
  }

  /** The project's draft of this case once it holds `changed` voxels (fetched by the page with its own token). */
  private async draftWith(changed: number): Promise<Uint8Array> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = (await this.page.evaluate(async (imageId) => {
        const res = await fetch('/api/labels:draftGet', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify({ imageId }) });
        return res.json();
      }, this.imageId)) as { ok: boolean; value?: { draft: { changedVoxels: number } | null; voxelsGzBase64: string | null } };
      if (r.ok && r.value?.draft?.changedVoxels === changed && r.value.voxelsGzBase64) {
        return new Uint8Array(zlib.gunzipSync(Buffer.from(r.value.voxelsGzBase64, 'base64')));
      }
      if (Date.now() > deadline) throw new Error(`no draft with ${changed} changed voxels within 60 s`);
      await this.page.waitForTimeout(300);
    }
  }

  /**
   * Finds which voxel is under which pixel: dots of segment 1 and 2 on the slice shown, one wheel
   * notch, two more dots; their centroids in the draft give the map and the slice step. The dots
   * are then undone (not counted: a user knows the screen). `base` is the label the case opened with.
   */
  async calibrate(base: Uint8Array): Promise<Calibration> {
    await this.refreshBox();
    const { width: W, height: H } = this.box;
    // the screen opens with the brush at its default radius; calibrate with 1.5 voxels
    const radiusMm = 1.5 * this.spacingMm;
    await this.key('b');
    this.radius = await this.shownRadius();
    await this.setRadius(radiusMm);
    if ((await this.shownRadius()) !== radiusMm) throw new Error(`the brush radius did not follow [ and ] (shows ${await this.shownRadius()} mm, wanted ${radiusMm})`);
    const dot = async (seg: number, fx: number, fy: number): Promise<[number, number]> => {
      await this.key(String(seg));
      const x = this.box.x + W * fx;
      const y = this.box.y + H * fy;
      await this.page.mouse.move(x, y);
      await this.page.mouse.down();
      await this.page.mouse.move(x + 0.5, y);
      await this.page.mouse.up();
      return [W * fx, H * fy];
    };
    const screen: [number, number][] = [];
    screen.push(await dot(1, 0.4, 0.42));
    screen.push(await dot(2, 0.6, 0.45));
    const n1 = await this.settle((n) => n > 0, 'the calibration dots');
    const d1 = await this.draftWith(n1);
    await this.wheel(1);
    screen.push(await dot(1, 0.58, 0.6));
    screen.push(await dot(2, 0.42, 0.57));
    const n2 = await this.settle((n) => n > n1, 'the second calibration dots');
    const d2 = await this.draftWith(n2);
    const [X, Y] = this.shape;
    const blob = (lab: Uint8Array, ref: Uint8Array, seg: number, skip?: Uint8Array): { i: number; j: number; k: number } => {
      let si = 0;
      let sj = 0;
      let sk = 0;
      let m = 0;
      for (let n = 0; n < lab.length; n++) {
        if (lab[n] !== seg || ref[n] === seg || (skip && skip[n] === seg)) continue;
        const i = n % X;
        const j = Math.floor(n / X) % Y;
        const k = Math.floor(n / (X * Y));
        si += i;
        sj += j;
        sk += k;
        m++;
      }
      if (m === 0) {
        const hist: Record<number, number> = {};
        for (let n = 0; n < lab.length; n++) if (lab[n] !== ref[n]) hist[lab[n]] = (hist[lab[n]] ?? 0) + 1;
        throw new Error(`calibration: no dot of segment ${seg} found in the draft (changed voxels by value: ${JSON.stringify(hist)})`);
      }
      return { i: si / m, j: sj / m, k: Math.round(sk / m) };
    };
    const b = [blob(d1, base, 1), blob(d1, base, 2), blob(d2, base, 1, d1), blob(d2, base, 2, d1)];
    const kPerNotch = b[2].k - b[0].k;
    if (kPerNotch === 0) throw new Error('calibration: the wheel did not change the slice');
    const affine = fitAffine(b.map((p) => [p.i, p.j] as Pt), screen);
    const pxPerVoxel = (Math.hypot(affine[0], affine[3]) + Math.hypot(affine[1], affine[4])) / 2;
    this.cal = { affine, pxPerVoxel, kPerNotch };
    this.slice = b[2].k;
    for (let n = 0; n < 4; n++) await this.page.keyboard.press('Control+z');
    await this.settle((n) => n === 0, 'undoing the calibration dots');
    // the screen's tool state after calibration: brush, segment 2, radius 1.5 voxels (not counted)
    this.tool = 'brush';
    this.segment = 2;
    Object.assign(this.counts, emptyCounts());
    return this.cal;
  }
}

/** Least-squares affine map from voxel (i, j) to screen (x, y) over at least 3 point pairs. */
export function fitAffine(src: readonly Pt[], dst: readonly Pt[]): [number, number, number, number, number, number] {
  // normal equations of [i j 1] * [a b c]^T = x (and the same for y)
  const A = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const bx = [0, 0, 0];
  const by = [0, 0, 0];
  src.forEach((p, n) => {
    const r = [p[0], p[1], 1];
    for (let u = 0; u < 3; u++) {
      for (let v = 0; v < 3; v++) A[u][v] += r[u] * r[v];
      bx[u] += r[u] * dst[n][0];
      by[u] += r[u] * dst[n][1];
    }
  });
  const sx = solve3(A, bx);
  const sy = solve3(A, by);
  return [sx[0], sx[1], sx[2], sy[0], sy[1], sy[2]];
}

function solve3(A: number[][], b: number[]): number[] {
  const M = A.map((row, n) => [...row, b[n]]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    if (Math.abs(M[c][c]) < 1e-12) throw new Error('calibration points are collinear');
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k < 4; k++) M[r][k] -= f * M[c][k];
    }
  }
  return [M[0][3] / M[0][0], M[1][3] / M[1][1], M[2][3] / M[2][2]];
}
