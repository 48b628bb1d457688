/// <reference lib="dom" />
// Browser end-to-end: the Evaluation screen against `segloop serve` on the evaluation FIXTURE
// project (tests/integration/report-fixture.ts: real hippocampus cases whose "model predictions"
// are the reference labels shifted by 2 voxels (v1) and 1 voxel (v2) — not model output). What the
// screen shows is compared with buildEvaluationReport called directly; the CSV download is
// compared byte for byte with the core export; promote / roll back are checked in the audit log;
// a worst case opens in the labelling viewer. Screenshots go to tests/e2e/artifacts.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvaluationReport, type EvaluationReport } from '../../main/core/evaluation/report';
import { reportToCsv } from '../../main/core/evaluation/report-export';
import { ProjectStore } from '../../main/core/project';
import { makeEvalProject, TEST_CASES, type EvalFixture } from '../integration/report-fixture';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

async function cells(page: Page, selector: string): Promise<string[]> {
  return (await page.locator(selector).allTextContents()).map((t) => t.trim());
}

describe.skipIf(skipReason !== null)(`evaluation screen in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let fx: EvalFixture;
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let expected: EvaluationReport;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    dir = path.join(os.tmpdir(), `segloop-e2e-eval-${process.pid}-${Date.now()}`);
    fx = await makeEvalProject(dir);
    const store = await ProjectStore.open(dir);
    try {
      expected = await buildEvaluationReport(store, { modelId: fx.v2.id, compareModelId: fx.v1.id });
    } finally {
      store.close();
    }
    server = await serveProject(dir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 }, acceptDownloads: true });
    page.setDefaultTimeout(60_000);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the core report numbers for the newest model with test predictions, and the comparison', async () => {
    await page.goto(server.openUrl);
    await page.locator('[data-testid="nav-evaluation"]').click();
    await page.waitForSelector('[data-testid="eval-overall"] td');
    // v3 has no predictions, so the screen starts on v2.
    expect(await page.locator('[data-testid="eval-model"]').inputValue()).toBe(String(fx.v2.id));
    const overall = await cells(page, '[data-testid="eval-overall"] tbody tr:last-child td');
    const mean = expected.primary.summary.overall.find((s) => s.label === 'mean');
    expect(overall[0]).toBe('mean (foreground)');
    expect(overall[2]).toBe(`${mean?.metrics.dice.mean?.toFixed(3)} ± ${mean?.metrics.dice.std?.toFixed(3)}`);
    expect(await page.locator('[data-testid^="eval-case-"]').count()).toBe(TEST_CASES.length);
    expect(await page.locator('[data-testid="eval-warnings"]').textContent()).toMatch(/only 6 case/);

    await page.locator('[data-testid="eval-compare"]').selectOption(String(fx.v1.id));
    await page.waitForSelector('[data-testid="eval-comparison"] td');
    const cmpMean = expected.comparison?.dice.classes.find((k) => k.label === 'mean');
    const row = (await cells(page, '[data-testid="eval-comparison"] tbody tr:nth-child(3) td')).filter((_, i) => i !== 2);
    expect(row.slice(0, 2)).toEqual(['Dice', 'mean (foreground)']);
    expect(row[4]).toBe(`${(cmpMean?.meanDiff as number) >= 0 ? '+' : ''}${cmpMean?.meanDiff?.toFixed(3)}`);
    expect(row[5]).toBe(`[${cmpMean?.ci?.[0].toFixed(3)}, ${cmpMean?.ci?.[1].toFixed(3)}]`);
    await page.waitForSelector('[data-testid="eval-curve"] circle');
    expect(await page.locator('[data-testid="eval-curve"] circle').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'evaluation.png') });
    await page.locator('[data-testid="eval-cases"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'evaluation-cases.png') });
  });

  it('shows the measurements vs reference (volume in ml, max diameter in mm) with their MAE, and per case', async () => {
    await page.locator('[data-testid="eval-compare"]').selectOption('');
    await page.waitForSelector('[data-testid="eval-measurements"] td');
    for (const r of expected.primary.measurements) {
      const row = await cells(page, `[data-testid="measure-${r.label}-${r.key}"] td`);
      const v = (x: number | null): string => (x === null ? '—' : r.key === 'volumeMm3' ? (x / 1000).toFixed(3) : x.toFixed(2));
      expect(row.slice(1, 3)).toEqual(r.key === 'volumeMm3' ? ['volume', 'ml'] : ['max diameter', 'mm']);
      expect(row[3]).toMatch(new RegExp(`^${r.n}`));
      expect(row.slice(4, 7)).toEqual([v(r.refMean), v(r.predMean), v(r.meanAbsError)]);
    }
    await page.locator('[data-testid="eval-measurements-cases"] summary').click();
    expect(await page.locator('[data-testid="eval-measurements-cases"] tbody tr').count()).toBe(expected.primary.cases.length * 2);
    await page.locator('[data-testid="eval-measurements"]').scrollIntoViewIfNeeded();
    await page.locator('[data-testid="eval-measurements"]').screenshot({ path: path.join(ARTIFACTS, 'evaluation-measurements.png') });
    // back to the comparison the next steps download
    await page.locator('[data-testid="eval-compare"]').selectOption(String(fx.v1.id));
    await page.waitForSelector('[data-testid="eval-comparison"] td');
  });

  it('sorts the per-case table and downloads the same CSV as the core export', async () => {
    await page.locator('[data-testid="sort-meanDice"]').click(); // already the sort key: now descending
    const first = await page.locator('[data-testid^="eval-case-"]').first().locator('td').first().textContent();
    const best = [...expected.primary.cases].sort((a, b) => (b.metrics.mean.dice ?? 0) - (a.metrics.mean.dice ?? 0))[0];
    expect(first?.trim()).toBe(best.image);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="download-csv"]').click()]);
    expect(download.suggestedFilename()).toBe(`segloop-evaluation-v${fx.v2.version}-vs-v${fx.v1.version}-test.csv`);
    const file = path.join(dir, 'downloaded.csv');
    await download.saveAs(file);
    expect(readFileSync(file, 'utf8')).toBe(reportToCsv(expected));
    const [html] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="download-html"]').click()]);
    const htmlFile = path.join(dir, 'downloaded.html');
    await html.saveAs(htmlFile);
    const text = readFileSync(htmlFile, 'utf8');
    expect(text).not.toMatch(/http/i);
    // The downloaded page renders offline: open it from disk and screenshot it.
    const offline = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await offline.route('**/*', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
    await offline.goto(`file://${htmlFile}`);
    expect(await offline.locator('svg').count()).toBeGreaterThanOrEqual(5);
    await offline.screenshot({ path: path.join(ARTIFACTS, 'evaluation-report-html.png'), fullPage: false });
    await offline.close();
  });

  it('promotes, rolls back (audited), and opens a worst case in the labelling viewer', async () => {
    page.on('dialog', (d) => void d.accept('e2e decision'));
    await page.locator('[data-testid="eval-model"]').selectOption(String(fx.v1.id));
    await page.locator('[data-testid="promote"]').click();
    await page.waitForSelector('[data-testid="eval-notice"]');
    await page.locator('[data-testid="eval-model"]').selectOption(String(fx.v2.id));
    await page.locator('[data-testid="promote"]').click();
    await expect.poll(() => page.locator('[data-testid="eval-notice"]').textContent()).toMatch(/v2 promoted; v1 retired/);
    await expect.poll(() => page.locator('[data-testid="rollback"]').textContent()).toMatch(/Roll back to v1/);
    await page.locator('[data-testid="rollback"]').click();
    await expect.poll(() => page.locator('[data-testid="eval-notice"]').textContent()).toMatch(/Rolled back: model v1 promoted; v2 retired/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'evaluation-after-rollback.png') });

    const store = await ProjectStore.open(dir, { readOnly: true });
    try {
      expect(store.models.promoted()?.id).toBe(fx.v1.id);
      const decisions = store.audit.list({ entity: 'model' }).filter((e) => e.action === 'model.promote' || e.action === 'model.rollback');
      expect(decisions.map((e) => [e.action, e.entityId, e.details?.reason])).toEqual([
        ['model.promote', fx.v1.id, 'e2e decision'],
        ['model.promote', fx.v2.id, 'e2e decision'],
        ['model.rollback', fx.v1.id, 'e2e decision'],
      ]);
    } finally {
      store.close();
    }

    const worst = expected.primary.summary.worst[0];
    await page.locator(`[data-testid="worst-row-${worst.caseId}"]`).click();
    await page.waitForSelector('[data-testid="labelling-screen"]');
    expect(page.url()).toContain(`#/label/${worst.caseId}`);
  });
});
