// Keyboard shortcuts of the labelling screen. The tool rows come from the one tool table
// (viewers/label-tools.ts), which also makes the toolbar and its tool tips; the same list drives the
// key handler and the help overlay.
import { LABEL_TOOLS, toolForKey, type KeyRow } from '../../viewers/label-tools';
import type { LabelTool } from '../../viewers/segmentation-viewer-service';

export type ShortcutAction =
  | { kind: 'tool'; tool: LabelTool }
  | { kind: 'segment'; index: number }
  | { kind: 'brush'; delta: number }
  | { kind: 'undo' | 'redo' | 'save' | 'toggleLabels' | 'toggleOutline' | 'preset' | 'help' | 'escape' | 'back' };

export interface Shortcut extends KeyRow {
  tool?: LabelTool;
}

export const SHORTCUTS: Shortcut[] = [
  ...LABEL_TOOLS.map((t) => ({ keys: t.key, description: t.description, tool: t.id })),
  { keys: '1–9', description: 'Select segment' },
  { keys: '[ / ] or Shift+wheel', description: 'Smaller / larger brush' },
  { keys: 'Ctrl+Z', description: 'Undo' },
  { keys: 'Ctrl+Shift+Z / Ctrl+Y', description: 'Redo' },
  { keys: 'Ctrl+S', description: 'Save a new label version' },
  { keys: 'H', description: 'Hide / show labels' },
  { keys: 'L', description: 'Labels as outlines / filled' },
  { keys: 'P', description: 'Next window preset' },
  { keys: '?', description: 'This help' },
  { keys: 'Esc', description: 'Close help' },
];

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
  if (key === 'l') return { kind: 'toggleOutline' };
  if (key === 'p') return { kind: 'preset' };
  const tool = toolForKey(key);
  return tool ? { kind: 'tool', tool } : null;
}
