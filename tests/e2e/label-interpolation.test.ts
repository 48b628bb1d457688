/// <reference lib="dom" />
// Fill between slices from the Labelling screen with the network cut off (every request that is
// not the app's own origin is aborted and counted): a label drawn on every 3rd axial slice, the
// "Fill between slices" button, the preview bar (discard = undo, then keep), Save; the saved
// version equals core's ITK interpolation of the sparse label and lies close to the full label.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillBetweenSlices } from '../../main/core/imaging/label-interpolation';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, waitForStatus, waitForUnsaved, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const skipReason = missingPrerequisite();

describe.skipIf(skipReason !== null)(`fill between slices, offline${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('interp');
    page = await demo.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('interpolates the unlabelled slices in the app, previews, keeps, saves — with no request leaving the app', async () => {
    const { dir, server } = demo;
    // a sparse version of a real label: segment 1 on every 3rd of its axial slices only
    const ro = await ProjectStore.open(dir, { readOnly: true });
    const v = ro.labelVersions.latestPerImage()[0];
    const vol = await readNifti(await ro.resolve(v.path));
    ro.close();
    const [X, Y, Z] = vol.shape;
    const full = Uint8Array.from(vol.data, (x) => (x === 1 ? 1 : 0));
    const zs = Array.from({ length: Z }, (_, z) => z).filter((z) => full.subarray(z * X * Y, (z + 1) * X * Y).some((x) => x === 1));
    const keep = new Set(zs.filter((_, k) => k % 3 === 0 || k === zs.length - 1));
    const sparse = full.slice();
    for (let z = 0; z < Z; z++) if (!keep.has(z)) sparse.fill(0, z * X * Y, (z + 1) * X * Y);
    // segment 2 stays as drawn: only segment 1 is sparse
    const sparseWithOthers = Uint8Array.from(vol.data, (x, i) => (x === 1 ? sparse[i] : x));

    const origin = new URL(server.url).origin;
    const blocked: string[] = [];
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
      blocked.push(u);
      return route.abort('internetdisconnected');
    });
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid^="case-row-"]');
    // save the sparse label through the app's own API (same origin, token cookie)
    const saved = await page.evaluate(
      async ([imageId, parent, b64]) => {
        const r = await fetch(`/api/labels:save`, { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify({ imageId, parentVersionId: parent, voxelsGzBase64: b64, secondsSpent: 1, source: 'manual' }) });
        return r.json();
      },
      [String(v.imageId), String(v.id), zlib.gzipSync(sparseWithOthers).toString('base64')] as const,
    );
    expect(saved.ok, JSON.stringify(saved)).toBe(true);

    await openCaseFromCases(page, v.imageId);
    await page.locator('[data-testid="segment-1"]').click();
    await page.locator('[data-testid="op-interp-axis"]').selectOption('2');
    const fill = async () => {
      await page.locator('[data-testid="op-interpolate"]').click();
      await page.waitForSelector('[data-testid="op-preview"]', { timeout: 120_000 });
    };
    await fill();
    const added = Number(/added (\d+) voxels/.exec((await page.locator('[data-testid="op-preview"]').textContent()) ?? '')?.[1]);
    expect(added).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-fill-between-slices-1400x900.png') });
    // discard = one undo: nothing unsaved any more
    await page.locator('[data-testid="op-preview-discard"]').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
    await fill();
    await page.locator('[data-testid="op-preview-keep"]').click();
    expect(await page.locator('[data-testid="op-preview"]').count()).toBe(0);
    await waitForUnsaved(page, added);
    await page.locator('[data-testid="save"]').click();
    await waitForStatus(page, /Saved version/);

    const ro2 = await ProjectStore.open(dir, { readOnly: true });
    const latest = ro2.labelVersions.latestPerImage().find((x) => x.imageId === v.imageId)!;
    const got = Uint8Array.from((await readNifti(await ro2.resolve(latest.path))).data);
    ro2.close();
    const want = (await fillBetweenSlices(sparseWithOthers, [X, Y, Z], vol.spacing as [number, number, number], 1, 2)).labels;
    let differ = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) differ++;
    expect(differ).toBe(0);
    expect(blocked).toEqual([]);
  }, 600_000);
});
