import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectStore } from '../core/project';
import { createDemoProject, ensureDemoProject } from './demo-project';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('demo project', () => {
  it('holds the 8 bundled cases, 5 of them labelled, with the hippocampus schema', async () => {
    const dir = path.join(tmp, 'demo');
    const report = await createDemoProject(dir);
    expect(report.counts.failed).toBe(0);
    const store = await ProjectStore.open(dir);
    const info = store.info();
    const schema = store.labelSchema.list();
    store.close();
    expect(info).toMatchObject({ patients: 8, images: 8, labelledImages: 5 });
    expect(info.labelVersionsBySource.imported).toBe(5);
    expect(schema.map((c) => c.name)).toEqual(['background', 'anterior hippocampus', 'posterior hippocampus']);
  });

  it('ensureDemoProject creates once and then reuses the folder', async () => {
    const dir = path.join(tmp, 'again');
    await ensureDemoProject(dir);
    await ensureDemoProject(dir);
    const store = await ProjectStore.open(dir);
    expect(store.info().images).toBe(8);
    store.close();
  });
});
