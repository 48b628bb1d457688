import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRecentProject, MAX_RECENT, readRecentProjects } from './recent-projects';

const base = mkdtempSync(path.join(os.tmpdir(), 'segloop-recent-'));
function project(name: string): string {
  const dir = path.join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'project.db'), '');
  return dir;
}

describe('recent projects', () => {
  it('keeps the newest first, deduplicated, at most 10, only folders that still hold a project', async () => {
    const file = path.join(base, 'user', 'recent.json');
    const dirs = Array.from({ length: 12 }, (_, i) => project(`p${i}`));
    for (const d of dirs) await addRecentProject(file, d);
    await addRecentProject(file, dirs[3]);
    const list = await readRecentProjects(file);
    expect(list).toHaveLength(MAX_RECENT);
    expect(list[0].dir).toBe(dirs[3]);
    expect(new Set(list.map((p) => p.dir)).size).toBe(list.length);
    expect(list.map((p) => p.dir)).not.toContain(path.join(base, 'gone'));
  });

  it('reads a damaged or hostile file as an empty list instead of failing', async () => {
    const file = path.join(base, 'bad.json');
    for (const content of ['{not json', '{"version":2,"projects":[]}', JSON.stringify({ version: 1, projects: [{ dir: 'relative/x', openedAt: 'x' }] }), JSON.stringify({ version: 1, projects: 'x' })]) {
      writeFileSync(file, content);
      expect(await readRecentProjects(file)).toEqual([]);
    }
    expect(await readRecentProjects(path.join(base, 'missing.json'))).toEqual([]);
  });
});
