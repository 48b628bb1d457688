/// <reference lib="dom" />
// Unsaved-stroke recovery in the browser (real mouse): paint without saving, the page dies without
// its unload handlers (a crashed window / killed app), a new page opens the same case and is offered
// the strokes back; Restore brings them back as unsaved changes (undoable), Save writes a version
// holding them and removes the draft. A second crash then Discard drops the offer for good.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, waitForStatus, waitForUnsaved, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

async function unsaved(page: Page): Promise<number> {
  const t = (await page.locator('[data-testid="unsaved"]').textContent({ timeout: 1000 }).catch(() => null)) ?? '0';
  return Number(/(\d+)/.exec(t)?.[1] ?? 0);
}

async function openCase(page: Page, url: string, imageId: string): Promise<void> {
  await page.goto(url);
  await openCaseFromCases(page, imageId);
}

async function paint(page: Page, y: number): Promise<void> {
  const box = (await page.locator('[data-testid="viewport-axial"]').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * y, { steps: 12 });
  await page.mouse.up();
}

describe.skipIf(skipReason !== null)(`unsaved-stroke recovery${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('drafts');
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('offers the strokes back after a crash, restores them, and a save keeps them', async () => {
    const { dir, server, browser } = demo;
    const ro = await ProjectStore.open(dir, { readOnly: true });
    const labelled = new Set(ro.labelVersions.latestPerImage().map((v) => v.imageId));
    const target = ro.images.list().find((i) => !labelled.has(i.id))!;
    ro.close();
    const imageId = String(target.id);
    const draftFile = path.join(dir, '.segloop/drafts', `image-${imageId}.json`);

    let page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    page.setDefaultTimeout(60_000);
    await openCase(page, server.openUrl, imageId);
    await page.locator('[data-testid="segment-1"]').click();
    await page.locator('[data-testid="tool-brush"]').click();
    await paint(page, 0.5);
    await page.waitForFunction(() => /\d+ voxels unsaved/.test(document.querySelector('[data-testid="unsaved"]')?.textContent ?? ''), null, { timeout: 60_000 });
    // the draft lands in the project a couple of seconds after the last edit
    const deadline = Date.now() + 60_000;
    while (!existsSync(draftFile) && Date.now() < deadline) await page.waitForTimeout(200);
    expect(existsSync(draftFile)).toBe(true);
    await page.waitForTimeout(2500); // let the last debounced draft (with the final count) land
    const painted = await unsaved(page);
    expect(painted).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(draftFile, 'utf8')).changedVoxels).toBe(painted);

    // the window dies: no beforeunload, no save
    await page.close({ runBeforeUnload: false });

    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
    await openCase(page, server.openUrl, imageId);
    await page.waitForSelector('[data-testid="draft-banner"]', { timeout: 60_000 });
    expect(await page.locator('[data-testid="draft-banner"]').textContent()).toContain(`${painted} voxels`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'draft-recovery-1280x800.png') });
    await page.locator('[data-testid="draft-restore"]').click();
    await waitForUnsaved(page, painted, 60_000);
    expect(await page.locator('[data-testid="draft-banner"]').count()).toBe(0);
    // restoring is one undoable edit
    await page.locator('[data-testid="undo"]').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
    await page.keyboard.press('Control+Shift+z');
    await waitForUnsaved(page, painted);
    await page.locator('[data-testid="save"]').click();
    await waitForStatus(page, /Saved version/);
    const saved = Number(/(\d+) voxels changed/.exec((await page.locator('[data-testid="status"]').textContent()) ?? '')?.[1]);
    expect(saved).toBe(painted);
    const deadline2 = Date.now() + 30_000;
    while (existsSync(draftFile) && Date.now() < deadline2) await page.waitForTimeout(200);
    expect(existsSync(draftFile)).toBe(false);

    // crash again with new strokes, then Discard: the offer does not come back
    await paint(page, 0.65);
    const deadline3 = Date.now() + 60_000;
    while (!existsSync(draftFile) && Date.now() < deadline3) await page.waitForTimeout(200);
    await page.close({ runBeforeUnload: false });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openCase(page, server.openUrl, imageId);
    await page.waitForSelector('[data-testid="draft-banner"]', { timeout: 60_000 });
    await page.locator('[data-testid="draft-discard"]').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="draft-banner"]'));
    const deadline4 = Date.now() + 30_000;
    while (existsSync(draftFile) && Date.now() < deadline4) await page.waitForTimeout(200);
    expect(existsSync(draftFile)).toBe(false);
    await page.close();
  }, 600_000);
});
