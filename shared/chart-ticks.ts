// Axis ticks for the charts drawn by hand: the renderer's Evaluation screen (SVG in Vue) and the
// HTML/SVG report the CLI writes (main/core/evaluation/report-export.ts) use the same ticks, so
// the exported report and the screen show the same axes.

/** Tick values 0, step, 2·step… up to max with a 1/2/5 × 10^k step (integers when `integer`). */
export function niceTicks(max: number, target = 4, integer = false): number[] {
  const raw = Math.max(max, 1e-9) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}
