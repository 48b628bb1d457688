/// <reference lib="dom" />
// The Electron shell end to end (Playwright `_electron`): the window opens a project through the
// preload bridge, the cases screen lists it, and the bridge exposes no ipcRenderer/require.
// Runs wherever an Electron binary exists; here (no binary can be downloaded) it skips and says why.
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createDemoProject } from '../../main/app/demo-project';
import { electronBinaryStatus } from '../../main/cli/commands/doctor';
import { run, withBuildLock } from './harness';
import { ROOT } from './test-project';

const status = electronBinaryStatus();

describe('Electron shell', () => {
  it.skipIf(!status.present)(`opens the demo project in a locked-down window${status.present ? '' : ` (skipped: no Electron binary — ${status.reason})`}`, async () => {
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
      expect(win.url()).toMatch(/^file:/);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
