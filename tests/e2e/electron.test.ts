/// <reference lib="dom" />
// The Electron shell end to end (Playwright `_electron`): the window opens the demo project from
// app://segloop through the preload bridge, the bridge exposes no ipcRenderer/require, navigation
// and new windows are refused; then a case is opened, painted with the mouse and saved (a new label
// version in the DB), painted again, and closing the window with that unsaved work hits the guard.
// Runs wherever an Electron binary exists; here (no binary can be downloaded) it skips and says why.
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createDemoProject } from '../../main/app/demo-project';
import { ProjectStore } from '../../main/core/project/project-store';
import { electronBinaryStatus } from '../../scripts/electron-binary.mjs';
import { run, withBuildLock } from './harness';
import { ROOT } from './test-project';

const status = electronBinaryStatus();

describe('Electron shell', () => {
  it.skipIf(!status.present)(`opens the demo project in a locked-down window, paints, saves, and guards unsaved work on close${status.present ? '' : ` (skipped: no Electron binary — ${status.reason})`}`, async () => {
    await withBuildLock(() => run(process.execPath, [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build']));
    const dir = path.join(os.tmpdir(), `segloop-electron-${process.pid}`);
    mkdirSync(path.dirname(dir), { recursive: true });
    await createDemoProject(dir);
    const app = await electron.launch({
      executablePath: status.path!,
      args: [path.join(ROOT, 'out/main/main.js'), '--project', dir, ...(process.env.CI ? ['--no-sandbox'] : [])],
      timeout: 120_000,
    });
    try {
      const win = await app.firstWindow();
      await win.waitForSelector('[data-testid^="case-row-"]', { timeout: 120_000 });
      expect(await win.locator('[data-testid^="case-row-"]').count()).toBe(8);
      const exposed = await win.evaluate(() => ({
        bridge: Object.keys((window as unknown as { segloop: object }).segloop).sort(),
        require: typeof (window as unknown as { require?: unknown }).require,
        process: typeof (window as unknown as { process?: unknown }).process,
      }));
      expect(exposed).toEqual({ bridge: ['invoke', 'onEvent', 'readFile'], require: 'undefined', process: 'undefined' });
      // New windows are denied, and navigation away from the app is blocked.
      await win.evaluate(() => void window.open('https://example.com/'));
      await win.evaluate(() => void (window.location.href = 'https://example.com/'));
      await win.waitForTimeout(500);
      expect(app.windows()).toHaveLength(1);
      expect(win.url()).toMatch(/^app:\/\/segloop\//);

      // open an unlabelled case, paint, save: a new label version lands in the project
      const row = win.locator('[data-testid^="case-row-"]').last();
      const imageId = (await row.getAttribute('data-testid'))!.replace('case-row-', '');
      await row.click();
      await win.waitForFunction(() => /Version|No label/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 120_000 });
      const paint = async (y: number) => {
        const box = (await win.locator('[data-testid="viewport-axial"]').boundingBox())!;
        await win.mouse.move(box.x + box.width * 0.3, box.y + box.height * y);
        await win.mouse.down();
        await win.mouse.move(box.x + box.width * 0.7, box.y + box.height * y, { steps: 12 });
        await win.mouse.up();
        await win.waitForSelector('[data-testid="unsaved"]', { timeout: 30_000 });
      };
      await win.locator('[data-testid="segment-1"]').click();
      await win.locator('[data-testid="tool-brush"]').click();
      await paint(0.5);
      await win.locator('[data-testid="save"]').click();
      await win.waitForFunction(() => /Saved version/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 60_000 });

      // unsaved work + close: the will-prevent-unload guard asks (answer "Stay"), the window stays
      await paint(0.6);
      await app.evaluate(({ dialog }) => {
        const g = globalThis as unknown as { guardCalls: number };
        g.guardCalls = 0;
        dialog.showMessageBoxSync = (() => {
          g.guardCalls++;
          return 1; // Stay
        }) as typeof dialog.showMessageBoxSync;
      });
      await win.evaluate(() => window.close());
      await win.waitForTimeout(1000);
      expect(await app.evaluate(() => (globalThis as unknown as { guardCalls: number }).guardCalls)).toBe(1);
      expect(app.windows()).toHaveLength(1);
      expect(await win.locator('[data-testid="unsaved"]').count()).toBe(1);
      // now leave: answer "Leave and lose changes" so quitting goes through (and releases the lock)
      await app.evaluate(({ dialog }) => {
        dialog.showMessageBoxSync = (() => 0) as typeof dialog.showMessageBoxSync;
      });
      await app.close();
      const store = await ProjectStore.open(dir, { readOnly: true });
      try {
        expect(store.labelVersions.latestPerImage().some((v) => v.imageId === Number(imageId))).toBe(true);
      } finally {
        store.close();
      }
    } finally {
      await app.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
