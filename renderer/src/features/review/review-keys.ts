// Keyboard of the Review screen: one table drives both the handler and the legend on screen, so
// what the UI says a key does is what it does.
export type ReviewTool = 'brush' | 'eraser' | 'fill';

export type ReviewAction =
  | { kind: 'accept' | 'reject' | 'saveEdit' | 'next' | 'previous' | 'undo' | 'redo' | 'toggleHeat' | 'toggleCompare' | 'help' | 'escape' }
  | { kind: 'tool'; tool: ReviewTool }
  | { kind: 'segment'; index: number }
  | { kind: 'brush'; delta: number };

export interface ReviewKey {
  keys: string;
  description: string;
}

export const REVIEW_KEYS: ReviewKey[] = [
  { keys: 'A', description: 'Accept the prediction unchanged' },
  { keys: 'S / Ctrl+S', description: 'Save your edit of the prediction' },
  { keys: 'X', description: 'Reject the prediction (no label is saved)' },
  { keys: 'N / ↓', description: 'Next prediction' },
  { keys: 'Shift+N / ↑', description: 'Previous prediction' },
  { keys: 'B / E / G', description: 'Brush / eraser / flood fill' },
  { keys: '1–9', description: 'Select segment' },
  { keys: '[ / ]', description: 'Smaller / larger brush' },
  { keys: 'Ctrl+Z / Ctrl+Shift+Z', description: 'Undo / redo' },
  { keys: 'U', description: 'Uncertainty heat map on / off' },
  { keys: 'L', description: 'Current label outline on / off' },
  { keys: '?', description: 'Keyboard help' },
];

const TOOL_KEYS: Record<string, ReviewTool> = { b: 'brush', e: 'eraser', g: 'fill' };

export function reviewActionFor(ev: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): ReviewAction | null {
  const key = ev.key.toLowerCase();
  if (ev.ctrlKey || ev.metaKey) {
    if (key === 'z') return { kind: ev.shiftKey ? 'redo' : 'undo' };
    if (key === 'y') return { kind: 'redo' };
    if (key === 's') return { kind: 'saveEdit' };
    return null;
  }
  if (ev.altKey) return null;
  if (ev.key === '?') return { kind: 'help' };
  if (ev.key === 'Escape') return { kind: 'escape' };
  if (ev.key === 'ArrowDown') return { kind: 'next' };
  if (ev.key === 'ArrowUp') return { kind: 'previous' };
  if (ev.key === '[') return { kind: 'brush', delta: -1 };
  if (ev.key === ']') return { kind: 'brush', delta: 1 };
  if (/^[1-9]$/.test(ev.key)) return { kind: 'segment', index: Number(ev.key) };
  if (key === 'n') return { kind: ev.shiftKey ? 'previous' : 'next' };
  if (key === 'a') return { kind: 'accept' };
  if (key === 'x') return { kind: 'reject' };
  if (key === 's') return { kind: 'saveEdit' };
  if (key === 'u') return { kind: 'toggleHeat' };
  if (key === 'l') return { kind: 'toggleCompare' };
  const tool = TOOL_KEYS[key];
  return tool ? { kind: 'tool', tool } : null;
}
