/// <reference lib="dom" />
// Reusable browser steps of the train -> evaluate -> promote loop (Training and Models screens),
// and the served tiny project they run on, shared by the training, models and full-loop tests.
// Every step drives the real UI (mouse clicks, typed values) and waits on what the screen or the
// database says, never on time.
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ProjectStore } from '../../main/core/project';
import { createSplit } from '../../main/core/project/splits';
import { ensureRendererBuilt, launchBrowser, serveProject, type ServeProcess } from './harness';
import { ROOT, makeTestProject } from './test-project';

export const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');

/** Training tiny enough for a loaded 2-core machine: a 2D U-Net of width 4, a few steps per epoch. */
export interface TinyTraining {
  architecture?: string;
  patch?: string;
  batch?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  depth?: number;
  width?: number;
  /** The explicit "include accepted pseudo-labels" switch. */
  includePseudo?: boolean;
}

export const TINY: Required<TinyTraining> = { architecture: 'unet2d', patch: '32x32', batch: 2, epochs: 2, stepsPerEpoch: 3, depth: 2, width: 4, includePseudo: false };

/**
 * Waits until the element's text matches; returns the text. With `failOnError`, fails at once, with
 * the message, if the screen shows an error banner instead.
 */
export async function waitText(page: Page, testId: string, pattern: RegExp, timeout = 120_000, opts: { failOnError?: boolean } = {}): Promise<string> {
  const handle = await page.waitForFunction(
    ([id, src, flags, failOnError]) => {
      const t = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
      if (new RegExp(src, flags).test(t)) return t;
      const err = failOnError ? document.querySelector('.error-banner[role="alert"]')?.textContent : null;
      return err ? `ERROR: ${err}` : null;
    },
    [testId, pattern.source, pattern.flags, opts.failOnError === true] as const,
    { timeout, polling: 500 },
  );
  const text = (await handle.jsonValue()) as string;
  if (opts.failOnError && text.startsWith('ERROR: ')) throw new Error(`waiting for ${testId} ~ ${pattern}: the screen shows ${text}`);
  return text;
}

/** Read-only query on the project database (the server holds the writer lock; WAL lets us read). */
export function queryDb<T = Record<string, unknown>>(dir: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(path.join(dir, 'project.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/** A tiny project served over HTTP with a browser page open on its Cases screen. */
export interface ServedTestProject {
  dir: string;
  server: ServeProcess;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * makeTestProject({ labelled }), optionally with a frozen test split of a third of the labelled
 * cases (seed 7) and a `prepare` step on the store, then served, with a 1280x800 page on Cases.
 */
export async function serveTestProject(opts: { labelled: number; testSplit?: boolean; prepare?: (store: ProjectStore) => Promise<void> | void }): Promise<ServedTestProject> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await ensureRendererBuilt();
  const { dir } = await makeTestProject({ labelled: opts.labelled });
  const store = await ProjectStore.open(dir, { actor: 'e2e' });
  try {
    if (opts.testSplit) {
      createSplit(store, { test: 1 / 3, val: 0, seed: 7, actor: 'e2e' });
      const test = store.images.list({ split: 'test' }).length;
      if (test !== Math.round(opts.labelled / 3)) throw new Error(`expected ${Math.round(opts.labelled / 3)} test image(s), the split made ${test}`);
    }
    await opts.prepare?.(store);
  } finally {
    store.close();
  }
  const server = await serveProject(dir);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(60_000);
  await page.goto(server.openUrl);
  await page.waitForSelector('[data-testid="cases-screen"]');
  return {
    dir,
    server,
    browser,
    page,
    async close() {
      await browser.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Screenshots at 1280x800 and 1920x1080 into tests/e2e/artifacts/<name>-<w>x<h>.png, then back to 1280x800. */
export async function screenshots(page: Page, name: string): Promise<void> {
  for (const [width, height] of [[1280, 800], [1920, 1080]] as const) {
    await page.setViewportSize({ width, height });
    // Charts follow their box through a ResizeObserver: let them redraw at the new size.
    await page.waitForFunction(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))));
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}x${height}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function typeInto(page: Page, testId: string, value: string): Promise<void> {
  const input = page.locator(`[data-testid="${testId}"]`);
  await input.click({ clickCount: 3 });
  await page.keyboard.type(value);
  await page.keyboard.press('Tab');
}

/** Opens the Training screen from the navigation bar and waits for the proposed plan. */
export async function openTraining(page: Page): Promise<void> {
  await page.locator('[data-testid="nav-training"]').click();
  await page.waitForSelector('[data-testid="plan-reasons"] li', { timeout: 120_000 });
}

/** Edits the plan on screen (keyboard into the fields, mouse on the selects and the switch). */
export async function setTrainingOptions(page: Page, o: TinyTraining = {}): Promise<void> {
  const t = { ...TINY, ...o };
  await page.locator('[data-testid="opt-architecture"]').selectOption(t.architecture);
  await typeInto(page, 'opt-patch', t.patch);
  await typeInto(page, 'opt-batch', String(t.batch));
  await page.locator('[data-testid="opt-budget-kind"]').selectOption('epochs');
  await typeInto(page, 'opt-epochs', String(t.epochs));
  await typeInto(page, 'opt-steps', String(t.stepsPerEpoch));
  await typeInto(page, 'opt-depth', String(t.depth));
  await typeInto(page, 'opt-width', String(t.width));
  const pseudo = page.locator('[data-testid="opt-pseudo"] input[type="checkbox"]');
  if ((await pseudo.isChecked()) !== t.includePseudo) await pseudo.click();
}

/** Opens Training, sets tiny options, clicks Start and waits for the progress bar. */
export async function startTrainingFromUi(page: Page, o: TinyTraining = {}): Promise<void> {
  await openTraining(page);
  await page.waitForSelector('[data-testid="train-start"]:not([disabled])', { timeout: 120_000 });
  await setTrainingOptions(page, o);
  await page.locator('[data-testid="train-start"]').click();
  await page.waitForSelector('[data-testid="train-progress"], [data-testid="train-error"]', { timeout: 120_000 });
  const refused = await page.locator('[data-testid="train-error"]').textContent({ timeout: 1000 }).catch(() => null);
  if (refused) throw new Error(`training:start was refused: ${refused}`);
}

/** The number of epoch points the charts show now. */
export async function epochsShown(page: Page): Promise<number> {
  return Number((await page.locator('[data-testid="train-chart-points"]').getAttribute('data-points')) ?? 0);
}

/** Waits until the charts hold at least `n` epoch points (pushed live by training:epoch). */
export async function waitForEpochPoints(page: Page, n: number, timeout = 600_000): Promise<void> {
  await page.waitForFunction((k) => Number(document.querySelector('[data-testid="train-chart-points"]')?.getAttribute('data-points') ?? 0) >= k, n, { timeout, polling: 500 });
}

export interface CandidateOutcome {
  version: number;
  promoted: boolean;
  notice: string;
}

/** Waits for the training job's end: the candidate evaluated on the test split and the gate's decision shown. */
export async function waitForCandidate(page: Page, timeout = 900_000): Promise<CandidateOutcome> {
  const notice = await waitText(page, 'train-notice', /done: model v\d+/, timeout);
  return { version: Number(/model v(\d+)/.exec(notice)![1]), promoted: /Promoted \(passed the gate\)/.test(notice), notice };
}

/** Opens the Models screen and waits for the version's row. */
export async function openModels(page: Page, version?: number): Promise<void> {
  await page.locator('[data-testid="nav-models"]').click();
  await page.waitForSelector(version === undefined ? '[data-testid="models-screen"]' : `[data-testid="model-row-v${version}"]`, { timeout: 120_000 });
}

/** Clicks Cancel on the Training screen and waits until the run is shown cancelled and resumable. */
export async function cancelTrainingFromUi(page: Page, timeout = 300_000): Promise<void> {
  await page.locator('[data-testid="train-cancel"]').click();
  await waitText(page, 'train-notice', /Cancelled: the run keeps its checkpoint/, timeout);
  await page.waitForSelector('[data-testid="train-resume"]:not([disabled])', { timeout });
}

/** Types the total epochs for the resumed run (optional) and clicks Resume; waits for the progress bar. */
export async function resumeTrainingFromUi(page: Page, untilEpoch?: number): Promise<void> {
  if (untilEpoch !== undefined) {
    await page.locator('[data-testid="resume-epochs"]').click();
    await page.keyboard.type(String(untilEpoch));
  }
  await page.locator('[data-testid="train-resume"]').click();
  await waitText(page, 'train-notice', /Resuming run/);
  await page.waitForSelector('[data-testid="train-progress"]', { timeout: 120_000 });
}
