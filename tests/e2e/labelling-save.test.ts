/// <reference lib="dom" />
// Save integrity in the browser with the real mouse: a double-click on Save — and a burst of clicks
// through the whole save and the moment after it — makes exactly one version; afterwards Save is
// disabled, and Ctrl+S writes nothing, until the draft differs again (a status change counts).
// The server side: a save equal to the newest version (voxels + statuses) answers unchanged: true
// with that version and writes none (audited); one based on a stale version is LABEL_CONFLICT.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, unsavedCount, waitForStatus, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

interface VersionRow {
  id: number;
  parentId: number | null;
  voxelsChanged: number | null;
  voxels: Uint8Array;
  statuses: { classIndex: number; status: string; note: string | null }[];
}

async function versionsOf(dir: string, imageId: number): Promise<{ versions: VersionRow[]; unchangedAudits: number }> {
  const store = await ProjectStore.open(dir, { readOnly: true });
  try {
    const versions: VersionRow[] = [];
    for (const v of store.labelVersions.listForImage(imageId)) {
      const vol = await readNifti(await store.resolve(v.path));
      const statuses = store.labelVersions.statuses.listForVersion(v.id).map((s) => ({ classIndex: s.classIdx, status: s.status, note: s.note }));
      versions.push({ id: v.id, parentId: v.parentId, voxelsChanged: v.voxelsChanged, voxels: Uint8Array.from(vol.data), statuses });
    }
    return { versions, unchangedAudits: store.audit.list({ action: 'label_version.save_unchanged' }).length };
  } finally {
    store.close();
  }
}

/** Waits until the unsaved count is non-zero and has not changed for 800 ms. */
async function settledUnsaved(page: Page): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await unsavedCount(page);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n > 0 && Date.now() - since > 800) return n;
    if (Date.now() > deadline) throw new Error(`the unsaved count did not settle (last ${n})`);
    await page.waitForTimeout(100);
  }
}

/** labels:save through the app's own HTTP API (same origin, token cookie), as another client would. */
async function apiSave(page: Page, body: Record<string, unknown>): Promise<{ ok: boolean; value?: { version: { id: string }; voxelsChanged: number; unchanged?: boolean }; error?: { code: string } }> {
  return page.evaluate(async (b) => {
    const r = await fetch('/api/labels:save', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify(b) });
    return r.json();
  }, body);
}

describe.skipIf(skipReason !== null)(`label save integrity${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;
  let page: Page;
  let imageId = 0;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('labsave');
    const ro = await ProjectStore.open(demo.dir, { readOnly: true });
    const labelled = new Set(ro.labelVersions.latestPerImage().map((v) => v.imageId));
    imageId = ro.images.list().find((img) => !labelled.has(img.id))!.id;
    ro.close();
    page = await demo.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(demo.server.openUrl);
    await page.locator('select[aria-label="Label status"]').selectOption('unlabelled');
    await openCaseFromCases(page, imageId);
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('a double-click and a burst of clicks on Save make one version; then Save and Ctrl+S write nothing until the draft differs', async () => {
    const saveButton = page.locator('[data-testid="save"]');
    expect(await saveButton.isDisabled()).toBe(true);
    await page.locator('[data-testid="segment-1"]').click();
    await page.locator('[data-testid="tool-brush"]').click();
    const vp = (await page.locator('[data-testid="viewport-axial"]').boundingBox())!;
    await page.mouse.move(vp.x + vp.width * 0.3, vp.y + vp.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width * 0.7, vp.y + vp.height * 0.5, { steps: 10 });
    await page.mouse.up();
    const painted = await settledUnsaved(page);
    expect(await saveButton.isEnabled()).toBe(true);

    // the real mouse on the button's centre: a double-click, then a click every 30 ms for 3 s
    // (through the request, the answer and the status panel's reload after it; mouse.click does not
    // wait for the button to be enabled, so a click on an enabled button would be sent)
    const b = (await saveButton.boundingBox())!;
    const [x, y] = [b.x + b.width / 2, b.y + b.height / 2];
    await page.mouse.dblclick(x, y);
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      await page.mouse.click(x, y);
      await page.waitForTimeout(30);
    }
    await waitForStatus(page, /Saved version/);
    await page.waitForTimeout(1500);
    let db = await versionsOf(demo.dir, imageId);
    expect(db.versions.map((v) => v.voxelsChanged)).toEqual([painted]);
    expect(await unsavedCount(page)).toBe(0);
    expect(await saveButton.isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-saved-disabled-1400x900.png') });

    // Ctrl+S with nothing changed writes nothing
    await page.keyboard.press('Control+s');
    await page.waitForTimeout(1500);
    expect((await versionsOf(demo.dir, imageId)).versions).toHaveLength(1);

    // The server: the same voxels and statuses on the newest version are "unchanged"
    const v1 = db.versions[0];
    const same = await apiSave(page, {
      imageId: String(imageId),
      parentVersionId: String(v1.id),
      voxelsGzBase64: zlib.gzipSync(v1.voxels).toString('base64'),
      secondsSpent: 1,
      source: 'manual',
      segmentStatus: v1.statuses,
    });
    expect(same).toMatchObject({ ok: true, value: { version: { id: String(v1.id) }, voxelsChanged: 0, unchanged: true } });
    db = await versionsOf(demo.dir, imageId);
    expect(db.versions).toHaveLength(1);
    expect(db.unchangedAudits).toBe(1);

    // A status change alone is worth a version: Save enables, one click, then disabled again
    await page.locator('[data-testid="segment-status-1"]').selectOption('in_progress');
    await expect.poll(() => saveButton.isEnabled()).toBe(true);
    await saveButton.click();
    await waitForStatus(page, /Saved version/);
    await expect.poll(() => saveButton.isDisabled()).toBe(true);
    await page.waitForTimeout(1500);
    expect(await saveButton.isDisabled()).toBe(true);
    db = await versionsOf(demo.dir, imageId);
    expect(db.versions.map((v) => [v.parentId, v.voxelsChanged])).toEqual([
      [null, painted],
      [v1.id, 0],
    ]);
    expect(db.versions[1].statuses.find((s) => s.classIndex === 1)?.status).toBe('in_progress');

    // Based on the stale first version, the same voxels are a conflict (another client is behind)
    const stale = await apiSave(page, {
      imageId: String(imageId),
      parentVersionId: String(v1.id),
      voxelsGzBase64: zlib.gzipSync(v1.voxels).toString('base64'),
      secondsSpent: 1,
      source: 'manual',
      segmentStatus: v1.statuses,
    });
    expect(stale).toMatchObject({ ok: false, error: { code: 'LABEL_CONFLICT' } });
    expect((await versionsOf(demo.dir, imageId)).versions).toHaveLength(2);
  }, 600_000);
});
