// 'diagnostics:*' and 'splits:*' through the dispatcher (schema-validated in and out) on the demo
// project, compared with runDiagnostics/splitStatus called directly on the same folder.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpOutput } from '../../shared/contract';
import { runDiagnostics } from '../core/diagnostics';
import { ProjectStore } from '../core/project';
import { createDemoProject } from './demo-project';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-diag-ops-'));
let app: ProjectApp;

async function call<T>(name: string, input: unknown): Promise<T> {
  const r = await dispatch(app.handlers, name, input);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value as T;
}

async function finished(jobId: string): Promise<OpOutput<'diagnostics:result'>> {
  await new Promise<void>((resolve) => {
    const check = (): void => {
      const s = app.jobs.get(jobId).status;
      if (s !== 'queued' && s !== 'running') {
        off();
        resolve();
      }
    };
    const off = app.jobs.onDidChangeJob(check);
    check();
  });
  return call('diagnostics:result', { jobId });
}

beforeAll(async () => {
  await createDemoProject(path.join(tmp, 'demo'));
  app = await openProjectApp(path.join(tmp, 'demo'), { transport: 'http', author: 'tester' });
});
afterAll(() => {
  app?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('diagnostics operations', () => {
  it('runs as a job and returns the same report as runDiagnostics', async () => {
    const progress: number[] = [];
    const off = app.onEvent((m) => m.event === 'jobs:progress' && m.payload.kind === 'diagnostics' && m.payload.progress !== null && progress.push(m.payload.progress));
    const { jobId } = await call<{ jobId: string }>('diagnostics:run', {});
    const out = await finished(jobId);
    off();
    expect(out.job.status).toBe('done');
    const direct = await runDiagnostics(app.store);
    const r = out.result?.report;
    expect(r?.composition).toEqual(direct.composition);
    expect(r?.findings).toEqual(direct.findings);
    expect(r?.composition?.total).toEqual({ patients: 8, images: 8 });
    expect(r?.composition?.byLabelState.labelled).toEqual({ patients: 5, images: 5 });
    expect(r?.labels?.classFrequency).toEqual(direct.labels?.classFrequency);
    // One progress step per image, ending at 1.
    expect(progress.at(-1)).toBe(1);
    expect(progress.length).toBeGreaterThanOrEqual(8);

    // Stacked-bar groups add up to the report's group totals.
    const groups = out.result?.groups ?? [];
    for (const g of direct.composition?.bySplit ?? []) {
      const mine = groups.find((x) => x.by === 'split' && x.name === g.name);
      const c = mine?.counts;
      expect(c && c.labelled.patients + c.pseudo.patients + c.unlabelled.patients).toBe(g.patients);
      expect(c && c.labelled.images + c.pseudo.images + c.unlabelled.images).toBe(g.images);
      expect(c?.labelled.patients).toBe(g.labelledPatients);
    }
    // Every label name in the report maps to an image id.
    const ids = out.result?.imageIds ?? {};
    const store = app.store;
    for (const img of store.images.list()) expect(ids[img.sourceName ?? '']).toBe(String(img.id));
    expect(Object.keys(ids).filter((k) => k.includes('(label v'))).toHaveLength(5);
  });

  it('says which job is unknown', async () => {
    const r = await dispatch(app.handlers, 'diagnostics:result', { jobId: 'nope' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('JOB_NOT_FOUND');
  });
});

describe('split operations', () => {
  it('creates a patient split once, then refuses while frozen; status matches the store', async () => {
    const before = await call<OpOutput<'splits:status'>>('splits:status', {});
    expect(before.frozen).toBe(false);
    expect(before.counts.pool).toEqual({ patients: 8, images: 8, labelledImages: 5 });

    const bad = await dispatch(app.handlers, 'splits:create', { test: 0.6, val: 0.5, seed: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('VALIDATION_FAILED');

    const made = await call<OpOutput<'splits:create'>>('splits:create', { test: 0.2, val: 0.2, seed: 7 });
    expect(made.eligibility).toBe('labelled');
    expect(made.eligiblePatients).toBe(5);
    expect(made.status.frozen).toBe(true);
    const c = made.status.counts;
    expect(c.test.patients + c.val.patients + c.train.patients).toBe(5);
    expect(c.pool.patients).toBe(3);
    expect(c.test.patients).toBe(1);
    expect(c.val.patients).toBe(1);
    expect(made.status.leakage).toEqual([]);
    expect(made.status.created?.actor).toBe('tester');

    const again = await dispatch(app.handlers, 'splits:create', { test: 0.2, val: 0.2, seed: 8 });
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.code).toBe('SPLIT_FROZEN');

    // The store seen from a second connection agrees.
    const other = await ProjectStore.open(path.join(tmp, 'demo'));
    try {
      const splits = other.images.list().map((i) => i.split);
      expect(splits.filter((s) => s === 'test')).toHaveLength(1);
      expect(splits.filter((s) => s === 'pool')).toHaveLength(3);
    } finally {
      other.close();
    }
  });
});
