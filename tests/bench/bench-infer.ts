// npm run bench:infer -- [--rounds 8] [--warmup 2] [--threads 2] [--arch all|unet3d,unet2d,resunet,attention-unet] [--plain] [--no-ort] [--no-volume]
// Part 1 (unet-bench-harness.ts): ms per forward pass (softmax probabilities) of the shipped
// networks, tfjs vs their PyTorch twin vs onnxruntime-node, alternated A B C.
// Part 2: whole-volume sliding-window prediction of a real hippocampus image (the product's
// predict path: tiles of the plan's patch, 50 % overlap, Gaussian blending) on tfjs and on
// onnxruntime, against the PyTorch twin doing the same number of forward passes of the same tile
// batch (forward passes only: the tiling and blending our sides do is extra work PyTorch is
// spared, so the ratio is if anything unfavourable to us). Same ABC alternation and load rule.
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readNifti } from '../../main/core/imaging/nifti';
import { preprocessCase } from '../../main/core/ml/data/preprocess';
import { onnxEngine } from '../../main/core/ml/inference/engine';
import { slidingWindowProbabilities, slidingWindowProbabilitiesAsync, tileStarts, type SlidingWindowOptions } from '../../main/core/ml/inference/sliding-window';
import { createModel } from '../../main/core/ml/models';
import { loadOnnxRuntime } from '../../main/core/ml/onnx/ort-runner';
import { HIPPOCAMPUS } from '../data-root';
import { arg, CASES, median, runBench, torchSide, type Timed } from './unet-bench-harness';

await runBench('infer');

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

if (!process.argv.includes('--no-volume') && !process.argv.includes('--no-ort')) await wholeVolume();
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);
