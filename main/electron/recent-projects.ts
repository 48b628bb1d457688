// The recent-projects list (File > Open Recent): a small JSON file in the per-user folder, validated
// on read (a damaged file means an empty list, never a crash), newest first, at most 10, only
// folders that still hold a project. Electron-free so it is unit-tested.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../core/base/fs';

const RecentFile = z.object({
  version: z.literal(1),
  projects: z.array(z.object({ dir: z.string().min(1).max(4096), openedAt: z.string().max(64) })).max(100),
});
export type RecentProject = z.infer<typeof RecentFile>['projects'][number];

export const MAX_RECENT = 10;

function isProject(dir: string): boolean {
  return existsSync(path.join(dir, 'project.db'));
}

export async function readRecentProjects(file: string): Promise<RecentProject[]> {
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch {
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return [];
  }
  const parsed = RecentFile.safeParse(json);
  if (!parsed.success) return [];
  return parsed.data.projects.filter((p) => path.isAbsolute(p.dir) && isProject(p.dir)).slice(0, MAX_RECENT);
}

/** Puts `dir` first (deduplicated) and saves the list atomically. */
export async function addRecentProject(file: string, dir: string, now = new Date()): Promise<RecentProject[]> {
  const abs = path.resolve(dir);
  const list = (await readRecentProjects(file)).filter((p) => path.resolve(p.dir) !== abs);
  const next = [{ dir: abs, openedAt: now.toISOString() }, ...list].slice(0, MAX_RECENT);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, Buffer.from(JSON.stringify({ version: 1, projects: next }, null, 2)));
  return next;
}
