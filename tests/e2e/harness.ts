// End-to-end harness: `segloop serve` as a real child process on a temporary project, and
// Debian's Chromium driven by playwright-core, rendering WebGL through SwiftShader.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createDemoProject } from '../../main/app/demo-project';
import { ROOT } from './test-project';

export const CHROMIUM = process.env.SEGLOOP_CHROMIUM ?? '/usr/bin/chromium';
export const UI_DIR = path.join(ROOT, 'out/renderer');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL2 in software: Cornerstone3D renders through SwiftShader (never --disable-software-rasterizer).
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
];

export function missingPrerequisite(): string | null {
  if (!existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
    // .ci/run installs Chromium: in CI its absence is a broken set-up, never a skip.
    if (process.env.CI) throw new Error(`Browser end-to-end tests cannot run: ${why}`);
    return why;
  }
  return null;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 });
}

/** Newest modification time under a folder (source files only). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (/\.(ts|vue|css|html)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function rendererIsFresh(): boolean {
  const index = path.join(UI_DIR, 'index.html');
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  return newestMtime(path.join(ROOT, 'renderer')) <= built && newestMtime(path.join(ROOT, 'shared')) <= built;
}

/**
 * Runs `work` while holding a lock file, so that parallel test files never build into out/ at
 * the same time. A lock older than 10 minutes is taken to be left by a killed run.
 */
export async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = path.join(ROOT, 'out/.build-lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`waited 10 minutes for ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Builds the renderer when out/renderer is missing or older than its sources (about 20 s). */
export async function ensureRendererBuilt(): Promise<void> {
  await withBuildLock(async () => {
    if (rendererIsFresh()) return;
    await run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn']);
  });
}

export function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

export interface ServeProcess {
  url: string;
  openUrl: string;
  stop(): Promise<void>;
}

export async function serveProject(dir: string): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/segloop.mjs'), 'serve', dir, '--json', '--ui', UI_DIR], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const value = await new Promise<{ url: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`segloop serve did not start in 120 s: ${err}`)), 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const doc = JSON.parse(out) as { value: { url: string } };
        clearTimeout(timer);
        resolve(doc.value);
      } catch {
        /* not complete yet */
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`segloop serve exited with ${code}: ${err}`));
    });
  });
  const u = new URL(value.url);
  return {
    openUrl: value.url,
    url: u.origin,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A served copy of the demo project with a browser: the set-up most browser tests share. */
export interface ServedDemo {
  dir: string;
  server: ServeProcess;
  browser: Browser;
  close(): Promise<void>;
}

export async function serveDemoCopy(prefix: string): Promise<ServedDemo> {
  await ensureRendererBuilt();
  const dir = path.join(os.tmpdir(), `segloop-${prefix}-${process.pid}-${Date.now()}`);
  await createDemoProject(dir);
  const server = await serveProject(dir);
  const browser = await launchBrowser();
  return {
    dir,
    server,
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the Labelling status line matches (e.g. /Saved version/). */
export async function waitForStatus(page: Page, re: RegExp, timeout = 60_000): Promise<void> {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), re.source, { timeout });
}

/** From the Cases screen, opens a case in Labelling and waits until it has loaded. */
export async function openCaseFromCases(page: Page, imageId: string | number): Promise<void> {
  await page.locator(`[data-testid="case-row-${imageId}"]`).click();
  await waitForStatus(page, /Version|No label/, 120_000);
}

/** Waits until the Labelling screen reports exactly `n` unsaved voxels. */
export async function waitForUnsaved(page: Page, n: number, timeout = 30_000): Promise<void> {
  await page.waitForFunction((k) => new RegExp(`^${k} voxels unsaved`).test(document.querySelector('[data-testid="unsaved"]')?.textContent ?? ''), n, { timeout });
}
