/// <reference lib="dom" />
// Segment operations from the Labelling screen (real mouse): paint a detached speck, then apply
// keep-largest, remove-small, grow, shrink, median, opening, closing and fill-holes one at a time,
// saving after each; every saved version equals scipy.ndimage applied to the version before it,
// its "voxels changed" is the difference, and each operation undoes in one step; then the
// Measurements panel shows each segment's volume as core computes it.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { measureVolume } from '../../main/core/imaging/shape-measures';
import { ProjectStore } from '../../main/core/project/project-store';
import { missingPrerequisite, openCaseFromCases, serveDemoCopy, waitForStatus, waitForUnsaved, type ServedDemo } from './harness';
import { ROOT } from './test-project';

const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const REF = path.join(ROOT, 'main/core/imaging/ref/label_edit_ops_ref.py');
const skipReason = missingPrerequisite();

async function latestVoxels(dir: string, imageId: number): Promise<{ id: number; voxels: Uint8Array; shape: [number, number, number]; spacing: [number, number, number] }> {
  const store = await ProjectStore.open(dir, { readOnly: true });
  try {
    const v = store.labelVersions.latestPerImage().find((x) => x.imageId === imageId)!;
    const vol = await readNifti(await store.resolve(v.path));
    return { id: v.id, voxels: Uint8Array.from(vol.data), shape: vol.shape as [number, number, number], spacing: vol.spacing as [number, number, number] };
  } finally {
    store.close();
  }
}

function scipyOp(labels: Uint8Array, shape: number[], spacing: number[], op: object): Uint8Array {
  const r = spawnSync('/usr/bin/python3', [REF], { input: JSON.stringify({ shape, spacing, labels: Array.from(labels), ops: [op] }), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return Uint8Array.from((JSON.parse(r.stdout) as number[][])[0]);
}

const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

async function unsaved(page: Page): Promise<number> {
  const t = (await page.locator('[data-testid="unsaved"]').textContent({ timeout: 500 }).catch(() => null)) ?? '0';
  return Number(/(\d+)/.exec(t)?.[1] ?? 0);
}

describe.skipIf(skipReason !== null)(`segment operations in the browser${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let demo: ServedDemo;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await serveDemoCopy('labelops');
    page = await demo.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
  }, 600_000);

  afterAll(async () => demo?.close(), 300_000);

  it('every operation equals scipy on the version before it, is counted, undoes, and saves', async () => {
    const dir = demo.dir;
    const ro = await ProjectStore.open(dir, { readOnly: true });
    const imageId = ro.labelVersions.latestPerImage()[0].imageId;
    ro.close();
    await page.goto(demo.server.openUrl);
    await openCaseFromCases(page, imageId);
    await page.locator('[data-testid="segment-1"]').click();

    const save = async () => {
      await page.locator('[data-testid="save"]').click();
      await waitForStatus(page, /Saved version/);
    };
    // a detached speck of segment 1 near a corner of the axial view, so the islands tools have work
    await page.locator('[data-testid="tool-brush"]').click();
    const box = (await page.locator('[data-testid="viewport-axial"]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.08, box.y + box.height * 0.24);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.12, box.y + box.height * 0.24, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(() => !!document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
    await page.waitForTimeout(500);
    await save();

    await page.locator('[data-testid="op-min-voxels"]').fill('20');
    await page.locator('[data-testid="op-margin-mm"]').fill('1.5');
    await page.locator('[data-testid="op-smooth-mm"]').fill('1');
    const ops: [string, object][] = [
      ['op-keep-largest', { kind: 'keepLargest', segment: 1 }],
      ['op-grow', { kind: 'grow', segment: 1, mm: 1.5 }],
      ['op-shrink', { kind: 'shrink', segment: 1, mm: 1.5 }],
      ['op-median', { kind: 'median', segment: 1, mm: 1 }],
      ['op-close', { kind: 'close', segment: 1, mm: 1 }],
      ['op-open', { kind: 'open', segment: 1, mm: 1 }],
      ['op-remove-small', { kind: 'removeSmall', segment: 1, minVoxels: 20 }],
      ['op-fill-holes', { kind: 'fillHoles', segment: 1 }],
    ];
    let changedSomething = 0;
    for (const [button, op] of ops) {
      const before = await latestVoxels(dir, imageId);
      const want = scipyOp(before.voxels, before.shape, before.spacing, op);
      const expected = diff(want, before.voxels);
      await page.locator(`[data-testid="${button}"]`).click();
      // the operation's own status line (the save before it also says "voxels changed")
      await waitForStatus(page, /^(?!Saved version).*voxels changed/);
      if (expected === 0) {
        await page.waitForTimeout(400); // a count would have appeared by now
        expect(await unsaved(page), `${button}: unsaved count`).toBe(0);
        continue;
      }
      await waitForUnsaved(page, expected);
      changedSomething++;
      // one undo step takes the whole operation back, redo brings it again
      await page.locator('[data-testid="undo"]').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="unsaved"]'), null, { timeout: 30_000 });
      await page.keyboard.press('Control+Shift+z');
      await waitForUnsaved(page, expected);
      await save();
      const after = await latestVoxels(dir, imageId);
      expect(after.id).toBeGreaterThan(before.id);
      expect(diff(after.voxels, want), `${button}: saved version vs scipy`).toBe(0);
      const ro2 = await ProjectStore.open(dir, { readOnly: true });
      expect(ro2.labelVersions.get(after.id)?.voxelsChanged).toBe(expected);
      ro2.close();
    }
    expect(changedSomething).toBeGreaterThanOrEqual(5);
    // Measurements of what is on screen (= the last saved version) equal core's, in mm³
    await page.locator('[data-testid="measure"]').click();
    await page.waitForSelector('[data-testid="measure-1"] [data-testid="measure-volume"]', { timeout: 60_000 });
    const last = await latestVoxels(dir, imageId);
    for (const seg of [1, 2]) {
      const want = measureVolume(last.voxels, last.shape, last.spacing, seg);
      const text = (await page.locator(`[data-testid="measure-${seg}"] [data-testid="measure-volume"]`).textContent()) ?? '';
      expect(Number(/^([\d.]+) mm³/.exec(text)?.[1]), `segment ${seg}: ${text}`).toBeCloseTo(want.volumeMm3, 1);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'labelling-segment-ops-1400x900.png') });
  }, 900_000);
});
