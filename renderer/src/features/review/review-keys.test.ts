import { describe, expect, it } from 'vitest';
import { REVIEW_KEYS, reviewActionFor } from './review-keys';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
  reviewActionFor({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('review keys', () => {
  it('maps the decision keys the legend shows', () => {
    expect(key('a')).toEqual({ kind: 'accept' });
    expect(key('A', { shiftKey: true })).toEqual({ kind: 'accept' });
    expect(key('x')).toEqual({ kind: 'reject' });
    expect(key('s')).toEqual({ kind: 'saveEdit' });
    expect(key('s', { ctrlKey: true })).toEqual({ kind: 'saveEdit' });
    expect(key('n')).toEqual({ kind: 'next' });
    expect(key('N', { shiftKey: true })).toEqual({ kind: 'previous' });
    expect(key('ArrowDown')).toEqual({ kind: 'next' });
    expect(key('ArrowUp')).toEqual({ kind: 'previous' });
    for (const k of ['A', 'S / Ctrl+S', 'X', 'N / ↓']) expect(REVIEW_KEYS.map((r) => r.keys)).toContain(k);
  });

  it('maps tools, segments, brush size, undo and overlays; ignores others', () => {
    expect(key('b')).toEqual({ kind: 'tool', tool: 'brush' });
    expect(key('e')).toEqual({ kind: 'tool', tool: 'eraser' });
    expect(key('g')).toEqual({ kind: 'tool', tool: 'fill' });
    expect(key('2')).toEqual({ kind: 'segment', index: 2 });
    expect(key(']')).toEqual({ kind: 'brush', delta: 1 });
    expect(key('z', { ctrlKey: true })).toEqual({ kind: 'undo' });
    expect(key('z', { ctrlKey: true, shiftKey: true })).toEqual({ kind: 'redo' });
    expect(key('u')).toEqual({ kind: 'toggleHeat' });
    expect(key('l')).toEqual({ kind: 'toggleCompare' });
    expect(key('a', { altKey: true })).toBeNull();
    expect(key('a', { ctrlKey: true })).toBeNull();
    expect(key('q')).toBeNull();
  });
});
