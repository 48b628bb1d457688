/// <reference lib="dom" />
// Scripted annotator benchmark (issue 16): `npm run bench:labelling -- [--cases N] [--strategy a|b|c|all] [--k K]`.
// Headless Chromium on `segloop serve` labels hippocampus cases of ../shared/data (dev_test split,
// imported without their label into a copy of the demo project) with real mouse events, by three
// fixed strategies, to a target Dice against the reference label:
//   a  brush on every slice holding the structure (big brush inside, small at the edge)
//   b  freehand contours on every k-th slice + fill between slices (preview, Keep)
//   c  a model's prediction accepted in Review, corrected with eraser/brush where it differs most
// Each strategy ends with correction rounds until the SAVED version (read from the project) reaches
// the target. Reported per strategy: strokes, slice changes, tool changes, voxels painted (sum of
// the saved versions' voxels changed), simulated seconds (cost-model.ts), Dice, wall time, and the
// ratio of simulated seconds to strategy a (the reference) in the same run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project';
import { ensureRendererBuilt, launchBrowser, missingPrerequisite, serveProject } from '../e2e/harness';
import { ROOT } from '../e2e/test-project';
import { benchCaseNames, createBenchProject, type BenchCase } from './labelling/bench-project';
import { COST_MODEL, describeCostModel, simulatedSeconds, type ActionCounts } from './labelling/cost-model';
import { HIPPOCAMPUS } from '../data-root';
import { dryRun, dryRunCorrect } from './labelling/dry-run';
import { AnnotatorDriver } from './labelling/page-driver';
import { dice } from './labelling/plan';
import { CLASSES, latestLabel, openLabelling, strategyBrush, strategyContours, strategyCorrectPrediction, type CaseContext, type StrategyOptions } from './labelling/strategies';

type Strategy = 'a' | 'b' | 'c';
const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const NAMES: Record<Strategy, string> = { a: 'brush every slice', b: 'contours every k-th + fill', c: 'correct a prediction' };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const opts = {
  cases: Number(arg('cases', '3')),
  strategy: arg('strategy', 'all'),
  k: Number(arg('k', '3')),
  target: Number(arg('target', '0.9')),
  trainEpochs: Number(arg('train-epochs', '6')),
  trainSteps: Number(arg('train-steps', '30')),
  maxRounds: Number(arg('max-rounds', '3')),
  keep: process.argv.includes('--keep'),
  dryRun: process.argv.includes('--dry-run'),
  predictionsFrom: arg('predictions-from', ''),
  out: arg('out', ''),
};
if (!Number.isInteger(opts.cases) || opts.cases < 1) throw new Error('--cases must be a positive integer');
if (!['a', 'b', 'c', 'all'].includes(opts.strategy)) throw new Error('--strategy must be a, b, c or all');
if (!Number.isInteger(opts.k) || opts.k < 2) throw new Error('--k must be an integer >= 2 (fill between slices needs gaps)');
const strategies: Strategy[] = opts.strategy === 'all' ? ['c', 'a', 'b'] : [opts.strategy as Strategy];
const sOpts: StrategyOptions = { target: opts.target, k: opts.k, radii: [2, 1], maxRounds: opts.maxRounds };

interface Row {
  strategy: Strategy;
  case: string;
  counts: ActionCounts;
  voxelsPainted: number;
  saves: number;
  correctionRounds: number;
  simulatedS: number;
  dice1: number;
  dice2: number;
  mean: number;
  startMean: number;
  wallS: number;
}

function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

function cli(args: string[]): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'bin/segloop.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
}

/** Saves an empty label on top of the latest (through the app's API, as the page), so a strategy starts from nothing. */
async function resetToEmpty(page: Page, c: CaseContext): Promise<void> {
  const latest = await latestLabel(c);
  if (!latest.id) return;
  const b64 = zlib.gzipSync(new Uint8Array(c.ref.length)).toString('base64');
  const r = (await page.evaluate(
    async ([imageId, parent, voxels]) => {
      const res = await fetch('/api/labels:save', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify({ imageId, parentVersionId: parent, voxelsGzBase64: voxels, secondsSpent: 0, source: 'manual' }) });
      return res.json();
    },
    [c.imageId, latest.id, b64] as const,
  )) as { ok: boolean };
  if (!r.ok) throw new Error(`could not reset case ${c.imageId}: ${JSON.stringify(r)}`);
}

/** Review screen: open the case's prediction, Accept (A); the ai_accepted version is strategy c's start. */
async function acceptPrediction(d: AnnotatorDriver, predictionId: string): Promise<void> {
  const page = d.page;
  await page.locator('[data-testid="nav-review"]').click();
  await page.waitForSelector(`[data-testid="review-row-${predictionId}"]`, { timeout: 120_000 });
  await page.locator(`[data-testid="review-row-${predictionId}"]`).click();
  await page.waitForFunction((id) => document.querySelector('[data-testid="review-screen"]')?.getAttribute('data-loaded-prediction') === id, predictionId, { timeout: 120_000 });
  await page.locator('[data-testid="review-accept"]').click();
  await page.waitForFunction(() => /ccepted/.test(document.querySelector('[data-testid="review-status"]')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.locator('a[href="#/cases"]').first().click();
}

async function savedVersionsSince(c: CaseContext, afterId: string): Promise<{ n: number; voxels: number }> {
  const store = await ProjectStore.open(c.dir, { readOnly: true });
  try {
    const rows = store.labelVersions.listForImage(Number(c.imageId)).filter((v) => Number(v.id) > Number(afterId || 0) && v.source === 'manual');
    return { n: rows.length, voxels: rows.reduce((s, v) => s + (v.voxelsChanged ?? 0), 0) };
  } finally {
    store.close();
  }
}

/** The newest prediction of the case `name` (by patient id) in a kept bench project. */
async function predictionOf(dir: string, name: string): Promise<Uint8Array> {
  const store = await ProjectStore.open(dir, { readOnly: true });
  try {
    const img = store.images.list().find((i) => i.sourceName === `${name}.nii.gz`);
    const p = img ? store.predictions.listForImage(img.id).at(-1) : undefined;
    if (!p) throw new Error(`no prediction of ${name} in ${dir}`);
    return Uint8Array.from((await readNifti(await store.resolve(p.path))).data);
  } finally {
    store.close();
  }
}

/** --dry-run: strategies planned in memory (no browser): PLANNED counts and Dice, not measured. */
async function dryMain(): Promise<void> {
  const rows: Row[] = [];
  console.log(`bench:labelling --dry-run (planned, no browser): ${opts.cases} case(s), k=${opts.k}, target ${opts.target}; load average ${loadavg()}`);
  console.log(`cost model: ${describeCostModel()}`);
  for (const name of benchCaseNames(opts.cases)) {
    const refVol = await readNifti(path.join(HIPPOCAMPUS, 'labels', `${name}.nii.gz`));
    const ref = Uint8Array.from(refVol.data);
    for (const s of strategies) {
      const t0 = Date.now();
      const shape = refVol.shape as [number, number, number];
      const spacing = refVol.spacing as [number, number, number];
      let start = 0;
      let r;
      if (s === 'c') {
        // c needs a prediction: the newest one of this case in a project made by an earlier browser run (--keep)
        if (!opts.predictionsFrom) {
          console.log(`  ${name} c: skipped (--dry-run plans c only with --predictions-from <bench project kept with --keep>)`);
          continue;
        }
        const pred = await predictionOf(opts.predictionsFrom, name);
        start = (dice(pred, ref, 1) + dice(pred, ref, 2)) / 2;
        r = dryRunCorrect(pred, ref, shape, spacing, sOpts);
      } else {
        r = await dryRun(s, ref, shape, spacing, sOpts);
      }
      let painted = 0;
      for (const v of r.labels) if (v) painted++;
      rows.push({ strategy: s, case: name, counts: r.counts, voxelsPainted: painted, saves: 1 + r.rounds, correctionRounds: r.rounds, simulatedS: simulatedSeconds(r.counts), dice1: dice(r.labels, ref, 1), dice2: dice(r.labels, ref, 2), mean: (dice(r.labels, ref, 1) + dice(r.labels, ref, 2)) / 2, startMean: start, wallS: (Date.now() - t0) / 1000 });
    }
  }
  console.log(`\n${renderTable(rows)}\n(PLANNED: strokes applied in memory; voxels painted = labelled voxels of the result)`);
  if (opts.out) writeFileSync(opts.out, JSON.stringify({ opts, costModel: COST_MODEL, dryRun: true, rows }, null, 1));
}

async function main(): Promise<void> {
  if (opts.dryRun) return dryMain();
  const why = missingPrerequisite();
  if (why) throw new Error(`bench:labelling needs a browser: ${why}`);
  const started = Date.now();
  console.log(`bench:labelling: ${opts.cases} case(s), strategies ${strategies.join(',')}, k=${opts.k}, target mean Dice ${opts.target}; load average ${loadavg()} (2 cores)`);
  console.log(`cost model: ${describeCostModel()}`);
  await ensureRendererBuilt();
  const dir = path.join(os.tmpdir(), `segloop-bench-labelling-${process.pid}`);
  const cases: BenchCase[] = await createBenchProject(dir, benchCaseNames(opts.cases));
  const predictionOf = new Map<string, string>();
  let trainInfo = '';
  if (strategies.includes('c')) {
    const t0 = Date.now();
    // a tiny 2D U-Net on the demo's 5 labelled cases: a weak model, so there is something to correct
    const train = JSON.parse(cli(['train', dir, '--arch', 'unet2d', '--width', '8', '--epochs', String(opts.trainEpochs), '--steps-per-epoch', String(opts.trainSteps), '--seed', '1', '--json'])) as { valMeanDice: number; model: { id: number } };
    const pred = JSON.parse(cli(['predict', dir, '--model', String(train.model.id), '--images', cases.map((c) => c.imageId).join(','), '--json'])) as { predictions: { id: number | string; imageId: number | string }[] };
    for (const p of pred.predictions) predictionOf.set(String(p.imageId), String(p.id));
    trainInfo = `model for c: unet2d width 8, ${opts.trainEpochs} epochs x ${opts.trainSteps} steps on the demo's 5 labelled cases, validation mean Dice ${train.valMeanDice.toFixed(3)}; set-up ${((Date.now() - t0) / 1000).toFixed(0)} s`;
    console.log(trainInfo);
  }
  const server = await serveProject(dir);
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid^="case-row-"]', { timeout: 120_000 });
    for (const bc of cases) {
      const refVol = await readNifti(bc.referencePath);
      const store = await ProjectStore.open(dir, { readOnly: true });
      const img = store.images.get(Number(bc.imageId));
      store.close();
      if (!img) throw new Error(`image ${bc.imageId} is not in the project`);
      const c: CaseContext = { dir, imageId: bc.imageId, shape: refVol.shape as [number, number, number], spacing: refVol.spacing as [number, number, number], ref: Uint8Array.from(refVol.data) };
      for (const s of strategies) {
        const t0 = Date.now();
        const d = new AnnotatorDriver(page, bc.imageId, c.shape, c.spacing[0]);
        if (s === 'c') {
          const pid = predictionOf.get(bc.imageId);
          if (!pid) throw new Error(`no prediction for image ${bc.imageId}`);
          await acceptPrediction(d, pid);
        } else {
          await resetToEmpty(page, c);
        }
        const start = await latestLabel(c);
        const startMean = (dice(start.labels, c.ref, 1) + dice(start.labels, c.ref, 2)) / 2;
        await openLabelling(page, bc.imageId);
        await d.calibrate(start.labels).catch(async (err: unknown) => {
          mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: path.join(ARTIFACTS, 'bench-labelling-calibration-failed.png') });
          throw err;
        });
        const rounds = s === 'a' ? await strategyBrush(d, c, sOpts) : s === 'b' ? await strategyContours(d, c, sOpts) : await strategyCorrectPrediction(d, c, sOpts);
        const saved = await savedVersionsSince(c, start.id);
        // every save is a button press, and so is c's Accept (counted here: calibration resets the counts)
        d.counts.buttons += saved.n + (s === 'c' ? 1 : 0);
        const end = (await latestLabel(c)).labels;
        const row: Row = {
          strategy: s,
          case: bc.name,
          counts: { ...d.counts },
          voxelsPainted: saved.voxels,
          saves: saved.n,
          correctionRounds: rounds,
          simulatedS: simulatedSeconds(d.counts),
          dice1: dice(end, c.ref, 1),
          dice2: dice(end, c.ref, 2),
          mean: (dice(end, c.ref, 1) + dice(end, c.ref, 2)) / 2,
          startMean,
          wallS: (Date.now() - t0) / 1000,
        };
        rows.push(row);
        console.log(
          `  ${bc.name} ${s}: ${row.counts.strokes} strokes, ${row.counts.sliceVisits} slice visits (${row.counts.slicesScrolled} scrolled), ${row.counts.toolChanges} tool changes, ${row.voxelsPainted} voxels, ${row.simulatedS.toFixed(0)} s simulated, Dice ${row.startMean.toFixed(3)} -> ${row.mean.toFixed(3)}, ${row.wallS.toFixed(0)} s wall`,
        );
        // leave Labelling for the next strategy (nothing unsaved: every strategy ends with a save)
        await page.locator('[data-testid="back"]').click();
        await page.waitForSelector('[data-testid="cases-screen"]');
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  const table = renderTable(rows);
  console.log(`\n${table}`);
  console.log(`load average at the end ${loadavg()}; total wall ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (opts.out) {
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify({ opts, costModel: COST_MODEL, trainInfo, load: loadavg(), rows }, null, 1));
  }
}

function renderTable(rows: Row[]): string {
  const head = '| strategy | cases | strokes | slice visits (scrolled) | tool changes | buttons | voxels painted | simulated s | × a | Dice start → end (1 / 2) | mean Dice | wall s |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|---|';
  const by = (s: Strategy) => rows.filter((r) => r.strategy === s);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const refSeconds = mean(by('a').map((r) => r.simulatedS));
  const lines = [head, sep];
  for (const s of ['a', 'b', 'c'] as Strategy[]) {
    const rs = by(s);
    if (!rs.length) continue;
    const m = (f: (r: Row) => number) => mean(rs.map(f));
    const ratio = refSeconds > 0 ? (m((r) => r.simulatedS) / refSeconds).toFixed(2) : '—';
    lines.push(
      `| ${s} ${NAMES[s]} | ${rs.length} | ${m((r) => r.counts.strokes).toFixed(0)} | ${m((r) => r.counts.sliceVisits).toFixed(0)} (${m((r) => r.counts.slicesScrolled).toFixed(0)}) | ${m((r) => r.counts.toolChanges).toFixed(0)} | ${m((r) => r.counts.buttons).toFixed(0)} | ${m((r) => r.voxelsPainted).toFixed(0)} | ${m((r) => r.simulatedS).toFixed(0)} | ${ratio} | ${m((r) => r.startMean).toFixed(3)} → ${m((r) => r.dice1).toFixed(3)} / ${m((r) => r.dice2).toFixed(3)} | ${m((r) => r.mean).toFixed(3)} | ${m((r) => r.wallS).toFixed(0)} |`,
    );
  }
  return `${lines.join('\n')}\n(means per case; classes ${CLASSES.join(', ')}; × a = simulated seconds / strategy a's in this run)`;
}

await main();
