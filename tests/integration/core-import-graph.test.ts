// The import graph between the modules of main/core (computed from the sources, type imports
// included): no cycle, and every edge goes down the CORE_LAYERS order that lint enforces.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The order lives in eslint.config.js (plain JS, untyped): loaded by path so both use one list.
const ESLINT_CONFIG: string = '../../eslint.config.js';
const { CORE_LAYERS } = (await import(ESLINT_CONFIG)) as { CORE_LAYERS: string[] };

const CORE = path.resolve(__dirname, '../../main/core');
const ENTRY = 'worker/worker-entry.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module of a file: its first folder under core; the worker entry is its own node (a root). */
function moduleOf(rel: string): string {
  return rel === ENTRY ? 'worker-entry' : rel.split('/')[0];
}

function coreGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  const spec = /(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sources(CORE)) {
    const rel = path.relative(CORE, file).split(path.sep).join('/');
    const from = moduleOf(rel);
    for (const m of readFileSync(file, 'utf8').matchAll(spec)) {
      const target = path.relative(CORE, path.resolve(path.dirname(file), m[1] ?? m[2])).split(path.sep).join('/');
      if (target.startsWith('..')) continue;
      const to = target === ENTRY.replace(/\.ts$/, '') ? 'worker-entry' : moduleOf(target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      edges.set(to, [...(edges.get(to) ?? []), rel]);
      graph.set(from, edges);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Map<string, string[]>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const next of graph.get(n)?.keys() ?? []) {
      const c = visit(next);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

describe('main/core import graph', () => {
  const graph = coreGraph();

  it('sees the real modules (the scan is not empty)', () => {
    expect(graph.get('ml')?.has('imaging')).toBe(true);
    expect(graph.get('jobs')?.has('worker')).toBe(true);
  });

  it('has no cycle between core modules', () => {
    expect(findCycle(graph)).toBeNull();
  });

  it('only imports downwards in the layer order', () => {
    const upward: string[] = [];
    for (const [from, edges] of graph) {
      if (from === 'worker-entry') continue;
      for (const [to, files] of edges) {
        const a = CORE_LAYERS.indexOf(from);
        const b = CORE_LAYERS.indexOf(to);
        if (a < 0 || b < 0 || b > a) upward.push(`${from} -> ${to} (${files[0]})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself works)', () => {
    const g = new Map([
      ['a', new Map([['b', ['a.ts']]])],
      ['b', new Map([['a', ['b.ts']]])],
    ]);
    expect(findCycle(g)).toEqual(['a', 'b', 'a']);
  });
});
