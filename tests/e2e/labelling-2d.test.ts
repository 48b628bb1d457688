/// <reference lib="dom" />
// A W x H x 1 image opens in one 2D viewport (no MPR, no crosshairs), takes a brush stroke, and
// saves a W x H x 1 label that nibabel reads back with the counted voxels.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { DEMO, ROOT } from './test-project';

const skipReason = missingPrerequisite();
const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');

/** A real 2D picture: the middle axial slice of a demo case, stored as W x H x 1. */
async function make2dProject(): Promise<string> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'segloop-2d-'));
  const vol = await readNifti(path.join(DEMO, 'images/hippocampus_014.nii.gz'));
  const [X, Y, Z] = vol.shape;
  const k = Math.floor(Z / 2);
  const slice = new Float32Array(X * Y);
  for (let i = 0; i < X * Y; i++) slice[i] = vol.data[i + X * Y * k];
  const src = path.join(work, 'slice2d.nii.gz');
  await writeNifti(src, { data: slice, shape: [X, Y, 1], affine: vol.affine });
  const dir = path.join(work, 'project');
  const store = await ProjectStore.create(dir, { name: '2D' });
  try {
    store.labelSchema.set([
      { idx: 0, name: 'background', colour: '#000000' },
      { idx: 1, name: 'structure', colour: '#e6553a' },
    ]);
    await store.addImageFile({ sourcePath: src, patientExternalId: 'p2d', shape: [X, Y, 1], spacing: vol.spacing, affine: vol.affine, dtype: 'float32', modality: 'US', split: 'pool' });
  } finally {
    store.close();
  }
  return dir;
}

describe.skipIf(skipReason !== null)(`2D labelling${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    dir = await make2dProject();
    server = await serveProject(dir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.setDefaultTimeout(60_000);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(path.dirname(dir), { recursive: true, force: true });
  }, 120_000);

  it('labels a W x H x 1 image in a single viewport and saves a W x H x 1 label', async () => {
    await page.goto(server.openUrl);
    await page.locator('[data-testid="case-row-1"]').click();
    await page.waitForFunction(() => /No label yet/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page.locator('[data-testid="viewport-2d"]').count()).toBe(1);
    expect(await page.locator('[data-testid="viewport-sagittal"]').count()).toBe(0);
    expect(await page.locator('[data-testid="tool-crosshairs"]').isDisabled()).toBe(true);

    const box = (await page.locator('[data-testid="viewport-2d"]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.45);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.55, { steps: 10 });
    await page.mouse.up();
    await page.waitForFunction(() => /\d+ voxels unsaved/.test(document.querySelector('[data-testid="unsaved"]')?.textContent ?? ''));
    // Let the stroke settle before reading the count the UI will save.
    let last = '';
    for (let same = 0; same < 5; ) {
      const now = (await page.locator('[data-testid="unsaved"]').textContent()) ?? '';
      same = now === last ? same + 1 : 0;
      last = now;
      await page.waitForTimeout(150);
    }
    const counted = Number(/(\d+)/.exec(last)![1]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-2d.png') });
    await page.locator('[data-testid="save"]').click();
    await page.waitForFunction(() => /Saved version/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''));

    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    const row = db.prepare('SELECT path, voxels_changed AS n, source FROM label_versions').get() as { path: string; n: number; source: string };
    db.close();
    expect(row).toMatchObject({ n: counted, source: 'manual' });
    const py = 'import nibabel as nib, numpy as np, sys, json; d=np.asanyarray(nib.load(sys.argv[1]).dataobj); print(json.dumps({"shape": list(d.shape), "ones": int((d == 1).sum())}))';
    const back = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, path.join(dir, row.path)], { encoding: 'utf8' })) as { shape: number[]; ones: number };
    expect(back.ones).toBe(counted);
    expect(back.shape.slice(0, 2)).toEqual([39, 50]);
    expect(back.shape.slice(2).every((d) => d === 1)).toBe(true);
  }, 300_000);
});
