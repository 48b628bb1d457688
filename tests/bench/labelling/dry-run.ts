// The strategies without a browser (`--dry-run`): the same plans applied to a label volume in
// memory (brush/eraser sweeps, contour fills, core's fill between slices), counted with the same
// rules as the page driver. What it reports is PLANNED, not measured: the browser run is the
// measurement; this shows what the plans cost on more cases than a loaded machine can drive.
import { fillBetweenSlices } from '../../../main/core/imaging/label-interpolation';
import { emptyCounts, type ActionCounts } from './cost-model';
import { applyStrokes, everyKth, meanDice, pathLength, planBrush, planCorrection, slicesWith, traceContours, type BrushStroke, type ContourStroke } from './plan';
import { CLASSES, type StrategyOptions } from './strategies';

class SimAnnotator {
  readonly counts: ActionCounts = emptyCounts();
  // the screen's state after calibration (see AnnotatorDriver.calibrate)
  private tool = 'brush';
  private segment = 2;
  private radius: number;
  slice: number;

  constructor(
    readonly labels: Uint8Array,
    readonly shape: readonly number[],
    start: number,
    readonly mmPerVoxel: number,
  ) {
    this.slice = start;
    this.radius = 1.5 * mmPerVoxel;
  }

  private view(k: number): Uint8Array {
    const [X, Y] = this.shape;
    return this.labels.subarray(k * X * Y, (k + 1) * X * Y);
  }

  private change<T>(now: T, want: T): boolean {
    if (now === want) return false;
    this.counts.toolChanges++;
    return true;
  }

  gotoSlice(k: number): void {
    this.counts.slicesScrolled += Math.abs(k - this.slice);
    this.slice = k;
    this.counts.sliceVisits++;
  }

  brush(s: BrushStroke, segment: number): void {
    if (this.change(this.tool, s.kind)) this.tool = s.kind;
    if (s.kind === 'brush' && this.change(this.segment, segment)) this.segment = segment;
    if (this.change(this.radius, s.radius * this.mmPerVoxel)) this.radius = s.radius * this.mmPerVoxel;
    applyStrokes(this.view(this.slice), this.shape[0], this.shape[1], [s], s.kind === 'eraser' ? 0 : segment);
    this.counts.strokes++;
    this.counts.strokeMm += pathLength(s.path) * this.mmPerVoxel;
  }

  contour(s: ContourStroke, segment: number): void {
    if (this.change(this.tool, 'freehand')) this.tool = 'freehand';
    if (this.change(this.segment, segment)) this.segment = segment;
    applyStrokes(this.view(this.slice), this.shape[0], this.shape[1], [s], segment);
    this.counts.strokes++;
    this.counts.contourPoints += s.path.length - 1;
    this.counts.strokeMm += pathLength(s.path) * this.mmPerVoxel;
  }

  selectSegment(s: number): void {
    if (this.change(this.segment, s)) this.segment = s;
  }
}

function travelOrder(slices: number[], from: number): number[] {
  const s = [...new Set(slices)].sort((a, b) => a - b);
  return s.length && Math.abs(from - s[0]) > Math.abs(from - s[s.length - 1]) ? s.reverse() : s;
}

function corrections(sim: SimAnnotator, ref: Uint8Array, shape: readonly number[], o: StrategyOptions): number {
  const [X, Y, Z] = shape;
  let rounds = 0;
  for (; rounds < o.maxRounds && meanDice(sim.labels, ref, CLASSES) < o.target; rounds++) {
    const errors: { k: number; n: number }[] = [];
    for (let k = 0; k < Z; k++) {
      let n = 0;
      for (let v = k * X * Y; v < (k + 1) * X * Y; v++) if (sim.labels[v] !== ref[v]) n++;
      if (n) errors.push({ k, n });
    }
    errors.sort((p, q) => q.n - p.n || p.k - q.k);
    const work = sim.labels.slice();
    const plans = new Map<number, ReturnType<typeof planCorrection>>();
    for (const { k } of errors) {
      if (meanDice(work, ref, CLASSES) >= o.target + 0.01) break;
      const slice = work.subarray(k * X * Y, (k + 1) * X * Y);
      const plan = planCorrection(slice, ref.subarray(k * X * Y, (k + 1) * X * Y), X, Y, CLASSES, o.radii);
      for (const p of plan) applyStrokes(slice, X, Y, p.strokes, p.segment);
      if (plan.length) plans.set(k, plan);
    }
    if (!plans.size) break;
    for (const k of travelOrder([...plans.keys()], sim.slice)) {
      sim.gotoSlice(k);
      for (const p of plans.get(k)!) for (const s of p.strokes) sim.brush(s, p.segment);
    }
    sim.counts.buttons++; // save
  }
  return rounds;
}

export interface DryResult {
  counts: ActionCounts;
  rounds: number;
  labels: Uint8Array;
}

/** Strategy a or b planned on an empty label, starting from the middle slice as the screen does. */
export async function dryRun(strategy: 'a' | 'b', ref: Uint8Array, shape: [number, number, number], spacing: [number, number, number], o: StrategyOptions): Promise<DryResult> {
  const [X, Y, Z] = shape;
  const sim = new SimAnnotator(new Uint8Array(ref.length), shape, Math.floor(Z / 2), spacing[0]);
  const refSlice = (k: number) => ref.subarray(k * X * Y, (k + 1) * X * Y);
  if (strategy === 'a') {
    const slices = [...new Set(CLASSES.flatMap((c) => slicesWith(ref, shape, c)))];
    for (const k of travelOrder(slices, sim.slice)) {
      sim.gotoSlice(k);
      for (const cls of CLASSES) {
        const target = Uint8Array.from(refSlice(k), (v) => (v === cls ? 1 : 0));
        if (!target.some((v) => v)) continue;
        const harmful = Uint8Array.from(refSlice(k), (v) => (v !== cls ? 1 : 0));
        for (const s of planBrush({ w: X, h: Y, data: target }, harmful, o.radii)) sim.brush(s, cls);
      }
    }
  } else {
    const chosen = new Map<number, number[]>();
    for (const cls of CLASSES) for (const k of everyKth(slicesWith(ref, shape, cls), o.k)) chosen.set(k, [...(chosen.get(k) ?? []), cls]);
    for (const k of travelOrder([...chosen.keys()], sim.slice)) {
      sim.gotoSlice(k);
      for (const cls of chosen.get(k)!) for (const c of traceContours({ w: X, h: Y, data: Uint8Array.from(refSlice(k), (v) => (v === cls ? 1 : 0)) })) sim.contour(c, cls);
    }
    sim.counts.toolChanges++; // the axis select
    for (const cls of CLASSES) {
      sim.selectSegment(cls);
      const r = await fillBetweenSlices(sim.labels, shape, spacing, cls, 2);
      sim.labels.set(r.labels);
      sim.counts.buttons += 2; // fill between slices, keep
    }
  }
  sim.counts.buttons++; // save
  const rounds = corrections(sim, ref, shape, o);
  return { counts: sim.counts, rounds, labels: sim.labels };
}

/** Strategy c planned: the accepted prediction, a check pass over every slice with the structure, corrections. */
export function dryRunCorrect(pred: Uint8Array, ref: Uint8Array, shape: [number, number, number], spacing: [number, number, number], o: StrategyOptions): DryResult {
  const sim = new SimAnnotator(pred.slice(), shape, Math.floor(shape[2] / 2), spacing[0]);
  sim.counts.buttons++; // accept in Review
  const slices = [...new Set(CLASSES.flatMap((c) => [...slicesWith(ref, shape, c), ...slicesWith(pred, shape, c)]))];
  for (const k of travelOrder(slices, sim.slice)) sim.gotoSlice(k);
  const rounds = corrections(sim, ref, shape, o);
  return { counts: sim.counts, rounds, labels: sim.labels };
}
