/// <reference lib="dom" />
// Browser end-to-end of the Review screen: `segloop serve` on a temporary project holding filed
// predictions (label map + float32 uncertainty map, as the predict job stores them), Debian
// Chromium, real mouse and keyboard. Edit one (paint, S), accept one (A) after a label saved
// meanwhile is refused and shown, reject one (X), batch-accept two after the confirmation; then
// the database holds the ai_edited / ai_accepted versions with the model and the review rows.
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNifti, readNifti } from '../../main/core/imaging/nifti';
import type { Mat4 } from '../../main/core/imaging/volume';
import { ProjectStore } from '../../main/core/project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject, type ServeProcess } from './harness';
import { DEMO, ROOT, makeTestProject } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const E2E_TEST_TIMEOUT = 300_000;
const skipReason = missingPrerequisite();

interface Fixture {
  modelId: number;
  /** prediction id by role */
  pred: Record<'edit' | 'accept' | 'reject' | 'batchA' | 'batchB', number>;
  imageOf: Record<number, number>;
}

/**
 * A plausible uncertainty map: highest on the label boundary (where a model is unsure), falling off
 * linearly over four voxels (6-neighbour distance), 0 elsewhere.
 */
function boundaryMap(labels: Uint8Array, [X, Y, Z]: [number, number, number]): Float32Array {
  const dist = new Int16Array(labels.length).fill(-1);
  let frontier: number[] = [];
  const neighbours = (idx: number): number[] => {
    const i = idx % X;
    const j = Math.floor(idx / X) % Y;
    const k = Math.floor(idx / (X * Y));
    const out: number[] = [];
    if (i > 0) out.push(idx - 1);
    if (i < X - 1) out.push(idx + 1);
    if (j > 0) out.push(idx - X);
    if (j < Y - 1) out.push(idx + X);
    if (k > 0) out.push(idx - X * Y);
    if (k < Z - 1) out.push(idx + X * Y);
    return out;
  };
  for (let idx = 0; idx < labels.length; idx++) {
    if (neighbours(idx).some((n) => labels[n] !== labels[idx])) {
      dist[idx] = 0;
      frontier.push(idx);
    }
  }
  for (let d = 1; d <= 4; d++) {
    const next: number[] = [];
    for (const idx of frontier) {
      for (const n of neighbours(idx)) {
        if (dist[n] >= 0) continue;
        dist[n] = d;
        next.push(n);
      }
    }
    frontier = next;
  }
  const out = new Float32Array(labels.length);
  // TTA variance of probabilities: up to 0.1 on the boundary (flips disagreeing strongly).
  for (let idx = 0; idx < out.length; idx++) if (dist[idx] >= 0) out[idx] = 0.1 * (1 - dist[idx] / 5);
  return out;
}

/** Predictions filed from the demo labels (the review path does not depend on who made them). */
async function buildFixture(dir: string, names: string[]): Promise<Fixture> {
  const store = await ProjectStore.open(dir, { actor: 'e2e' });
  try {
    const m = store.models.create({ architecture: 'unet2d', config: {}, metrics: {} });
    await store.addModelWeightsFile(m.id, new Uint8Array([1, 2, 3, 4]));
    const images = store.images.list();
    const byName = new Map(images.map((img) => [img.sourceName, img]));
    const roles: [keyof Fixture['pred'], number][] = [['edit', 0.6], ['accept', 0.7], ['reject', 0.8], ['batchA', 0.97], ['batchB', 0.95]];
    const pred = {} as Fixture['pred'];
    const imageOf: Record<number, number> = {};
    for (const [k, [role, confidence]] of roles.entries()) {
      const img = byName.get(names[k])!;
      const labelPath = path.join(DEMO, 'labels', names[k]);
      const vol = await readNifti(labelPath);
      const labels = Uint8Array.from(vol.data);
      const shape = img.shape as [number, number, number];
      const uncertainty = boundaryMap(labels, shape);
      if (role === 'reject') {
        // An older label on this image, different from the prediction (half its slices), to compare against.
        const older = labels.slice();
        for (let i = 0; i < older.length / 2; i++) older[i] = 0;
        await store.addLabelVersionFile({ imageId: img.id, source: 'imported', author: 'e2e', bytes: gzipSync(encodeNifti({ data: older, shape, affine: img.affine as Mat4 }, { dtype: 'uint8' })) });
        await new Promise((r) => setTimeout(r, 5));
      }
      const row = await store.addPredictionFiles({
        imageId: img.id,
        modelId: m.id,
        tta: true,
        // confidence = 1 - meanEntropy / ln 3 for the three classes of the schema
        scores: { meanEntropy: (1 - confidence) * Math.log(3), meanTtaVariance: 0.01, foregroundVoxels: labels.filter((v) => v > 0).length },
        bytes: new Uint8Array(readFileSync(labelPath)),
        uncertaintyBytes: gzipSync(encodeNifti({ data: uncertainty, shape, affine: img.affine as Mat4 }, { dtype: 'float32' })),
      });
      pred[role] = row.id;
      imageOf[row.id] = img.id;
    }
    return { modelId: m.id, pred, imageOf };
  } finally {
    store.close();
  }
}

async function loaded(page: Page, predictionId: number): Promise<void> {
  await page.waitForFunction((id) => document.querySelector('[data-testid="review-screen"]')?.getAttribute('data-loaded-prediction') === id, String(predictionId), { timeout: 120_000 });
}

async function waitText(page: Page, testId: string, text: string): Promise<void> {
  await page.waitForFunction(([id, t]) => (document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '').includes(t), [testId, text] as const, { timeout: 60_000 });
}

async function editedCount(page: Page): Promise<number> {
  const text = (await page.locator('[data-testid="review-unsaved"]').textContent({ timeout: 1000 }).catch(() => null)) ?? '0';
  return Number(/(\d+)/.exec(text)?.[1] ?? 0);
}

async function stroke(page: Page, testId: string, from: [number, number], to: [number, number]): Promise<void> {
  const box = await page.locator(`[data-testid="${testId}"]`).boundingBox();
  if (!box) throw new Error(`${testId} has no box`);
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 14 });
  await page.mouse.up();
}

describe.skipIf(skipReason !== null)(`review in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let fx: Fixture;
  let token = '';

  async function api(name: string, input: unknown): Promise<{ ok: boolean; value?: Record<string, unknown>; error?: { code: string } }> {
    const r = await fetch(`${server.url}/api/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Segloop-Token': token }, body: JSON.stringify(input) });
    return (await r.json()) as { ok: boolean; value?: Record<string, unknown>; error?: { code: string } };
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureRendererBuilt();
    const made = await makeTestProject({ labelled: 0 });
    dir = made.dir;
    fx = await buildFixture(dir, made.names);
    server = await serveProject(dir);
    token = new URL(server.openUrl).searchParams.get('token') ?? '';
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, E2E_TEST_TIMEOUT);

  it('edits the least confident prediction with the mouse and saves it with S', async () => {
    await page.goto(server.openUrl);
    await page.locator('[data-testid="nav-review"]').click();
    await loaded(page, fx.pred.edit);
    await expect.poll(() => page.locator('[data-testid^="review-row-"]').count()).toBe(5);
    // The legend on screen names the decision keys.
    const legend = await page.locator('[data-testid="review-keys"]').textContent();
    for (const k of ['A', 'X', 'N']) expect(legend).toContain(k);

    await page.locator('[data-testid="segment-1"]').click();
    await page.keyboard.press('b');
    await page.locator('[data-testid="brush-size"]').fill('4');
    await stroke(page, 'viewport-axial', [0.1, 0.45], [0.9, 0.5]);
    await expect.poll(() => editedCount(page), { timeout: 60_000 }).toBeGreaterThan(0);
    // Let the stroke settle so the saved labelmap is the one counted.
    let last = -1;
    await expect
      .poll(async () => {
        const n = await editedCount(page);
        const stable = n === last;
        last = n;
        return stable && n > 0;
      }, { timeout: 60_000, interval: 700 })
      .toBe(true);
    const shown = await editedCount(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'review-edit-1280x800.png') });

    // A refuses to accept an edited prediction unchanged; nothing is saved.
    await page.keyboard.press('a');
    await waitText(page, 'review-error', 'save the edit');
    await page.keyboard.press('s');
    await loaded(page, fx.pred.accept);

    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      const lv = db.prepare("SELECT * FROM label_versions WHERE source = 'ai_edited'").all() as { id: number; image_id: number; model_id: number; voxels_changed: number; seconds_spent: number; path: string }[];
      expect(lv).toHaveLength(1);
      expect(lv[0]).toMatchObject({ image_id: fx.imageOf[fx.pred.edit], model_id: fx.modelId, voxels_changed: shown });
      expect(lv[0].seconds_spent).toBeGreaterThan(0);
      // The saved file differs from the prediction in exactly the voxels counted.
      const saved = await readNifti(path.join(dir, lv[0].path));
      const predRow = db.prepare('SELECT path FROM predictions WHERE id = ?').get(fx.pred.edit) as { path: string };
      const predicted = await readNifti(path.join(dir, predRow.path));
      let diff = 0;
      for (let i = 0; i < saved.data.length; i++) if (saved.data[i] !== predicted.data[i]) diff++;
      expect(diff).toBe(shown);
      const review = db.prepare('SELECT * FROM reviews WHERE prediction_id = ?').get(fx.pred.edit) as { decision: string; label_version_id: number; seconds_spent: number };
      expect(review).toMatchObject({ decision: 'edit', label_version_id: lv[0].id });
      expect(review.seconds_spent).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  }, E2E_TEST_TIMEOUT);

  it('refuses to accept over a label saved meanwhile, shows it, then accepts on top with A', async () => {
    const imageId = fx.imageOf[fx.pred.accept];
    // Someone saves a manual label on this image while the reviewer looks at the prediction.
    const img = (await api('images:get', { imageId: String(imageId) })).value as { shape: number[] };
    const manual = new Uint8Array(img.shape[0] * img.shape[1] * img.shape[2]);
    manual.fill(2, 0, 50);
    const saved = await api('labels:save', { imageId: String(imageId), parentVersionId: null, voxelsGzBase64: gzipSync(manual).toString('base64'), secondsSpent: 3, source: 'manual' });
    expect(saved.ok).toBe(true);
    const manualId = Number((saved.value as { version: { id: string } }).version.id);

    await page.keyboard.press('a');
    await waitText(page, 'review-error', 'Nothing was saved');
    expect(await page.locator('[data-testid="reload-label"]').isVisible()).toBe(true);
    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      expect((db.prepare("SELECT count(*) AS n FROM label_versions WHERE source = 'ai_accepted'").get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
    await page.locator('[data-testid="reload-label"]').click();
    await loaded(page, fx.pred.accept);
    expect(await page.locator('[data-testid="toggle-compare"]').isEnabled()).toBe(true);
    await page.keyboard.press('a');
    await loaded(page, fx.pred.reject);

    const db2 = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      const lv = db2.prepare("SELECT * FROM label_versions WHERE source = 'ai_accepted'").all() as { image_id: number; model_id: number; parent_id: number; voxels_changed: number }[];
      expect(lv).toEqual([expect.objectContaining({ image_id: imageId, model_id: fx.modelId, parent_id: manualId, voxels_changed: 0 })]);
      expect(db2.prepare("SELECT source FROM label_versions WHERE id = ?").get(manualId)).toEqual({ source: 'manual' });
      const review = db2.prepare('SELECT * FROM reviews WHERE prediction_id = ?').get(fx.pred.accept) as { decision: string; seconds_spent: number | null };
      expect(review.decision).toBe('accept');
      expect(review.seconds_spent).not.toBeNull();
    } finally {
      db2.close();
    }
  }, E2E_TEST_TIMEOUT);

  it('shows the uncertainty heat map and the current label, at two window sizes, and rejects with X', async () => {
    expect(await page.locator('[data-testid="toggle-compare"]').isChecked()).toBe(true);
    expect(await page.locator('[data-testid="heat-opacity"]').isEnabled()).toBe(true);
    await page.locator('[data-testid="heat-opacity"]').fill('1');
    await page.waitForTimeout(500);
    const withHeat = await page.locator('[data-testid="viewport-axial"]').screenshot();
    await page.keyboard.press('u');
    await expect.poll(() => page.locator('[data-testid="heat-opacity"]').inputValue()).toBe('0');
    await page.waitForTimeout(500);
    const withoutHeat = await page.locator('[data-testid="viewport-axial"]').screenshot();
    expect(Buffer.compare(withHeat, withoutHeat)).not.toBe(0);
    await page.keyboard.press('u');
    await expect.poll(() => page.locator('[data-testid="heat-opacity"]').inputValue()).toBe('1');
    await page.locator('[data-testid="heat-opacity"]').fill('0.6');
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'review-1280x800.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'review-1920x1080.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.waitForTimeout(500);

    const versionsBefore = await countVersions();
    await page.keyboard.press('x');
    await loaded(page, fx.pred.batchB);
    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      const review = db.prepare('SELECT * FROM reviews WHERE prediction_id = ?').get(fx.pred.reject) as { decision: string; label_version_id: number | null; seconds_spent: number | null };
      expect(review).toMatchObject({ decision: 'reject', label_version_id: null });
      expect(review.seconds_spent).not.toBeNull();
    } finally {
      db.close();
    }
    expect(await countVersions()).toBe(versionsBefore);
  }, E2E_TEST_TIMEOUT);

  it('batch-accepts the predictions above the threshold only after listing them', async () => {
    await page.locator('[data-testid="tab-batch"]').click();
    await expect.poll(() => page.locator('[data-testid^="batch-row-"]').count()).toBe(2);
    // The one-by-one viewer was disposed: image, prediction, heat and comparison volumes all freed.
    const stats = await page.evaluate(() => (window as unknown as { segloopDebug: { viewerCacheStats(): { volumes: number; segmentations: number } } }).segloopDebug.viewerCacheStats());
    expect(stats).toMatchObject({ volumes: 0, segmentations: 0 });
    // Raising the threshold above one of them leaves one.
    await page.locator('[data-testid="batch-threshold"]').fill('0.96');
    await expect.poll(() => page.locator('[data-testid^="batch-row-"]').count()).toBe(1);
    await page.locator('[data-testid="batch-threshold"]').fill('0.9');
    await expect.poll(() => page.locator('[data-testid^="batch-row-"]').count()).toBe(2);
    const before = await countVersions();
    await page.locator('[data-testid="batch-accept"]').click();
    await expect.poll(() => page.locator('[data-testid="batch-confirm-list"] li').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'review-batch-1280x800.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'review-batch-1920x1080.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    // Nothing is written before the confirmation.
    expect(await countVersions()).toBe(before);
    await page.locator('[data-testid="batch-confirm-accept"]').click();
    await waitText(page, 'batch-result', 'Accepted 2');
    expect(await countVersions()).toBe(before + 2);

    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      for (const id of [fx.pred.batchA, fx.pred.batchB]) {
        const r = db.prepare('SELECT r.decision, lv.source, lv.model_id, lv.image_id FROM reviews r JOIN label_versions lv ON lv.id = r.label_version_id WHERE r.prediction_id = ?').get(id);
        expect(r).toEqual({ decision: 'accept', source: 'ai_accepted', model_id: fx.modelId, image_id: fx.imageOf[id] });
      }
      const decisions = db.prepare('SELECT decision FROM reviews ORDER BY id').all().map((r) => (r as { decision: string }).decision);
      expect(decisions).toEqual(['edit', 'accept', 'reject', 'accept', 'accept']);
    } finally {
      db.close();
    }
  }, E2E_TEST_TIMEOUT);

  async function countVersions(): Promise<number> {
    const db = new Database(path.join(dir, 'project.db'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM label_versions').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
});
