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
  /** what Masking (editable area + intensity range) does to this tool; absent: it ignores masking */
  masking?: string;
}

const PAINT_MASK = 'paints only in the editable area and the intensity range';
const ERASE_MASK = 'erases only inside segment X (background only: only the active segment) and only in the intensity range';

export const LABEL_TOOLS: readonly ToolInfo[] = [
  { id: 'brush', label: 'Brush', key: 'B', description: 'Brush: paint a disc on the slice (Shift+wheel or [ ] for its size)', masking: PAINT_MASK },
  { id: 'eraser', label: 'Eraser', key: 'E', description: 'Eraser: erase a disc on the slice', masking: ERASE_MASK },
  { id: 'sphere', label: 'Sphere brush', key: 'S', description: 'Sphere brush: paint a ball of the brush radius in mm, across slices', masking: PAINT_MASK },
  { id: 'sphereEraser', label: 'Sphere eraser', key: 'D', description: 'Sphere eraser: erase a ball of the brush radius in mm, across slices', masking: ERASE_MASK },
  { id: 'threshold', label: 'Threshold brush', key: 'T', description: 'Threshold brush: paint only intensities inside the current window', masking: PAINT_MASK },
  { id: 'rectangle', label: 'Rectangle scissors', key: 'R', description: 'Rectangle scissors: fill a rectangle on the slice', masking: 'fills only the editable area and the intensity range inside the rectangle' },
  { id: 'freehand', label: 'Freehand', key: 'F', description: 'Freehand contour: draw an outline, it is filled', masking: 'fills only the editable area and the intensity range inside the outline' },
  { id: 'fill', label: 'Flood fill (slice)', key: 'G', description: 'Flood fill of the clicked region on the slice', masking: 'floods only through the editable area and the intensity range (the rest is a wall)' },
  {
    id: 'regionGrow',
    label: 'Region grow (3D)',
    key: 'V',
    description: 'Region growing from the clicked seed in 3D (intensity tolerance; Shift+click adds a seed), shown as a preview to keep or discard',
    masking: 'grows only through the editable area and the intensity range',
  },
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

/** Tool tip of a toolbar button: what it does, its key, and (where the screen has Masking) what masking does to it. */
export function toolTip(t: ToolInfo, withMasking = false): string {
  const masking = withMasking ? (t.masking ? `. Masking: ${t.masking}` : '. Masking does not apply') : '';
  return `${t.description} (${t.key})${masking}`;
}

/** The tools that honour masking, for the Masking panel. */
export const MASKED_TOOLS: readonly ToolInfo[] = LABEL_TOOLS.filter((t) => t.masking);

/** One row of a help overlay. */
export interface KeyRow {
  keys: string;
  description: string;
}

export const MOUSE_ROW: KeyRow = { keys: 'mouse', description: 'left: active tool · middle: pan · right: zoom · wheel: scroll slices · Shift+wheel: brush size' };
