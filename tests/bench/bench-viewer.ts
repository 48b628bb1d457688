/// <reference lib="dom" />
// Viewer benchmark in headless Chromium (SwiftShader WebGL, as the e2e tests):
//   1. "open case" (click in the cases table) -> first rendered frame of the labelling viewer;
//   2. brush stroke latency: each mousemove of a drag -> the next repaint of that viewport.
// Prints medians next to the targets (first frame <= 1500 ms, stroke <= 50 ms) and their ratio.
// Usage: npm run bench:viewer [-- --cases 5 --strokes 4]
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { createDemoProject } from '../../main/app/demo-project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject } from '../e2e/harness';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CASES = arg('cases', 5);
const STROKES = arg('strokes', 4);
const TARGET_FIRST_FRAME_MS = 1500;
const TARGET_STROKE_MS = 50;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function openCaseTimed(page: Page, rowIndex: number): Promise<number> {
  await page.waitForSelector('[data-testid^="case-row-"]');
  await page.evaluate(() => performance.clearMarks());
  const ms = await page.evaluate(async (i) => {
    const rows = document.querySelectorAll<HTMLElement>('[data-testid^="case-row-"]');
    const t0 = performance.now();
    rows[i].click();
    for (;;) {
      const m = performance.getEntriesByName('segloop:first-frame');
      if (m.length > 0) return m[0].startTime - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  }, rowIndex);
  return ms;
}

async function strokeLatencies(page: Page): Promise<number[]> {
  const el = page.locator('[data-testid="viewport-axial"]');
  const box = (await el.boundingBox())!;
  await page.evaluate(() => {
    const w = window as unknown as { __bench: { moves: number[]; renders: number[] } };
    w.__bench = { moves: [], renders: [] };
    window.addEventListener('mousemove', (e) => e.buttons === 1 && w.__bench.moves.push(performance.now()), { capture: true });
    document.querySelector('[data-testid="viewport-axial"]')!.addEventListener('CORNERSTONE_IMAGE_RENDERED', () => w.__bench.renders.push(performance.now()));
  });
  const out: number[] = [];
  for (let s = 0; s < STROKES; s++) {
    await page.evaluate(() => {
      const b = (window as unknown as { __bench: { moves: number[]; renders: number[] } }).__bench;
      b.moves = [];
      b.renders = [];
    });
    const y = box.y + box.height * (0.25 + 0.1 * s);
    await page.mouse.move(box.x + box.width * 0.2, y);
    await page.mouse.down();
    for (let k = 1; k <= 20; k++) {
      await page.mouse.move(box.x + box.width * (0.2 + 0.03 * k), y);
      // Let each move paint before the next, as a hand-held stroke would at 60 Hz.
      await page.waitForTimeout(16);
    }
    await page.mouse.up();
    await page.waitForTimeout(200);
    const { moves, renders } = await page.evaluate(() => (window as unknown as { __bench: { moves: number[]; renders: number[] } }).__bench);
    for (const t of moves) {
      const r = renders.find((x) => x >= t);
      if (r !== undefined) out.push(r - t);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const missing = missingPrerequisite();
  if (missing) {
    console.error(`bench:viewer cannot run: ${missing}`);
    process.exit(2);
  }
  await ensureRendererBuilt();
  const dir = path.join(os.tmpdir(), `segloop-bench-${process.pid}`);
  await createDemoProject(dir);
  const server = await serveProject(dir);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    page.setDefaultTimeout(120_000);
    await page.goto(server.openUrl);
    const firstFrames: number[] = [];
    for (let i = 0; i < CASES; i++) {
      firstFrames.push(await openCaseTimed(page, i % 8));
      if (i < CASES - 1) {
        await page.locator('[data-testid="back"]').click();
      }
    }
    await page.locator('[data-testid="tool-brush"]').click();
    const strokes = await strokeLatencies(page);

    if (process.env.BENCH_DEBUG) console.log(strokes.map((x) => x.toFixed(0)).join(" "));
    const ff = median(firstFrames);
    const st = median(strokes);
    const fmt = (x: number): string => `${x.toFixed(0)} ms`;
    console.log(`Viewer benchmark (headless Chromium + SwiftShader, ${os.cpus().length} cores, hippocampus demo cases)`);
    console.log(`  open case -> first frame : median ${fmt(ff)} (runs: ${firstFrames.map((x) => x.toFixed(0)).join(', ')} ms)  target <= ${TARGET_FIRST_FRAME_MS} ms  ratio ${(ff / TARGET_FIRST_FRAME_MS).toFixed(2)}  ${ff <= TARGET_FIRST_FRAME_MS ? 'OK' : 'OVER'}`);
    console.log(`  brush move -> repaint    : median ${fmt(st)}, p90 ${fmt(pct(strokes, 90))} (n=${strokes.length})  target <= ${TARGET_STROKE_MS} ms  ratio ${(st / TARGET_STROKE_MS).toFixed(2)}  ${st <= TARGET_STROKE_MS ? 'OK' : 'OVER'}`);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
