// Keyboard shortcuts of the labelling screen: one table drives both the handler and the help overlay.
import type { LabelTool } from '../../viewers/segmentation-viewer-service';

export type ShortcutAction =
  | { kind: 'tool'; tool: LabelTool }
  | { kind: 'segment'; index: number }
  | { kind: 'brush'; delta: number }
  | { kind: 'undo' | 'redo' | 'save' | 'toggleLabels' | 'preset' | 'help' | 'escape' | 'back' };

export interface Shortcut {
  keys: string;
  description: string;
  tool?: LabelTool;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: 'B', description: 'Brush', tool: 'brush' },
  { keys: 'E', description: 'Eraser', tool: 'eraser' },
  { keys: 'T', description: 'Threshold brush (range = current window)', tool: 'threshold' },
  { keys: 'R', description: 'Rectangle scissors', tool: 'rectangle' },
  { keys: 'F', description: 'Freehand contour fill', tool: 'freehand' },
  { keys: 'G', description: 'Flood fill on the slice', tool: 'fill' },
  { keys: 'C', description: 'Crosshairs (MPR)', tool: 'crosshairs' },
  { keys: 'W', description: 'Window/level drag', tool: 'windowLevel' },
  { keys: '1–9', description: 'Select segment' },
  { keys: '[ / ]', description: 'Smaller / larger brush' },
  { keys: 'Ctrl+Z', description: 'Undo' },
  { keys: 'Ctrl+Shift+Z / Ctrl+Y', description: 'Redo' },
  { keys: 'Ctrl+S', description: 'Save a new label version' },
  { keys: 'H', description: 'Hide / show labels' },
  { keys: 'P', description: 'Next window preset' },
  { keys: '?', description: 'This help' },
  { keys: 'Esc', description: 'Close help' },
];

const TOOL_KEYS: Record<string, LabelTool> = { b: 'brush', e: 'eraser', t: 'threshold', r: 'rectangle', f: 'freehand', g: 'fill', c: 'crosshairs', w: 'windowLevel' };

export function shortcutFor(ev: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): ShortcutAction | null {
  const mod = ev.ctrlKey || ev.metaKey;
  const key = ev.key.toLowerCase();
  if (mod) {
    if (key === 'z') return { kind: ev.shiftKey ? 'redo' : 'undo' };
    if (key === 'y') return { kind: 'redo' };
    if (key === 's') return { kind: 'save' };
    return null;
  }
  if (ev.altKey) return null;
  if (ev.key === '?') return { kind: 'help' };
  if (ev.key === 'Escape') return { kind: 'escape' };
  if (ev.key === '[') return { kind: 'brush', delta: -1 };
  if (ev.key === ']') return { kind: 'brush', delta: 1 };
  if (/^[1-9]$/.test(ev.key)) return { kind: 'segment', index: Number(ev.key) };
  if (key === 'h') return { kind: 'toggleLabels' };
  if (key === 'p') return { kind: 'preset' };
  const tool = TOOL_KEYS[key];
  return tool ? { kind: 'tool', tool } : null;
}
