// npm run bench:infer -- [--rounds 8] [--warmup 2] [--threads 2] [--arch all|unet3d,unet2d,resunet,attention-unet] [--plain] [--no-ort] [--no-volume]
//                        [--parts forward,volume,batching,pool] [--sweep 2,4,8] [--pool 20] [--pool-scores meanEntropy[,meanTtaVariance]]
// Part 1 (unet-bench-harness.ts): ms per forward pass (softmax probabilities) of the shipped
// networks, tfjs vs their PyTorch twin vs onnxruntime-node, alternated A B C.
// Part 2: whole-volume sliding-window prediction of a real hippocampus image (the product's
// predict path: tiles of the plan's patch, 50 % overlap, Gaussian blending) on tfjs and on
// onnxruntime, against the PyTorch twin doing the same number of forward passes of the same tile
// batch (forward passes only: the tiling and blending our sides do is extra work PyTorch is
// spared, so the ratio is if anything unfavourable to us). Same ABC alternation and load rule.
// Part 3 (batching): TTA prediction of the same image on onnxruntime (8 flips in 3D, 4 in 2D),
// tiles and flips batched per pass up to the engine's memory bound vs one tile per call vs the
// previous default (1 tile per call in 3D, 16 slices per call in 2D, one flip at a time); the
// three alternate in one window, so their ratios are valid under load too.
// Part 4 (pool): active-learning scoring of N real pool images end to end (runAlScoring, the
// worker task `segloop select` runs: read, preprocess, forward passes, scores) on onnxruntime
// batched, onnxruntime one tile per call, tfjs, and the PyTorch twin doing the same number of
// forward passes at the same batch (forward passes only). Alternated A B C D.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runAlScoring } from '../../main/core/active-learning/score-task';
import type { ScoreKey } from '../../main/core/active-learning/scoring';
import { readNifti } from '../../main/core/imaging/nifti';
import { initBackend } from '../../main/core/ml/backend';
import { preprocessCase } from '../../main/core/ml/data/preprocess';
import { maxBatchVoxelsFor, onnxEngine } from '../../main/core/ml/inference/engine';
import { serializeWeights, WEIGHTS_FORMAT, type ModelMeta } from '../../main/core/ml/inference/model-weights';
import { slidingWindowProbabilities, slidingWindowProbabilitiesAsync, tileCount, tilesPerPass, tileStarts, type ProbabilityFn, type ProbMap, type SlidingWindowOptions } from '../../main/core/ml/inference/sliding-window';
import { flipSets, predictFlippedAsync, predictFlipsAsync } from '../../main/core/ml/inference/tta';
import type { TaskEvent } from '../../main/core/ml/task-protocol';
import { createModel } from '../../main/core/ml/models';
import { sha256Bytes } from '../../main/core/project/files';
import { loadOnnxRuntime } from '../../main/core/ml/onnx/ort-runner';
import { HIPPOCAMPUS } from '../data-root';
import { arg, CASES, median, runBench, torchSide, type Timed } from './unet-bench-harness';

const PARTS = (arg('parts') ?? 'forward,volume,batching,pool').split(',');
if (PARTS.includes('forward')) await runBench('infer');

async function timed(f: () => Promise<unknown>): Promise<Timed> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  const cu = process.cpuUsage(c0);
  return { ms, cpuMs: (cu.user + cu.system) / 1000 };
}

async function wholeVolume(): Promise<void> {
  const rounds = Number(arg('rounds') ?? 8);
  const warmup = Number(arg('warmup') ?? 2);
  const threads = Number(arg('threads') ?? 2);
  const archArg = arg('arch');
  const cores = os.cpus().length;
  const { availability } = await loadOnnxRuntime();
  if (!availability.ok) {
    console.log(`\nwhole-volume rows skipped: ${availability.reason}`);
    return;
  }
  const file = path.join(HIPPOCAMPUS, 'images', 'hippocampus_003.nii.gz');
  const img = await readNifti(file);
  const pre = preprocessCase([img], null, { targetSpacing: [1, 1, 1], normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }, numClasses: 3 });
  const [X, Y, Z] = pre.images[0].shape;
  console.log(`\nwhole volume: ${path.basename(file)} (${X}x${Y}x${Z} after preprocessing), sliding window 50 % overlap, Gaussian blending; ms per image`);
  const rows: string[][] = [['case', 'tiles / passes', 'tfjs min/med', 'torch min/med', 'onnxruntime min/med', 'tfjs/torch', 'ort/torch (med)', 'cores used tfjs | torch | ort', 'load avg']];
  for (const c of CASES.filter((k) => (archArg === 'all' ? true : archArg ? archArg.split(',').includes(k.arch) : k.standard))) {
    const loads = [os.loadavg()[0]];
    const { model } = createModel(c.arch, { dims: c.dims, depth: c.depth, baseWidth: c.width, numClasses: c.classes }, { seed: 7 });
    const opts: SlidingWindowOptions = { dims: c.dims, patchSize: c.patch, numClasses: c.classes, overlap: 0.5 };
    // The sliding window's own tile count and batch (1 tile per pass in 3D, 16 slices in 2D).
    const P = c.dims === 3 ? c.patch : [...c.patch, 1];
    const n = [X, Y, Z].map((s, a) => tileStarts(Math.max(s, P[a]), P[a], c.dims === 2 && a === 2 ? 0 : 0.5).length);
    const tiles = n[0] * n[1] * n[2];
    const tileBatch = c.dims === 3 ? 1 : 16;
    const passes = Math.ceil(tiles / tileBatch);
    const engine = await onnxEngine(model, threads);
    const torch = await torchSide({ ...c, batch: tileBatch }, 'infer', threads);
    const ours = (): Promise<unknown> => Promise.resolve(slidingWindowProbabilities((x) => model.predict(x) as tf.Tensor, pre.images, opts));
    const ort = (): Promise<unknown> => slidingWindowProbabilitiesAsync(engine.probabilities, pre.images, opts);
    const pt = async (): Promise<void> => {
      for (let i = 0; i < passes; i++) await torch.step();
    };
    for (let i = 0; i < warmup; i++) {
      await ours();
      await pt();
      await ort();
    }
    const a: Timed[] = [];
    const b: Timed[] = [];
    const o: Timed[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await timed(ours));
      // The twin reports its own process's wall and CPU time per pass: sum them.
      const t = { ms: 0, cpuMs: 0 };
      for (let k = 0; k < passes; k++) {
        const s = await torch.step();
        t.ms += s.ms;
        t.cpuMs += s.cpuMs;
      }
      b.push(t);
      o.push(await timed(ort));
      loads.push(os.loadavg()[0]);
    }
    await torch.close();
    await engine.dispose();
    model.dispose();
    const ms = (ts: Timed[]): number[] => ts.map((t) => t.ms);
    const used = (ts: Timed[]): string => (ts.reduce((s, t) => s + t.cpuMs, 0) / ts.reduce((s, t) => s + t.ms, 0)).toFixed(2);
    const mm = (ts: Timed[]): string => `${Math.min(...ms(ts)).toFixed(0)}/${median(ms(ts)).toFixed(0)}`;
    const maxLoad = Math.max(...loads);
    const tooLoaded = maxLoad > cores;
    rows.push([
      `${c.arch} ${c.patch.join('x')}`,
      `${tiles} / ${passes} x b${tileBatch}`,
      mm(a),
      mm(b),
      mm(o),
      tooLoaded ? 'refused (load)' : `${(median(ms(a)) / median(ms(b))).toFixed(2)}x`,
      tooLoaded ? 'refused (load)' : `${(median(ms(o)) / median(ms(b))).toFixed(2)}x`,
      `${used(a)} | ${used(b)} | ${used(o)}`,
      `${Math.min(...loads).toFixed(1)}-${maxLoad.toFixed(1)}`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
  if (rows.slice(1).some((r) => r.includes('refused (load)'))) {
    console.log(`No ratio printed where the 1-minute load average rose above the ${cores} cores (see above). Re-run on a quiet machine.`);
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
}

const mmOf = (ts: Timed[]): string => `${Math.min(...ts.map((t) => t.ms)).toFixed(0)}/${median(ts.map((t) => t.ms)).toFixed(0)}`;
const medOf = (ts: Timed[]): number => median(ts.map((t) => t.ms));
const usedOf = (ts: Timed[]): string => (ts.reduce((s, t) => s + t.cpuMs, 0) / ts.reduce((s, t) => s + t.ms, 0)).toFixed(2);

/** Counts the engine calls (forward passes) a prediction makes. */
function counting(f: ProbabilityFn): { fn: ProbabilityFn; calls: () => number; reset: () => void } {
  let n = 0;
  return {
    fn: (x, d) => {
      n++;
      return f(x, d);
    },
    calls: () => n,
    reset: () => {
      n = 0;
    },
  };
}

// Part 3: TTA prediction of one real image on onnxruntime, batched vs not (all on onnxruntime,
// so the ratios are within one engine and hold under load as well).
async function batching(): Promise<void> {
  const rounds = Number(arg('rounds') ?? 8);
  const warmup = Number(arg('warmup') ?? 2);
  const threads = Number(arg('threads') ?? 2);
  const archArg = arg('arch');
  await initBackend({ threads });
  const file = path.join(HIPPOCAMPUS, 'images', 'hippocampus_003.nii.gz');
  const img = await readNifti(file);
  const pre = preprocessCase([img], null, { targetSpacing: [1, 1, 1], normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }, numClasses: 3 });
  const [X, Y, Z] = pre.images[0].shape;
  console.log(`\nbatching: TTA prediction of ${path.basename(file)} (${X}x${Y}x${Z}) on onnxruntime, ${threads} threads; ms per image (all flips), min/median of ${rounds} rounds alternated A B C`);
  const rows: string[][] = [['case', 'flips x tiles', 'one tile per call', 'previous default', 'batched (memory-bound)', 'batched / one-per-call', 'batched / previous', 'max |Δ softmax| batched vs 1', 'load avg']];
  for (const c of CASES.filter((k) => (archArg === 'all' ? true : archArg ? archArg.split(',').includes(k.arch) : k.standard))) {
    const loads = [os.loadavg()[0]];
    const { model } = createModel(c.arch, { dims: c.dims, depth: c.depth, baseWidth: c.width, numClasses: c.classes }, { seed: 7 });
    const engine = await onnxEngine(model, threads);
    const base: SlidingWindowOptions = { dims: c.dims, patchSize: c.patch, numClasses: c.classes, overlap: 0.5 };
    const flips = flipSets(c.dims);
    const tiles = tileCount(pre.images[0].shape, base);
    const batchedOpts = { ...base, maxBatchVoxels: engine.maxBatchVoxels ?? undefined };
    const perPass = tilesPerPass(batchedOpts);
    const cnt = counting(engine.probabilities);
    const one = async (): Promise<ProbMap[]> => {
      const out: ProbMap[] = [];
      for (const f of flips) out.push(await predictFlippedAsync(cnt.fn, pre.images, { ...base, batchSize: 1 }, f));
      return out;
    };
    const previous = async (): Promise<ProbMap[]> => {
      const out: ProbMap[] = [];
      for (const f of flips) out.push(await predictFlippedAsync(cnt.fn, pre.images, base, f));
      return out;
    };
    const batched = (): Promise<ProbMap[]> => predictFlipsAsync(cnt.fn, pre.images, batchedOpts, flips);
    const calls: number[] = [];
    let maxDiff = 0;
    for (const f of [one, previous, batched]) {
      cnt.reset();
      await f();
      calls.push(cnt.calls());
    }
    const r1 = await one();
    const rb = await batched();
    for (let m = 0; m < r1.length; m++) for (let i = 0; i < r1[m].data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r1[m].data[i] - rb[m].data[i]));
    for (let i = 0; i < warmup; i++) {
      await one();
      await previous();
      await batched();
    }
    // --sweep 2,4,8: the same batched flips at fixed tiles per pass, in the same alternation.
    const sweep = (arg('sweep') ?? '').split(',').filter(Boolean).map(Number);
    const sweepSides = sweep.map((k) => (): Promise<ProbMap[]> => predictFlipsAsync(engine.probabilities, pre.images, { ...base, batchSize: k }, flips));
    const a: Timed[] = [];
    const b: Timed[] = [];
    const d: Timed[] = [];
    const sw: Timed[][] = sweep.map(() => []);
    for (let i = 0; i < rounds; i++) {
      a.push(await timed(one));
      b.push(await timed(previous));
      d.push(await timed(batched));
      for (const [k, f] of sweepSides.entries()) sw[k].push(await timed(f));
      loads.push(os.loadavg()[0]);
    }
    await engine.dispose();
    model.dispose();
    if (sweep.length) console.log(`  ${c.arch} sweep (ms min/median, same rounds): ${sweep.map((k, i) => `${k} per pass ${mmOf(sw[i])} (${(medOf(sw[i]) / medOf(a)).toFixed(2)}x one-per-call)`).join('; ')}`);
    rows.push([
      `${c.arch} ${c.patch.join('x')}`,
      `${flips.length} x ${tiles} (${perPass} per pass)`,
      `${mmOf(a)} (${calls[0]} calls)`,
      `${mmOf(b)} (${calls[1]} calls)`,
      `${mmOf(d)} (${calls[2]} calls)`,
      `${(medOf(d) / medOf(a)).toFixed(2)}x`,
      `${(medOf(d) / medOf(b)).toFixed(2)}x`,
      maxDiff.toExponential(1),
      `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
    ]);
  }
  printTable(rows);
}

// Part 4: whole-pool active-learning scoring, end to end, on each engine and the PyTorch twin.
async function poolScoring(): Promise<void> {
  const rounds = Number(arg('rounds') ?? 3);
  const warmup = Number(arg('warmup') ?? 1);
  const threads = Number(arg('threads') ?? 2);
  const n = Number(arg('pool') ?? 20);
  const scores = (arg('pool-scores') ?? 'meanEntropy').split(',') as ScoreKey[];
  const cores = os.cpus().length;
  await initBackend({ threads });
  const splits = JSON.parse(await fs.readFile(path.join(HIPPOCAMPUS, 'splits.json'), 'utf8')) as { pool: string[] };
  const ids = splits.pool.slice(0, n);
  const cases = ids.map((id) => ({ id, imagePath: path.join(HIPPOCAMPUS, 'images', `${id}.nii.gz`), labelPath: null }));
  const c = CASES[0]; // the plan's unet3d 40x56x40, width 16: what `segloop select` scores with
  const { model, config } = createModel(c.arch, { dims: c.dims, depth: c.depth, baseWidth: c.width, numClasses: c.classes }, { seed: 7 });
  const { bytes, specs } = serializeWeights(model);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-bench-pool-'));
  const weightsPath = path.join(dir, 'w.bin');
  await fs.writeFile(weightsPath, bytes);
  const spec = { targetSpacing: [1, 1, 1] as [number, number, number], normalisation: { kind: 'zscore' as const, clipPercentiles: [0.5, 99.5] as [number, number], region: 'whole' as const }, numClasses: c.classes };
  const meta: ModelMeta = { format: WEIGHTS_FORMAT, architecture: c.arch, unet: { ...config }, dims: c.dims, patchSize: c.patch, numClasses: c.classes, preprocess: spec, weightSpecs: specs };
  const models = [{ meta, weightsPath, weightsSha256: sha256Bytes(bytes) }];
  // The forward passes the scoring makes: tiles per image x flips, chunked as runAlScoring chunks them.
  const wopts: SlidingWindowOptions = { dims: c.dims, patchSize: c.patch, numClasses: c.classes, overlap: 0.5, maxBatchVoxels: maxBatchVoxelsFor(model) ?? undefined };
  const perPass = tilesPerPass(wopts);
  const flips = scores.includes('meanTtaVariance') ? flipSets(c.dims).length : 1;
  let totalTiles = 0;
  for (const k of cases) {
    const pre = preprocessCase([await readNifti(k.imagePath)], null, spec);
    totalTiles += tileCount(pre.images[0].shape, wopts) * flips;
  }
  model.dispose();
  const passes = Math.ceil(totalTiles / perPass);
  const torchB = await torchSide({ ...c, batch: perPass }, 'infer', threads);
  const torch1 = perPass > 1 ? await torchSide({ ...c, batch: 1 }, 'infer', threads) : torchB;
  const logs: string[] = [];
  const run = (inference: 'onnxruntime' | 'tfjs', tiles?: number) => async (): Promise<void> => {
    const r = await runAlScoring(
      // outDir: label files written, as `segloop select` has them written (it files a prediction per image).
      { models, cases, scores, inference, tilesPerPass: tiles, overlap: 0.5, outDir: path.join(dir, 'out') },
      { signal: new AbortController().signal, emit: (e: TaskEvent) => void (e.type === 'log' && logs.push(e.message)) },
    );
    if (r.cases.length !== cases.length) throw new Error(`scored ${r.cases.length} of ${cases.length}`);
  };
  const ortB = run('onnxruntime');
  const ort1 = run('onnxruntime', 1);
  const tfjs = run('tfjs');
  const ptB = async (): Promise<Timed> => {
    const t = { ms: 0, cpuMs: 0 };
    for (let i = 0; i < passes; i++) {
      const s = await torchB.step();
      t.ms += s.ms;
      t.cpuMs += s.cpuMs;
    }
    return t;
  };
  const pt1 = async (): Promise<Timed> => {
    const t = { ms: 0, cpuMs: 0 };
    for (let i = 0; i < totalTiles; i++) {
      const s = await torch1.step();
      t.ms += s.ms;
      t.cpuMs += s.cpuMs;
    }
    return t;
  };
  console.log(`\npool scoring: ${cases.length} pool images (${ids[0]}..${ids[ids.length - 1]}), scores ${scores.join(', ')}, ${c.arch} ${c.patch.join('x')} width ${c.width}; ${totalTiles} tiles; onnxruntime batched ${perPass} tiles per pass (memory bound ${wopts.maxBatchVoxels} voxels); ms for the whole pool, min/median of ${rounds} rounds alternated`);
  const loads = [os.loadavg()[0]];
  for (let i = 0; i < warmup; i++) {
    await ortB();
    await ort1();
    await tfjs();
    await ptB();
    if (torch1 !== torchB) await pt1();
  }
  const sides: Record<string, Timed[]> = { ortB: [], ort1: [], tfjs: [], ptB: [], pt1: [] };
  for (let i = 0; i < rounds; i++) {
    sides.ortB.push(await timed(ortB));
    sides.ptB.push(await ptB());
    sides.ort1.push(await timed(ort1));
    if (torch1 !== torchB) sides.pt1.push(await pt1());
    sides.tfjs.push(await timed(tfjs));
    loads.push(os.loadavg()[0]);
  }
  await torchB.close();
  if (torch1 !== torchB) await torch1.close();
  await fs.rm(dir, { recursive: true, force: true });
  const maxLoad = Math.max(...loads);
  const quiet = maxLoad <= cores;
  const vsTorch = (ts: Timed[], ref: Timed[]): string => (quiet ? `${(medOf(ts) / medOf(ref)).toFixed(2)}x` : 'refused (load)');
  const rows: string[][] = [['side', 'passes x batch', 'ms min/med', 'per image (med)', 'vs PyTorch same batch (med)', 'vs onnxruntime batched (med)', 'cores used']];
  const add = (label: string, pb: string, ts: Timed[], torchRef: Timed[] | null): void => {
    rows.push([label, pb, mmOf(ts), `${(medOf(ts) / cases.length).toFixed(0)}`, torchRef ? vsTorch(ts, torchRef) : '-', `${(medOf(ts) / medOf(sides.ortB)).toFixed(2)}x`, usedOf(ts)]);
  };
  add('onnxruntime batched (end to end)', `${passes}+ x <=${perPass}`, sides.ortB, sides.ptB);
  add('onnxruntime 1 tile per call (end to end)', `${totalTiles} x 1`, sides.ort1, torch1 !== torchB ? sides.pt1 : sides.ptB);
  add('tfjs (end to end)', `${totalTiles} x 1`, sides.tfjs, torch1 !== torchB ? sides.pt1 : sides.ptB);
  add(`PyTorch ${torchB.version} twin b${perPass} (forward only)`, `${passes} x ${perPass}`, sides.ptB, null);
  if (torch1 !== torchB) add(`PyTorch twin b1 (forward only)`, `${totalTiles} x 1`, sides.pt1, null);
  printTable(rows);
  console.log(`load average ${Math.min(...loads).toFixed(1)}-${maxLoad.toFixed(1)} on ${cores} cores${quiet ? '' : ': ratios to PyTorch refused (other work competes for the CPU and slows PyTorch more than us); ratios between our own sides stand'}`);
  const engineLog = [...new Set(logs.filter((l) => /inference on/.test(l)))];
  for (const l of engineLog) console.log(`  worker log: ${l}`);
}

const ortOn = !process.argv.includes('--no-ort');
if (PARTS.includes('volume') && !process.argv.includes('--no-volume') && ortOn) await wholeVolume();
if (PARTS.includes('batching') && ortOn) await batching();
if (PARTS.includes('pool') && ortOn) await poolScoring();
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);
