/// <reference lib="dom" />
// Browser end-to-end of the Cases screen's active-learning queue (HTTP transport, real mouse and
// keyboard): on a tiny demo project with a really trained model, start an uncertainty round from
// the form, watch the job's progress, see the queue appear in the round's order (the order the
// database recorded, highest score first), and "Label next" open the first queued case in
// Labelling. Screenshots at 1280x800 and 1920x1080 in tests/e2e/artifacts.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeTinyAlProject, makeTinyAlProject, type TinyProject } from '../../main/core/jobs/select-test-project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const STEP_TIMEOUT = 600_000;
const skipReason = missingPrerequisite();

describe.skipIf(skipReason !== null)(`Cases: active-learning queue in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let p: TinyProject;
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let token = '';

  function rounds(): { id: number; strategy: string; model_id: number | null; selected: number[] }[] {
    const d = new Database(path.join(p.dir, 'project.db'), { readonly: true, fileMustExist: true });
    try {
      return (d.prepare('SELECT id, strategy, model_id, selected FROM al_rounds ORDER BY id').all() as { id: number; strategy: string; model_id: number | null; selected: string }[]).map((r) => ({ ...r, selected: JSON.parse(r.selected) as number[] }));
    } finally {
      d.close();
    }
  }

  async function api<T>(name: string, input: unknown): Promise<T> {
    const r = await fetch(`${server.url}/api/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Segloop-Token': token }, body: JSON.stringify(input) });
    const env = (await r.json()) as { ok: boolean; value?: T; error?: { code: string; message: string } };
    if (!env.ok) throw new Error(`${name}: ${env.error?.code} ${env.error?.message}`);
    return env.value as T;
  }

  async function clickAt(testId: string): Promise<void> {
    const box = await page.locator(`[data-testid="${testId}"]`).boundingBox();
    if (!box) throw new Error(`${testId} is not visible`);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  }

  async function typeInto(testId: string, text: string): Promise<void> {
    await clickAt(testId);
    await page.keyboard.press('Control+A');
    await page.keyboard.type(text);
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    // 8 demo cases: 3 labelled, 1 in the test split, 4 unlabelled in the pool; a tiny model trained a few steps.
    p = await makeTinyAlProject({ labelled: 3, test: 1 });
    p.store.close();
    server = await serveProject(p.dir);
    token = new URL(server.openUrl).searchParams.get('token') ?? '';
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await disposeTinyAlProject(p);
  }, STEP_TIMEOUT);

  it('starts an entropy round from the form; the queue shows the recorded order with scores and reasons', async () => {
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid="al-no-round"]');
    await page.waitForSelector('[data-testid="al-strategy"] option[value="entropy"]', { state: 'attached' });
    const strategies = await api<{ strategies: { name: string; description: string }[] }>('al:strategies', {});

    // Pick the strategy with the mouse + keyboard (a native <select>: focus it, choose by value).
    await clickAt('al-strategy');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="al-strategy"]').selectOption('entropy');
    await expect.poll(() => page.locator('[data-testid="al-strategy-description"]').textContent()).toBe(strategies.strategies.find((s) => s.name === 'entropy')!.description);
    await typeInto('al-count', '3');
    await typeInto('al-seed', '5');
    // Too many cases: the form says why and the button stays disabled.
    await typeInto('al-count', '9');
    await expect.poll(() => page.locator('[data-testid="al-why"]').textContent()).toMatch(/Only 4 unlabelled/);
    expect(await page.locator('[data-testid="al-start"]').isDisabled()).toBe(true);
    await typeInto('al-count', '3');
    await expect.poll(() => page.locator('[data-testid="al-start"]').isDisabled()).toBe(false);

    await clickAt('al-start');
    // The job's progress from the events (the bar, then a message with the worker's counts).
    await page.waitForSelector('[data-testid="al-progress"]', { timeout: 120_000 });
    await page.waitForFunction(() => /scored|Running|Queued|Starting/.test(document.querySelector('[data-testid="al-progress-message"]')?.textContent ?? ''), null, { timeout: 120_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'cases-queue-scoring-1280x800.png') });

    await page.waitForSelector('[data-testid="al-pick-3"]', { timeout: 300_000 });
    await page.waitForSelector('[data-testid="al-notice"]');
    const [round] = rounds();
    expect(round).toMatchObject({ strategy: 'entropy', model_id: p.model?.id });
    expect(round.selected).toHaveLength(3);

    // The queue on screen = the round's order in the database, highest entropy first.
    const shown = await page.$$eval('[data-testid^="al-pick-"]', (rows) => rows.filter((r) => r.tagName === 'TR').map((r) => ({ id: r.getAttribute('data-image-id'), score: r.querySelector('[data-testid="al-pick-score"]')?.textContent ?? '' })));
    expect(shown.map((s) => Number(s.id))).toEqual(round.selected);
    const scores = shown.map((s) => Number(s.score));
    for (const s of scores) expect(Number.isFinite(s)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect((await page.locator('[data-testid="al-round-info"]').textContent())?.replace(/\s+/g, ' ')).toContain(`entropy · model v${p.model?.version} · seed 5 · 4 scored`);
    const reasons = await page.$$eval('tr[data-testid^="al-pick-"] .reason', (tds) => tds.map((t) => t.textContent ?? ''));
    for (const r of reasons) expect(r).toMatch(/entropy/i);

    // The table: queue ranks, the uncertainty column filled from the stored scores, last prediction by v1.
    for (const [i, id] of round.selected.entries()) {
      const row = page.locator(`[data-testid="case-row-${id}"]`);
      expect(await row.locator('[data-testid="case-queue"]').textContent()).toBe(String(i + 1));
      expect(await row.locator('[data-testid="case-uncertainty"]').textContent()).not.toBe('—');
      expect(await row.locator('[data-testid="case-prediction"]').textContent()).toMatch(new RegExp(`^v${p.model?.version} · \\d`));
    }
    await page.mouse.move(5, 5);
    await page.screenshot({ path: path.join(ARTIFACTS, 'cases-queue-1280x800.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'cases-queue-1920x1080.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
  }, STEP_TIMEOUT);

  it('"Label next" opens the first queued case in Labelling', async () => {
    const [round] = rounds();
    await clickAt('label-next');
    await page.waitForSelector('[data-testid="labelling-screen"]');
    expect(await page.evaluate(() => window.location.hash)).toBe(`#/label/${round.selected[0]}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'cases-queue-label-next-1280x800.png') });
  }, STEP_TIMEOUT);
});
