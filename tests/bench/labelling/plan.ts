// Pure planning for the scripted annotator: which strokes a user who knows the reference label
// would draw on one slice. Everything here works in voxel coordinates of one axial (k) slice,
// (i, j) = (column, row) with i fastest, exactly as the NIfTI data is laid out; the browser
// driver maps these points to the screen. No DOM, no project: unit-tested in plan.test.ts.

/** A binary mask of one slice: w x h, index i + w * j. */
export interface SliceMask {
  w: number;
  h: number;
  data: Uint8Array;
}

export type Pt = [number, number];

/** One drag of the brush/eraser: the pointer path in voxel coordinates and the brush radius. */
export interface BrushStroke {
  kind: 'brush' | 'eraser';
  radius: number;
  path: Pt[];
}

/** One closed freehand contour (voxel coordinates; the last point equals the first). */
export interface ContourStroke {
  kind: 'contour';
  path: Pt[];
}

export function sliceOf(vol: ArrayLike<number>, shape: readonly number[], k: number, pred: (v: number) => boolean): SliceMask {
  const [X, Y] = shape;
  const data = new Uint8Array(X * Y);
  const off = k * X * Y;
  for (let n = 0; n < X * Y; n++) data[n] = pred(vol[off + n]) ? 1 : 0;
  return { w: X, h: Y, data };
}

export function count(m: Uint8Array): number {
  let n = 0;
  for (const v of m) n += v ? 1 : 0;
  return n;
}

/** Voxel offsets whose centres lie within `radius` of a voxel centre (the brush's footprint). */
export function stampOffsets(radius: number): Pt[] {
  const out: Pt[] = [];
  const R = Math.floor(radius);
  for (let dj = -R; dj <= R; dj++) for (let di = -R; di <= R; di++) if (di * di + dj * dj <= radius * radius + 1e-9) out.push([di, dj]);
  return out;
}

/** Voxels whose centres lie within `radius` of any point of a path sampled every 0.25 voxel. */
export function sweep(path: readonly Pt[], radius: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const stamp = (x: number, y: number): void => {
    const r2 = radius * radius + 1e-9;
    for (let j = Math.max(0, Math.ceil(y - radius)); j <= Math.min(h - 1, Math.floor(y + radius)); j++) {
      for (let i = Math.max(0, Math.ceil(x - radius)); i <= Math.min(w - 1, Math.floor(x + radius)); i++) {
        if ((i - x) ** 2 + (j - y) ** 2 <= r2) out[i + w * j] = 1;
      }
    }
  };
  for (const p of densify(path, 0.25)) stamp(p[0], p[1]);
  return out;
}

/** The path with extra points so that consecutive points are at most `step` apart. */
export function densify(path: readonly Pt[], step: number): Pt[] {
  if (path.length === 0) return [];
  const out: Pt[] = [path[0]];
  for (let n = 1; n < path.length; n++) {
    const [x0, y0] = path[n - 1];
    const [x1, y1] = path[n];
    const parts = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / step));
    for (let s = 1; s <= parts; s++) out.push([x0 + ((x1 - x0) * s) / parts, y0 + ((y1 - y0) * s) / parts]);
  }
  return out;
}

export function pathLength(path: readonly Pt[]): number {
  let l = 0;
  for (let n = 1; n < path.length; n++) l += Math.hypot(path[n][0] - path[n - 1][0], path[n][1] - path[n - 1][1]);
  return l;
}

/**
 * Brush strokes that cover `target` on a slice without touching `harmful` voxels, the way a
 * careful user paints: first a big brush (`radii[0]`) wherever its whole footprint avoids harmful
 * voxels, then each smaller brush greedily where it covers more target voxels than it harms
 * (gain = new target voxels - harmful voxels; a voxel that is neither is free). Centres sit on
 * voxel centres; centres of one pass are chained into one drag while the straight sweep between
 * neighbours (at most 2 radii + 2 voxels apart) harms nothing new.
 */
export function planBrush(target: SliceMask, harmful: Uint8Array, radii: readonly number[], kind: 'brush' | 'eraser' = 'brush'): BrushStroke[] {
  const { w, h } = target;
  const covered = new Uint8Array(w * h);
  const harmedAlready = new Uint8Array(w * h);
  const strokes: BrushStroke[] = [];
  radii.forEach((radius, pass) => {
    const offs = stampOffsets(radius);
    const strict = pass === 0 && radii.length > 1;
    const centres: Pt[] = [];
    for (;;) {
      let best = -1;
      let bestGain = 0;
      for (let c = 0; c < w * h; c++) {
        const ci = c % w;
        const cj = (c - ci) / w;
        let gain = 0;
        let harm = 0;
        for (const [di, dj] of offs) {
          const i = ci + di;
          const j = cj + dj;
          if (i < 0 || j < 0 || i >= w || j >= h) continue;
          const n = i + w * j;
          if (target.data[n] && !covered[n]) gain++;
          else if (harmful[n] && !harmedAlready[n]) harm++;
        }
        const score = strict ? (harm === 0 ? gain : 0) : gain - harm;
        // the big brush is only worth it where it covers more than the small one would
        if (strict && score < offs.length * 0.6) continue;
        if (score > bestGain) {
          bestGain = score;
          best = c;
        }
      }
      if (best < 0) break;
      const ci = best % w;
      const cj = (best - ci) / w;
      centres.push([ci, cj]);
      for (const [di, dj] of offs) {
        const i = ci + di;
        const j = cj + dj;
        if (i < 0 || j < 0 || i >= w || j >= h) continue;
        const n = i + w * j;
        if (target.data[n]) covered[n] = 1;
        else if (harmful[n]) harmedAlready[n] = 1;
      }
    }
    for (const path of chain(centres, radius, w, h, harmful, harmedAlready)) {
      strokes.push({ kind, radius, path });
      // the drag paints its whole sweep, more than the stamps at its centres
      const s = sweep(path, radius, w, h);
      for (let n = 0; n < s.length; n++) {
        if (!s[n]) continue;
        if (target.data[n]) covered[n] = 1;
        else if (harmful[n]) harmedAlready[n] = 1;
      }
    }
  });
  return strokes;
}

/** Orders centres into drags: nearest unvisited neighbour next, if the sweep there harms nothing new. */
function chain(centres: Pt[], radius: number, w: number, h: number, harmful: Uint8Array, allowed: Uint8Array): Pt[][] {
  const left = centres.slice().sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const out: Pt[][] = [];
  const harmsNew = (a: Pt, b: Pt): boolean => {
    const s = sweep([a, b], radius, w, h);
    for (let n = 0; n < s.length; n++) if (s[n] && harmful[n] && !allowed[n]) return true;
    return false;
  };
  while (left.length) {
    const path: Pt[] = [left.shift()!];
    for (;;) {
      const cur = path[path.length - 1];
      let best = -1;
      let bestD = Infinity;
      left.forEach((p, n) => {
        const d = Math.hypot(p[0] - cur[0], p[1] - cur[1]);
        if (d < bestD && d <= 2 * radius + 2 + 1e-9 && !harmsNew(cur, p)) {
          bestD = d;
          best = n;
        }
      });
      if (best < 0) break;
      path.push(left.splice(best, 1)[0]);
    }
    out.push(path);
  }
  return out;
}

/**
 * Outer outlines of the 4-connected pieces of a mask, along voxel edges (corners at half-integer
 * coordinates), collinear corners dropped. A contour through voxel edges encloses exactly the
 * centres of the piece's voxels, so filling it reproduces the piece (holes excepted).
 */
export function traceContours(mask: SliceMask): ContourStroke[] {
  const { w, h, data } = mask;
  const on = (i: number, j: number): boolean => i >= 0 && j >= 0 && i < w && j < h && data[i + w * j] === 1;
  // Directed boundary edges with the piece on the left (counter-clockwise in (i, j) with j down
  // this is clockwise on screen; the direction does not matter to a fill). Key: start corner.
  const edges = new Map<string, Pt[]>();
  const add = (a: Pt, b: Pt): void => {
    const k = `${a[0]},${a[1]}`;
    const list = edges.get(k) ?? [];
    list.push(b);
    edges.set(k, list);
  };
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      if (!on(i, j)) continue;
      const x0 = i - 0.5;
      const x1 = i + 0.5;
      const y0 = j - 0.5;
      const y1 = j + 0.5;
      if (!on(i, j - 1)) add([x0, y0], [x1, y0]);
      if (!on(i + 1, j)) add([x1, y0], [x1, y1]);
      if (!on(i, j + 1)) add([x1, y1], [x0, y1]);
      if (!on(i - 1, j)) add([x0, y1], [x0, y0]);
    }
  }
  const loops: Pt[][] = [];
  const take = (from: Pt, dirIn: Pt | null): Pt | null => {
    const k = `${from[0]},${from[1]}`;
    const list = edges.get(k);
    if (!list || list.length === 0) return null;
    let pick = 0;
    if (list.length > 1 && dirIn) {
      // a pinch (two pieces touching at a corner): turn towards the piece we are tracing, so
      // diagonal neighbours stay separate pieces, as 4-connectivity says
      let bestTurn = -Infinity;
      list.forEach((b, n) => {
        const d: Pt = [b[0] - from[0], b[1] - from[1]];
        const cross = dirIn[0] * d[1] - dirIn[1] * d[0];
        if (cross > bestTurn) {
          bestTurn = cross;
          pick = n;
        }
      });
    }
    const [b] = list.splice(pick, 1);
    if (list.length === 0) edges.delete(k);
    return b;
  };
  while (edges.size) {
    const startKey = edges.keys().next().value as string;
    const start = startKey.split(',').map(Number) as Pt;
    const loop: Pt[] = [start];
    let cur = start;
    let dir: Pt | null = null;
    for (;;) {
      const next = take(cur, dir);
      if (!next) break;
      dir = [next[0] - cur[0], next[1] - cur[1]];
      cur = next;
      if (cur[0] === start[0] && cur[1] === start[1]) break;
      loop.push(cur);
    }
    loops.push(loop);
  }
  const out: ContourStroke[] = [];
  for (const loop of loops) {
    // signed area in (i, j): outer outlines and holes have opposite signs; draw outer ones only
    let area = 0;
    for (let n = 0; n < loop.length; n++) {
      const a = loop[n];
      const b = loop[(n + 1) % loop.length];
      area += a[0] * b[1] - b[0] * a[1];
    }
    if (area <= 0) continue;
    const simple = loop.filter((p, n) => {
      const a = loop[(n + loop.length - 1) % loop.length];
      const b = loop[(n + 1) % loop.length];
      return (p[0] - a[0]) * (b[1] - p[1]) - (p[1] - a[1]) * (b[0] - p[0]) !== 0;
    });
    out.push({ kind: 'contour', path: [...simple, simple[0]] });
  }
  return out;
}

/** Voxels whose centres lie inside a closed polygon (even-odd rule), as a contour fill paints them. */
export function fillPolygon(path: readonly Pt[], w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      let inside = false;
      for (let a = 0, b = path.length - 1; a < path.length; b = a++) {
        const [xa, ya] = path[a];
        const [xb, yb] = path[b];
        if (ya > j !== yb > j && i < ((xb - xa) * (j - ya)) / (yb - ya) + xa) inside = !inside;
      }
      if (inside) out[i + w * j] = 1;
    }
  }
  return out;
}

/** Applies planned strokes to a label slice as the app would (brush writes `segment`, eraser 0). */
export function applyStrokes(labels: Uint8Array, w: number, h: number, strokes: readonly (BrushStroke | ContourStroke)[], segment: number): void {
  for (const s of strokes) {
    const m = s.kind === 'contour' ? fillPolygon(s.path, w, h) : sweep(s.path, s.radius, w, h);
    const value = s.kind === 'eraser' ? 0 : segment;
    for (let n = 0; n < m.length; n++) if (m[n]) labels[n] = value;
  }
}

/** Dice of class `c` between two label volumes (1 when both lack it). */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>, c: number): number {
  let inter = 0;
  let na = 0;
  let nb = 0;
  for (let n = 0; n < a.length; n++) {
    const x = a[n] === c;
    const y = b[n] === c;
    if (x) na++;
    if (y) nb++;
    if (x && y) inter++;
  }
  return na + nb === 0 ? 1 : (2 * inter) / (na + nb);
}

export function meanDice(a: ArrayLike<number>, b: ArrayLike<number>, classes: readonly number[]): number {
  return classes.reduce((s, c) => s + dice(a, b, c), 0) / classes.length;
}

/** Axial slices (k) on which `vol` has class `c`, ascending. */
export function slicesWith(vol: ArrayLike<number>, shape: readonly number[], c: number): number[] {
  const [X, Y, Z] = shape;
  const out: number[] = [];
  for (let k = 0; k < Z; k++) {
    for (let n = k * X * Y; n < (k + 1) * X * Y; n++) {
      if (vol[n] === c) {
        out.push(k);
        break;
      }
    }
  }
  return out;
}

/** Strategy b's slices: every k-th slice holding the class, always the first and the last. */
export function everyKth(slices: readonly number[], k: number): number[] {
  return slices.filter((_, n) => n % k === 0 || n === slices.length - 1);
}

/**
 * Correction strokes for one slice of the current label `cur` against the reference `ref`: the
 * eraser first on voxels labelled wrongly (erasing background is free; erasing a correct label
 * harms), then the brush per class on what is missing (painting over correct voxels harms).
 */
export function planCorrection(cur: Uint8Array, ref: Uint8Array, w: number, h: number, classes: readonly number[], radii: readonly number[]): { segment: number; strokes: BrushStroke[] }[] {
  const out: { segment: number; strokes: BrushStroke[] }[] = [];
  const work = cur.slice();
  const wrong = Uint8Array.from(work, (v, n) => (v !== 0 && v !== ref[n] ? 1 : 0));
  if (count(wrong) > 0) {
    const harmful = Uint8Array.from(work, (v, n) => (v !== 0 && v === ref[n] ? 1 : 0));
    const strokes = planBrush({ w, h, data: wrong }, harmful, radii, 'eraser');
    if (strokes.length) {
      out.push({ segment: 0, strokes });
      applyStrokes(work, w, h, strokes, 0);
    }
  }
  for (const c of classes) {
    const missing = Uint8Array.from(work, (v, n) => (ref[n] === c && v !== c ? 1 : 0));
    if (count(missing) === 0) continue;
    const harmful = Uint8Array.from(work, (v, n) => (v === ref[n] && v !== c ? 1 : 0));
    const strokes = planBrush({ w, h, data: missing }, harmful, radii, 'brush');
    if (strokes.length) {
      out.push({ segment: c, strokes });
      applyStrokes(work, w, h, strokes, c);
    }
  }
  return out;
}
