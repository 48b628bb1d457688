// Keyboard of the Review screen: one table drives both the handler and the legend on screen, so
// what the UI says a key does is what it does.
import { LABEL_TOOLS, toolForKey, type ToolInfo } from '../../viewers/label-tools';

export type ReviewTool = 'brush' | 'eraser' | 'fill';
/** Review's editing tools: rows of the one tool table (viewers/label-tools.ts), same keys as in Labelling. */
export const REVIEW_TOOLS = LABEL_TOOLS.filter((t): t is ToolInfo & { id: ReviewTool } => t.id === 'brush' || t.id === 'eraser' || t.id === 'fill');

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
  ...REVIEW_TOOLS.map((t) => ({ keys: t.key, description: t.description })),
  { keys: '1–9', description: 'Select segment' },
  { keys: '[ / ]', description: 'Smaller / larger brush' },
  { keys: 'Ctrl+Z / Ctrl+Shift+Z', description: 'Undo / redo' },
  { keys: 'U', description: 'Uncertainty heat map on / off' },
  { keys: 'L', description: 'Current label outline on / off' },
  { keys: '?', description: 'Keyboard help' },
];


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
  const tool = toolForKey(key, REVIEW_TOOLS) as ReviewTool | null;
  return tool ? { kind: 'tool', tool } : null;
}
