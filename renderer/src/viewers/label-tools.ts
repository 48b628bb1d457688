// The one table of labelling tools: the toolbar buttons, their tool tips, the keyboard shortcuts
// and the help overlays of Labelling and Review are all generated from it, so what a tool tip says
// a key does is what the key does (shortcuts.test.ts checks every row against the key handler).
import type { LabelTool } from './segmentation-viewer-service';

export interface ToolInfo {
  id: LabelTool;
  /** the toolbar button */
  label: string;
  /** one key, as shown (lower case is what the handler matches) */
  key: string;
  /** tool tip and help-overlay text */
  description: string;
  /** only in the three-view (MPR) layout */
  needs3D?: boolean;
}

export const LABEL_TOOLS: readonly ToolInfo[] = [
  { id: 'brush', label: 'Brush', key: 'B', description: 'Brush: paint a disc on the slice (Shift+wheel or [ ] for its size)' },
  { id: 'eraser', label: 'Eraser', key: 'E', description: 'Eraser: erase a disc on the slice' },
  { id: 'sphere', label: 'Sphere brush', key: 'S', description: 'Sphere brush: paint a ball of the brush radius in mm, across slices' },
  { id: 'sphereEraser', label: 'Sphere eraser', key: 'D', description: 'Sphere eraser: erase a ball of the brush radius in mm, across slices' },
  { id: 'threshold', label: 'Threshold brush', key: 'T', description: 'Threshold brush: paint only intensities inside the current window' },
  { id: 'rectangle', label: 'Rectangle scissors', key: 'R', description: 'Rectangle scissors: fill a rectangle on the slice' },
  { id: 'freehand', label: 'Freehand', key: 'F', description: 'Freehand contour: draw an outline, it is filled' },
  { id: 'fill', label: 'Flood fill (slice)', key: 'G', description: 'Flood fill of the clicked region on the slice' },
  { id: 'regionGrow', label: 'Region grow (3D)', key: 'V', description: 'Region growing from the clicked seed in 3D (intensity tolerance), shown as a preview to keep or discard' },
  { id: 'crosshairs', label: 'Crosshairs', key: 'C', description: 'Crosshairs: click to move the other views to that point', needs3D: true },
  { id: 'windowLevel', label: 'Window/level', key: 'W', description: 'Window/level: drag to change contrast' },
];

/** The tool bound to a (lower-cased) key, among `tools`. */
export function toolForKey(key: string, tools: readonly ToolInfo[] = LABEL_TOOLS): LabelTool | null {
  return tools.find((t) => t.key.toLowerCase() === key)?.id ?? null;
}

export function toolInfo(id: LabelTool): ToolInfo {
  const t = LABEL_TOOLS.find((x) => x.id === id);
  if (!t) throw new Error(`No tool ${id} in the tool table`);
  return t;
}

/** Tool tip of a toolbar button: what it does and its key. */
export function toolTip(t: ToolInfo): string {
  return `${t.description} (${t.key})`;
}

/** One row of a help overlay. */
export interface KeyRow {
  keys: string;
  description: string;
}

export const MOUSE_ROW: KeyRow = { keys: 'mouse', description: 'left: active tool · middle: pan · right: zoom · wheel: scroll slices · Shift+wheel: brush size' };
