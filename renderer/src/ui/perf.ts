// Timing marks read by the viewer benchmark (tests/bench/bench-viewer.ts) through the Performance API.
export function perfMark(name: 'open-case' | 'first-frame' | 'stroke-painted'): void {
  performance.mark(`segloop:${name}`);
}
