import { describe, expect, it } from 'vitest';
import { LABEL_TOOLS } from '../../viewers/label-tools';
import { TOOL_NAMES } from '../../viewers/segmentation-viewer-service';
import { SHORTCUTS, shortcutFor } from './shortcuts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
  shortcutFor({ key: k, ctrlKey: false, shiftKey: false, metaKey: false, altKey: false, ...mods });

describe('labelling shortcuts', () => {
  it('maps tool letters, segments, brush size, undo/redo and save', () => {
    expect(key('b')).toEqual({ kind: 'tool', tool: 'brush' });
    expect(key('E')).toEqual({ kind: 'tool', tool: 'eraser' });
    expect(key('2')).toEqual({ kind: 'segment', index: 2 });
    expect(key(']')).toEqual({ kind: 'brush', delta: 1 });
    expect(key('z', { ctrlKey: true })).toEqual({ kind: 'undo' });
    expect(key('Z', { ctrlKey: true, shiftKey: true })).toEqual({ kind: 'redo' });
    expect(key('s', { metaKey: true })).toEqual({ kind: 'save' });
  });

  it('ignores unbound keys and Alt chords', () => {
    expect(key('q')).toBeNull();
    expect(key('b', { altKey: true })).toBeNull();
    expect(key('0')).toBeNull();
  });

  it('documents every tool shortcut in the help table', () => {
    for (const s of SHORTCUTS.filter((x) => x.tool)) expect(key(s.keys.toLowerCase())).toEqual({ kind: 'tool', tool: s.tool });
  });

  it('the tool table holds every viewer tool once, each with its own key that no other shortcut uses', () => {
    expect(LABEL_TOOLS.map((t) => t.id).sort()).toEqual([...TOOL_NAMES].sort());
    const keys = LABEL_TOOLS.map((t) => t.key.toLowerCase());
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(['h', 'l', 'p']).not.toContain(k);
    expect(key('s')).toEqual({ kind: 'tool', tool: 'sphere' });
    expect(key('d')).toEqual({ kind: 'tool', tool: 'sphereEraser' });
    expect(key('v')).toEqual({ kind: 'tool', tool: 'regionGrow' });
    expect(key('l')).toEqual({ kind: 'toggleOutline' });
  });
});
