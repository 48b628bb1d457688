// End-to-end harness: `segloop serve` as a real child process on a temporary project, and
// Debian's Chromium driven by playwright-core, rendering WebGL through SwiftShader.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
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
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  return null;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 });
}

/** Builds the renderer if out/renderer is missing (about 20 s), so `npm test` works on a fresh clone. */
export async function ensureRendererBuilt(): Promise<void> {
  if (existsSync(path.join(UI_DIR, 'index.html'))) return;
  await run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn']);
}

function run(cmd: string, args: string[]): Promise<void> {
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
