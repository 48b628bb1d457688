// The cost model of the scripted annotator: what one action costs a user, in seconds. The
// numbers are a stated assumption (roughly what timing studies of slice-by-slice editing in
// ITK-SNAP / Slicer report for a practised annotator), not a measurement; every strategy is
// charged the same prices, so the comparison between strategies is what the benchmark shows.

export const COST_MODEL = {
  /** aim and press for one drag of the brush/eraser or one freehand contour */
  strokeS: 1.5,
  /** dragging along the path, per mm of pointer path on the image */
  perMmS: 0.08,
  /** looking at a slice one paints or checks: find the structure, judge the boundary */
  sliceVisitS: 2.0,
  /** scrolling, per slice passed with the wheel */
  perSliceScrolledS: 0.25,
  /** choosing a tool, a segment or a brush size */
  toolChangeS: 1.0,
  /** a button with a wait: fill between slices, keep, accept, save */
  buttonS: 2.0,
} as const;

export interface ActionCounts {
  strokes: number;
  /** pointer path length of all strokes and contours, mm */
  strokeMm: number;
  /** corners of all freehand contours (reported; the path length already prices them) */
  contourPoints: number;
  sliceVisits: number;
  slicesScrolled: number;
  toolChanges: number;
  buttons: number;
}

export function emptyCounts(): ActionCounts {
  return { strokes: 0, strokeMm: 0, contourPoints: 0, sliceVisits: 0, slicesScrolled: 0, toolChanges: 0, buttons: 0 };
}

export function simulatedSeconds(n: ActionCounts): number {
  const c = COST_MODEL;
  return n.strokes * c.strokeS + n.strokeMm * c.perMmS + n.sliceVisits * c.sliceVisitS + n.slicesScrolled * c.perSliceScrolledS + n.toolChanges * c.toolChangeS + n.buttons * c.buttonS;
}

export function describeCostModel(): string {
  const c = COST_MODEL;
  return [
    `stroke (brush, eraser or freehand contour) ${c.strokeS} s + ${c.perMmS} s per mm of pointer path`,
    `slice visited (painted or checked) ${c.sliceVisitS} s + ${c.perSliceScrolledS} s per slice scrolled`,
    `tool, segment or brush-size change ${c.toolChangeS} s`,
    `button with a wait (fill between slices, keep, accept, save) ${c.buttonS} s`,
  ].join('; ');
}
