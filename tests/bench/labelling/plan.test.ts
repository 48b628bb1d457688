// The scripted annotator's planning, without a browser: brush strokes cover a mask and avoid what
// they must not touch, contours traced along voxel edges fill back to the mask, corrections move
// a wrong label towards the reference, and the cost model adds up what it says.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../../main/core/imaging/nifti';
import { HIPPOCAMPUS } from '../../data-root';
import { COST_MODEL, simulatedSeconds, type ActionCounts } from './cost-model';
import { applyStrokes, count, dice, everyKth, fillPolygon, planBrush, planCorrection, sliceOf, slicesWith, stampOffsets, sweep, traceContours, type SliceMask } from './plan';

function ellipse(w: number, h: number, cx: number, cy: number, rx: number, ry: number): SliceMask {
  const data = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) data[i + w * j] = ((i - cx) / rx) ** 2 + ((j - cy) / ry) ** 2 <= 1 ? 1 : 0;
  return { w, h, data };
}

function overlap(a: Uint8Array, b: Uint8Array): { inter: number; onlyA: number; onlyB: number } {
  let inter = 0;
  let onlyA = 0;
  let onlyB = 0;
  for (let n = 0; n < a.length; n++) {
    if (a[n] && b[n]) inter++;
    else if (a[n]) onlyA++;
    else if (b[n]) onlyB++;
  }
  return { inter, onlyA, onlyB };
}

describe('scripted annotator planning', () => {
  it('stamps and sweeps paint the voxels whose centres the brush circle reaches', () => {
    expect(stampOffsets(0.5)).toHaveLength(1);
    expect(stampOffsets(1)).toHaveLength(5);
    expect(stampOffsets(1.5)).toHaveLength(9);
    expect(stampOffsets(2)).toHaveLength(13);
    // a horizontal drag of radius 1 from (2,2) to (6,2): rows 1..3 between the ends, plus the tips
    const s = sweep([[2, 2], [6, 2]], 1, 10, 5);
    expect(count(s)).toBe(5 * 3 + 2);
    expect(s[1 + 10 * 2]).toBe(1);
    expect(s[1 + 10 * 1]).toBe(0);
  });

  it('brush strokes cover an ellipse closely and the big brush never touches forbidden voxels', () => {
    const m = ellipse(40, 40, 19.3, 20.1, 9.5, 6.2);
    // forbid a band right of the ellipse (another segment, say)
    const harmful = Uint8Array.from(m.data, (v, n) => (!v && n % 40 > 28 ? 1 : 0));
    const strokes = planBrush(m, harmful, [2, 1]);
    const painted = new Uint8Array(m.data.length);
    applyStrokes(painted, 40, 40, strokes, 1);
    const o = overlap(painted, m.data);
    const d = (2 * o.inter) / (2 * o.inter + o.onlyA + o.onlyB);
    expect(d).toBeGreaterThan(0.93);
    // the big brush never touches them; the small one only where it gains more than it harms
    const big = new Uint8Array(m.data.length);
    applyStrokes(big, 40, 40, strokes.filter((s) => s.radius === 2), 1);
    expect(overlap(big, harmful).inter).toBe(0);
    expect(overlap(painted, harmful).inter).toBeLessThan(count(m.data) * 0.03);
    // chained: fewer drags than brush positions
    const positions = strokes.reduce((n, s) => n + s.path.length, 0);
    expect(strokes.length).toBeLessThan(positions * 0.75);
    expect(new Set(strokes.map((s) => s.radius))).toEqual(new Set([2, 1]));
  });

  it('contours along voxel edges fill back to the mask, one per 4-connected piece, diagonal pieces apart', () => {
    const m = ellipse(30, 30, 12, 14, 7, 4);
    // a second piece touching the first only... and a diagonal pair
    m.data[25 + 30 * 25] = 1;
    m.data[26 + 30 * 26] = 1;
    const contours = traceContours(m);
    expect(contours).toHaveLength(3);
    const filled = new Uint8Array(m.data.length);
    for (const c of contours) {
      expect(c.path[0]).toEqual(c.path[c.path.length - 1]);
      const f = fillPolygon(c.path, 30, 30);
      for (let n = 0; n < f.length; n++) if (f[n]) filled[n] = 1;
    }
    expect(overlap(filled, m.data)).toEqual({ inter: count(m.data), onlyA: 0, onlyB: 0 });
  });

  it('on a real hippocampus label: contours reproduce every slice, every-k-th keeps the ends', async () => {
    const ref = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
    const lab = Uint8Array.from(ref.data);
    const zs = slicesWith(lab, ref.shape, 1);
    expect(zs.length).toBeGreaterThan(5);
    const kept = everyKth(zs, 3);
    expect(kept[0]).toBe(zs[0]);
    expect(kept.at(-1)).toBe(zs.at(-1));
    expect(kept.length).toBe(Math.ceil(zs.length / 3) + ((zs.length - 1) % 3 === 0 ? 0 : 1));
    for (const k of zs) {
      const m = sliceOf(lab, ref.shape, k, (v) => v === 1);
      const filled = new Uint8Array(m.data.length);
      for (const c of traceContours(m)) applyStrokes(filled, m.w, m.h, [c], 1);
      const o = overlap(filled, m.data);
      // holes inside a piece are the only voxels a filled outline may add
      expect(o.onlyA).toBe(0);
      expect(o.inter + o.onlyA).toBeGreaterThanOrEqual(count(m.data));
    }
  });

  it('a correction moves a wrong slice towards the reference and erases before painting', () => {
    const w = 30;
    const ref = new Uint8Array(w * w);
    const a = ellipse(w, w, 12, 12, 6, 5).data;
    const b = ellipse(w, w, 20, 13, 3, 4).data;
    for (let n = 0; n < ref.length; n++) ref[n] = b[n] ? 2 : a[n] ? 1 : 0;
    // the "prediction": class 1 shifted by 3 voxels, class 2 missing
    const cur = new Uint8Array(w * w);
    const shifted = ellipse(w, w, 9, 12, 6, 5).data;
    for (let n = 0; n < cur.length; n++) cur[n] = shifted[n] ? 1 : 0;
    const before = (dice(cur, ref, 1) + dice(cur, ref, 2)) / 2;
    const plan = planCorrection(cur, ref, w, w, [1, 2], [2, 1]);
    expect(plan[0].segment).toBe(0);
    expect(plan[0].strokes.every((s) => s.kind === 'eraser')).toBe(true);
    expect(plan.map((p) => p.segment)).toEqual([0, 1, 2]);
    const after = cur.slice();
    for (const p of plan) applyStrokes(after, w, w, p.strokes, p.segment);
    const d = (dice(after, ref, 1) + dice(after, ref, 2)) / 2;
    expect(before).toBeLessThan(0.5);
    expect(d).toBeGreaterThan(0.9);
  });

  it('the cost model charges each action its documented price', () => {
    const n: ActionCounts = { strokes: 10, strokeMm: 200, contourPoints: 0, sliceVisits: 4, slicesScrolled: 12, toolChanges: 3, buttons: 2 };
    const s = simulatedSeconds(n);
    const want =
      10 * COST_MODEL.strokeS + 200 * COST_MODEL.perMmS + 4 * COST_MODEL.sliceVisitS + 12 * COST_MODEL.perSliceScrolledS + 3 * COST_MODEL.toolChangeS + 2 * COST_MODEL.buttonS;
    expect(s).toBeCloseTo(want, 9);
    expect(simulatedSeconds({ ...n, strokes: 11 }) - s).toBeCloseTo(COST_MODEL.strokeS, 9);
  });
});
