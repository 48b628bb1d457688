/// <reference lib="dom" />
// Browser end-to-end (issue 10): two tabs on one served project edit the same case with the real
// mouse. Tab A saves first; tab B's save answers LABEL_CONFLICT and the conflict dialog names A's
// version. "Keep mine on top" saves B's labels as a new version whose parent is A's: the database
// ends with both. Then A (now behind) paints, saves, and chooses "Open theirs": B's labels are
// shown, nothing new is written, and A's strokes are kept as a draft.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProject } from '../../main/app/demo-project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const E2E_TEST_TIMEOUT = 400_000;
const skipReason = missingPrerequisite();

async function unsavedCount(page: Page): Promise<number> {
  const text = (await page.locator('[data-testid="unsaved"]').textContent({ timeout: 1000 }).catch(() => null)) ?? '0';
  return Number(/(\d+)/.exec(text)?.[1] ?? 0);
}

async function waitForPainted(page: Page): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const n = await unsavedCount(page);
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (n > 0 && Date.now() - stableSince >= 600) return n;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the stroke (unsaved count ${n})`);
    await page.waitForTimeout(100);
  }
}

async function stroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const box = await page.locator('[data-testid="viewport-axial"]').boundingBox();
  if (!box) throw new Error('viewport-axial has no box');
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 12 });
  await page.mouse.up();
}

async function openCase(page: Page, openUrl: string, imageId: string): Promise<void> {
  await page.goto(openUrl);
  await page.waitForSelector(`[data-testid="case-row-${imageId}"]`, { timeout: 120_000 });
  await page.evaluate(() => performance.clearMarks());
  await page.locator(`[data-testid="case-row-${imageId}"]`).click();
  await page.waitForFunction(() => performance.getEntriesByName('segloop:first-frame').length > 0, null, { timeout: 120_000 });
  await page.waitForFunction(() => /Version|No label/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 60_000 });
}

async function paint(page: Page, y: number): Promise<number> {
  await page.locator('[data-testid="segment-1"]').click();
  await page.locator('[data-testid="tool-brush"]').click();
  await stroke(page, [0.25, y], [0.75, y]);
  return waitForPainted(page);
}

const statusOf = (page: Page): Promise<string> => page.locator('[data-testid="status"]').textContent().then((t) => t ?? '');

describe.skipIf(skipReason !== null)(`label save conflicts in two tabs${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let server: ServeProcess;
  let browser: Browser;
  let a: Page;
  let b: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    dir = path.join(os.tmpdir(), `segloop-e2e-conflict-${process.pid}-${Date.now()}`);
    await createDemoProject(dir);
    server = await serveProject(dir);
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
    a = await context.newPage();
    b = await context.newPage();
    a.setDefaultTimeout(60_000);
    b.setDefaultTimeout(60_000);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, E2E_TEST_TIMEOUT);

  it('the second save gets the dialog; "keep mine" puts it on top of theirs; "open theirs" shows theirs and writes nothing', async () => {
    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    const start = db.prepare('SELECT image_id AS imageId, id FROM label_versions ORDER BY id LIMIT 1').get() as { imageId: number; id: number };
    const versions = (): { id: number; parent_id: number | null; path: string; sha256: string; author: string }[] =>
      db.prepare('SELECT id, parent_id, path, sha256, author FROM label_versions WHERE image_id = ? ORDER BY id').all(start.imageId) as never;
    expect(versions()).toHaveLength(1);

    await openCase(a, server.openUrl, String(start.imageId));
    await openCase(b, server.openUrl, String(start.imageId));
    await paint(a, 0.3);
    await paint(b, 0.6);

    await a.locator('[data-testid="save"]').click();
    await a.waitForFunction(() => /Saved version/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''));
    const theirs = versions().at(-1)!;
    expect(theirs.parent_id).toBe(start.id);

    await b.locator('[data-testid="save"]').click();
    const dialog = b.locator('[data-testid="label-conflict-dialog"]');
    await dialog.waitFor({ state: 'visible' });
    expect(await b.locator('[data-testid="conflict-version"]').textContent()).toBe(String(theirs.id));
    expect(await b.locator('[data-testid="conflict-author"]').textContent()).toBe(theirs.author);
    expect(versions()).toHaveLength(2); // nothing written by the refused save
    await b.screenshot({ path: path.join(ARTIFACTS, 'label-conflict-dialog.png') });

    await b.locator('[data-testid="conflict-keep-mine"]').click();
    await b.waitForFunction(() => /Saved version/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''));
    expect(await dialog.count()).toBe(0);
    const all = versions();
    expect(all).toHaveLength(3);
    const mine = all[2];
    expect(mine.parent_id).toBe(theirs.id);
    for (const v of all) expect(createHash('sha256').update(readFileSync(path.join(dir, v.path))).digest('hex')).toBe(v.sha256);
    expect(mine.sha256).not.toBe(theirs.sha256);
    await b.screenshot({ path: path.join(ARTIFACTS, 'label-conflict-kept-mine.png') });

    // Tab A is now behind: its next save conflicts too; it opens theirs instead.
    await paint(a, 0.45);
    await a.locator('[data-testid="save"]').click();
    await a.locator('[data-testid="label-conflict-dialog"]').waitFor({ state: 'visible' });
    expect(await a.locator('[data-testid="conflict-version"]').textContent()).toBe(String(mine.id));
    await a.locator('[data-testid="conflict-load-theirs"]').click();
    await a.waitForFunction(() => /loaded; your strokes are kept as a draft/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''));
    expect(await unsavedCount(a)).toBe(0);
    expect(versions()).toHaveLength(3);
    expect(await statusOf(a)).toContain(String(mine.id));
    await a.screenshot({ path: path.join(ARTIFACTS, 'label-conflict-opened-theirs.png') });
    // A's strokes were kept as a draft on the version it painted on (offered back by the banner).
    const kept = JSON.parse(readFileSync(path.join(dir, '.segloop', 'drafts', `image-${start.imageId}.json`), 'utf8')) as { parentVersionId: number | null; changedVoxels: number };
    expect(kept).toMatchObject({ parentVersionId: theirs.id });
    expect(kept.changedVoxels).toBeGreaterThan(0);
    db.close();
  }, E2E_TEST_TIMEOUT);
});
