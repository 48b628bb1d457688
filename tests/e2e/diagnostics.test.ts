/// <reference lib="dom" />
// Browser end-to-end: the Diagnostics screen against `segloop serve` on a temporary demo project.
// What the screen shows (findings, composition in patients and images) is compared with
// runDiagnostics called directly on the same project; then a patient split is created from the
// screen and checked in the database, and a flagged case opens in the labelling viewer.
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProject } from '../../main/app/demo-project';
import { runDiagnostics, type DiagnosticsReport } from '../../main/core/diagnostics';
import { ProjectStore } from '../../main/core/project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

async function cells(page: Page, testId: string): Promise<string[]> {
  return (await page.locator(`[data-testid="${testId}"] td`).allTextContents()).map((t) => t.trim());
}

describe.skipIf(skipReason !== null)(`diagnostics screen in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let expected: DiagnosticsReport;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    dir = path.join(os.tmpdir(), `segloop-e2e-diag-${process.pid}-${Date.now()}`);
    await createDemoProject(dir);
    const store = await ProjectStore.open(dir);
    try {
      expected = await runDiagnostics(store);
    } finally {
      store.close();
    }
    server = await serveProject(dir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the same findings and composition as runDiagnostics', async () => {
    await page.goto(server.openUrl);
    await page.locator('[data-testid="nav-diagnostics"]').click();
    await page.waitForSelector('[data-testid="findings"]', { timeout: 120_000 });

    // The demo project: 8 patients with one image each, 5 labelled.
    expect(expected.composition?.total).toEqual({ patients: 8, images: 8 });
    expect(expected.composition?.byLabelState.labelled).toEqual({ patients: 5, images: 5 });
    const c = expected.composition;
    if (!c) throw new Error('runDiagnostics gave no composition for a project');
    expect(await cells(page, 'comp-total')).toEqual(['total', String(c.total.patients), String(c.total.images)]);
    expect(await cells(page, 'comp-labelled')).toEqual(['labelled', String(c.byLabelState.labelled.patients), String(c.byLabelState.labelled.images)]);
    expect(await cells(page, 'comp-pseudo')).toEqual(['pseudo-labelled', String(c.byLabelState.pseudo.patients), String(c.byLabelState.pseudo.images)]);
    expect(await cells(page, 'comp-unlabelled')).toEqual(['unlabelled', String(c.byLabelState.unlabelled.patients), String(c.byLabelState.unlabelled.images)]);

    // Every finding, in order, with its exact wording and severity.
    expect(expected.findings.length).toBeGreaterThan(0);
    const items = page.locator('[data-testid="findings"] li');
    expect(await items.count()).toBe(expected.findings.length);
    for (const [i, f] of expected.findings.entries()) {
      const li = items.nth(i);
      expect(await li.getAttribute('data-testid')).toBe(`finding-${f.code}`);
      expect((await li.locator('.msg').textContent())?.trim()).toBe(f.message);
      expect(await li.locator('.icon').getAttribute('title')).toBe(f.severity);
    }

    // The charts drew onto canvases (ECharts, canvas renderer).
    for (const id of ['chart-composition-patients', 'chart-composition-images', 'chart-intensity', 'chart-classes']) {
      await page.locator(`[data-testid="${id}"] canvas`).first().waitFor();
    }
    // Per-dtype shift: the scores shown are the report's.
    await page.locator('[data-testid="intensity-by"]').selectOption('dtype');
    const shift = expected.intensity?.grouped.find((g) => g.by === 'dtype')?.shift[0];
    if (!shift) throw new Error('the demo project has two dtypes, so one dtype shift pair');
    const row = await page.locator('[data-testid="shift"] tbody tr').first().locator('td').allTextContents();
    expect(row[0]).toBe(`${shift.a} ↔ ${shift.b}`);
    expect(Number(row[1])).toBeCloseTo(shift.jensenShannon, 3);
    expect(Number(row[2])).toBeCloseTo(shift.wasserstein1, 3);
    // Class frequency table: the report's voxel counts.
    const classRows = await page.locator('[data-testid="class-frequency"] tbody tr').count();
    expect(classRows).toBe(expected.labels?.classFrequency.length);
    // The screen scrolls inside the app shell, so a tall window shows all of it in one picture;
    // the charts follow the resize (ResizeObserver) before it is taken.
    await page.setViewportSize({ width: 1400, height: 2300 });
    await page.evaluate(() => new Promise((r) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 100)));
    await page.screenshot({ path: path.join(ARTIFACTS, 'diagnostics.png') });
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('creates a patient split from the split panel, then freezes it', async () => {
    await page.locator('[data-testid="split-row-pool"]').waitFor();
    expect(await cells(page, 'split-row-pool')).toEqual(['pool', '8', '8', '5']);
    const button = page.locator('[data-testid="split-create"]');
    expect(await button.isEnabled()).toBe(true);
    await page.locator('[data-testid="split-test"]').fill('0.2');
    await page.locator('[data-testid="split-val"]').fill('0.2');
    await page.locator('[data-testid="split-seed"]').fill('7');
    await button.click();
    await page.locator('[data-testid="split-message"]').waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="split-create"]') as HTMLButtonElement | null)?.disabled === true);
    expect(await page.locator('[data-testid="split-state"]').textContent()).toContain('frozen');
    expect(await page.locator('[data-testid="leakage"]').textContent()).toContain('No leakage');

    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT split, count(*) AS n FROM images GROUP BY split').all() as { split: string; n: number }[];
      const n = Object.fromEntries(rows.map((r) => [r.split, r.n]));
      // 5 labelled patients: 1 test, 1 val, 3 train; the 3 unlabelled stay in the pool.
      expect(n).toEqual({ test: 1, val: 1, train: 3, pool: 3 });
      expect(await cells(page, 'split-row-test')).toEqual(['test', '1', '1', '1']);
      expect(await cells(page, 'split-row-pool')).toEqual(['pool', '3', '3', '0']);
    } finally {
      db.close();
    }
    // Diagnostics re-ran after the split: the composition now has one bar per split.
    await page.waitForFunction(() => document.querySelector('[data-testid="composition"]')?.getAttribute('data-splits') === 'pool,test,train,val');
    await page.locator('[data-testid="composition"]').screenshot({ path: path.join(ARTIFACTS, 'diagnostics-split.png') });
  });

  it('opens a flagged case in the labelling viewer', async () => {
    const flagged = expected.intensity?.rangeSpread.flagged[0];
    if (!flagged) throw new Error('the demo project has range-spread outliers (hippocampus_210, _180)');
    const link = page.locator('[data-testid="range-spread"] button', { hasText: flagged.name });
    await link.click();
    await page.waitForFunction(() => /Version|No label/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 120_000 });
    expect(page.url()).toMatch(/#\/label\/\d+$/);
    const store = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      const id = Number(/#\/label\/(\d+)$/.exec(page.url())?.[1]);
      const row = store.prepare('SELECT source_name AS name FROM images WHERE id = ?').get(id) as { name: string } | undefined;
      expect(row?.name).toBe(flagged.name);
    } finally {
      store.close();
    }
  });
});
