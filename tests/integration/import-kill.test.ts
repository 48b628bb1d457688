// Killing `segloop import` with SIGKILL in the middle must leave a consistent project, and running
// the same import again must finish it with exactly one image and one label version per subject.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectStore } from '../../main/core/project';
import { DATA, REPO, segloop } from './helpers/cli';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-kill-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HIPPO = path.join(DATA, 'hippocampus');

function importUntilKilled(proj: string, afterDone: number): Promise<{ progressSeen: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/segloop.mjs'), 'import', proj, '--images', path.join(HIPPO, 'images'), '--labels', path.join(HIPPO, 'labels')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let progressSeen = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const m of chunk.matchAll(/(\d+)\/200/g)) progressSeen = Math.max(progressSeen, Number(m[1]));
      if (progressSeen >= afterDone && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ progressSeen, signal }));
  });
}

describe('import killed with SIGKILL', () => {
  it('leaves a consistent project that a re-run completes exactly once', async () => {
    const proj = path.join(tmp, 'p');
    expect(segloop(['init', proj]).status).toBe(0);
    const { progressSeen, signal } = await importUntilKilled(proj, 30);
    expect(signal).toBe('SIGKILL');
    expect(progressSeen).toBeGreaterThanOrEqual(30);

    // Reopen without recovery first: the DB itself must be sound, every row's file present and intact.
    const raw = await ProjectStore.open(proj, { recover: false });
    const before = await raw.checkIntegrity({ checksums: true });
    const partial = raw.info();
    raw.close();
    expect(before.integrity).toEqual(['ok']);
    expect(before.foreignKeyViolations).toBe(0);
    expect(before.missingFiles).toEqual([]);
    expect(before.checksumMismatches).toEqual([]);
    expect(partial.images).toBeGreaterThanOrEqual(30);
    expect(partial.images).toBeLessThan(200);
    // Each image imported before the kill has its label too, or the import stopped between the two.
    expect(partial.labelledImages).toBeGreaterThanOrEqual(partial.images - 1);

    // Opening normally recovers (removes temp/orphan files); then the re-run completes the import.
    const r = segloop(['import', proj, '--images', path.join(HIPPO, 'images'), '--labels', path.join(HIPPO, 'labels'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const store = await ProjectStore.open(proj);
    const after = await store.checkIntegrity({ checksums: true });
    const info = store.info();
    store.close();
    expect(after.ok).toBe(true);
    expect(after.tempFiles).toEqual([]);
    expect(after.orphanFiles).toEqual([]);
    expect(info).toMatchObject({ patients: 200, images: 200, labelledImages: 200, labelVersions: 200 });
  });
});
