// Shared by bench-train.ts and bench-infer.ts. Times what ships: the network is built by the model
// registry (createModel, seeded) and a training step is the trainer's own step (trainer-step.ts:
// loss, Adam, the kernels the backend really uses); its PyTorch twin (ref/unet_twin.py, same
// layers, same loss, same parameter count) runs in a child process driven step by step, and the
// two sides alternate A B A B ... in one time window so both see the same machine load.
// Reported: min and median ms of each side, the threads each side was given and the cores it
// really used (CPU time / wall time of its process during its steps), the load average over the
// run. The ratio is refused when the load average exceeds the core count: then both sides compete
// with other work and PyTorch's threaded kernels lose more to it than ours, so it would flatter us.
// bench:infer adds a third side, the same seeded model exported to ONNX on onnxruntime-node (the
// inference path of predict / TTA / AL scoring, main/core/ml/inference/engine.ts): tfjs, PyTorch,
// onnxruntime alternate A B C A B C (--no-ort drops it).
import * as tf from '@tensorflow/tfjs-core';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type BackendReport, initBackend } from '../../main/core/ml/backend';
import { createLoss } from '../../main/core/ml/losses';
import { createModel } from '../../main/core/ml/models';
import { createTrainStep } from '../../main/core/ml/trainer-step';
import { onnxEngine } from '../../main/core/ml/inference/engine';
import { loadOnnxRuntime } from '../../main/core/ml/onnx/ort-runner';
import { BenchUNet, diceCeLoss } from './unet-bench-model';

export type BenchMode = 'train' | 'infer';

export interface BenchCase {
  label: string;
  arch: 'unet3d' | 'unet2d' | 'resunet' | 'attention-unet';
  dims: 2 | 3;
  /** Patch in volume order (X, Y[, Z]), as the plan and the trainer give it. */
  patch: number[];
  batch: number;
  classes: number;
  depth: number;
  width: number;
  /** Part of the default set (others with --arch all or --arch <name>). */
  standard: boolean;
}

// The hippocampus plan on a 2-core CPU IS the DESIGN reference shape (main/core/ml/plan.test.ts:
// proposePlan -> 3D, 40x56x40, batch 2, depth 4, width 16); the 2D row is the shape the 2D plan
// trains with (train-job.ts: patch covering the largest slice 43x58 -> 48x64, batch 16).
export const CASES: BenchCase[] = [
  { label: 'unet3d 40x56x40 b2 (plan = DESIGN ref)', arch: 'unet3d', dims: 3, patch: [40, 56, 40], batch: 2, classes: 3, depth: 4, width: 16, standard: true },
  { label: 'unet2d 48x64 b16 (2D plan)', arch: 'unet2d', dims: 2, patch: [48, 64], batch: 16, classes: 3, depth: 4, width: 16, standard: true },
  { label: 'resunet 40x56x40 b2', arch: 'resunet', dims: 3, patch: [40, 56, 40], batch: 2, classes: 3, depth: 4, width: 16, standard: false },
  { label: 'attention-unet 40x56x40 b2', arch: 'attention-unet', dims: 3, patch: [40, 56, 40], batch: 2, classes: 3, depth: 4, width: 16, standard: false },
];

const TWIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ref', 'unet_twin.py');

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Timed { ms: number; cpuMs: number }

/** A side of the comparison: warm up once, then one timed step per call. */
export interface Side {
  step(): Promise<Timed>;
  params: number;
  threads: string;
  close(): Promise<void>;
}

export function spatialOf(c: BenchCase): number[] {
  // Tensors are [B, Z, Y, X, C] (3D) / [B, Y, X, C] (2D) for a patch given as (X, Y[, Z]).
  return [...c.patch].reverse();
}

async function ourSide(c: BenchCase, mode: BenchMode, report: BackendReport): Promise<Side & { tensorsFlat(): string }> {
  const { model } = createModel(c.arch, { dims: c.dims, depth: c.depth, baseWidth: c.width, numClasses: c.classes }, { seed: 7 });
  const shape = [c.batch, ...spatialOf(c), 1];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform(shape.slice(0, -1), 0, c.classes, 'float32', 8)), 'int32'));
  const optimizer = tf.train.adam(1e-3);
  const trainStep = createTrainStep({ model, optimizer, loss: createLoss({ numClasses: c.classes }), useLabelledFlags: false });
  let tensorsAtFirst = -1;
  let tensorsNow = -1;
  const run = async (): Promise<void> => {
    if (mode === 'train') {
      // The step disposes its batch: hand it clones (no copy of the data).
      await trainStep({ x: tf.clone(x), y: tf.clone(y), caseIds: [] });
    } else {
      const s = tf.tidy(() => tf.sum(tf.softmax(model.predict(x) as tf.Tensor)));
      await s.data();
      s.dispose();
    }
  };
  return {
    params: model.countParams(),
    threads: `${report.threads} (${report.name}${report.simd ? ' SIMD' : ''})`,
    async step() {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await run();
      const ms = performance.now() - t0;
      const cu = process.cpuUsage(c0);
      const n = tf.memory().numTensors;
      if (tensorsAtFirst < 0) tensorsAtFirst = n;
      tensorsNow = n;
      return { ms, cpuMs: (cu.user + cu.system) / 1000 };
    },
    tensorsFlat: () => (tensorsNow === tensorsAtFirst ? 'yes' : `no (${tensorsAtFirst}->${tensorsNow})`),
    async close() {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

class TwinProcess {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: ((line: string) => void)[] = [];
  private stderr = '';

  constructor() {
    this.proc = spawn('/usr/bin/python3', [TWIN], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => this.queue.shift()?.(l));
  }

  ask<T>(msg: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onExit = (): void => reject(new Error(`PyTorch twin exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
      this.proc.once('exit', onExit);
      this.queue.push((line) => {
        this.proc.off('exit', onExit);
        resolve(JSON.parse(line) as T);
      });
      this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  }

  async close(): Promise<void> {
    this.proc.stdin.write('{"cmd":"quit"}\n');
    await new Promise((r) => this.proc.once('exit', r));
  }
}

/** The same seeded network exported to ONNX, one forward pass (+ softmax, in the graph) per step. */
async function ortSide(c: BenchCase, threads: number): Promise<Side> {
  const { model } = createModel(c.arch, { dims: c.dims, depth: c.depth, baseWidth: c.width, numClasses: c.classes }, { seed: 7 });
  const shape = [c.batch, ...spatialOf(c), 1];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const xs = x.dataSync() as Float32Array;
  const engine = await onnxEngine(model, threads);
  const params = model.countParams();
  tf.dispose(x);
  model.dispose();
  return {
    params,
    threads: `${engine.threads} intra-op (${engine.describe.split(' (')[0]})`,
    async step() {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await engine.probabilities(xs, shape);
      const ms = performance.now() - t0;
      const cu = process.cpuUsage(c0);
      return { ms, cpuMs: (cu.user + cu.system) / 1000 };
    },
    close: () => engine.dispose(),
  };
}

export async function torchSide(c: BenchCase, mode: BenchMode, threads: number): Promise<Side & { version: string }> {
  const twin = new TwinProcess();
  const b = await twin.ask<{ params: number; threads: number; interop: number; torch: string }>({
    cmd: 'build', arch: c.arch, dims: c.dims, shape: c.patch, batch: c.batch, classes: c.classes, depth: c.depth, width: c.width, threads,
  });
  return {
    params: b.params,
    version: b.torch,
    threads: `${b.threads} intra-op, ${b.interop} inter-op`,
    async step() {
      const r = await twin.ask<{ ms: number; cpu_ms: number }>({ cmd: 'step', mode });
      return { ms: r.ms, cpuMs: r.cpu_ms };
    },
    close: () => twin.close(),
  };
}

/** Our strided-conv U-Net through the registry vs the same net written as plain tfjs ops. */
async function wrapperOverhead(mode: BenchMode, rounds: number): Promise<string> {
  const c = CASES[0];
  const shape = [c.batch, ...spatialOf(c), 1];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const onehot = tf.tidy(() => tf.oneHot(tf.cast(tf.floor(tf.randomUniform(shape.slice(0, -1), 0, c.classes, 'float32', 8)), 'int32'), c.classes));
  const plain = new BenchUNet({ dims: 3, inChannels: 1, classes: c.classes, widths: [16, 32, 64, 128] });
  const vars = plain.variables();
  const opt1 = tf.train.adam(1e-3);
  const plainStep = async (): Promise<void> => {
    if (mode === 'train') {
      const l = opt1.minimize(() => diceCeLoss(plain.apply(x), onehot), true, vars);
      await l?.data();
      l?.dispose();
    } else {
      const s = tf.tidy(() => tf.sum(tf.softmax(plain.apply(x))));
      await s.data();
      s.dispose();
    }
  };
  const { model } = createModel('unet3d', { depth: 4, baseWidth: 16, numClasses: c.classes, downsample: 'strided' }, { seed: 7 });
  const opt2 = tf.train.adam(1e-3);
  const step = createTrainStep({ model, optimizer: opt2, loss: createLoss({ numClasses: c.classes }), useLabelledFlags: false });
  const y = tf.argMax(onehot, -1);
  const regStep = async (): Promise<void> => {
    if (mode === 'train') await step({ x: tf.clone(x), y: tf.clone(y), caseIds: [] });
    else {
      const s = tf.tidy(() => tf.sum(tf.softmax(model.predict(x) as tf.Tensor)));
      await s.data();
      s.dispose();
    }
  };
  await plainStep();
  await regStep();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await regStep();
    a.push(performance.now() - t);
    t = performance.now();
    await plainStep();
    b.push(performance.now() - t);
  }
  const params = `${model.countParams()} vs ${plain.parameterCount()} params`;
  tf.dispose([x, onehot, y, ...vars]);
  opt1.dispose();
  opt2.dispose();
  model.dispose();
  return `registry (tfjs-layers) ${median(a).toFixed(0)} ms vs plain tfjs ops ${median(b).toFixed(0)} ms, median of ${rounds} ABAB (${params}): ${(median(a) / median(b)).toFixed(2)}x = the layers-wrapper overhead`;
}

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export async function runBench(mode: BenchMode): Promise<void> {
  const rounds = Number(arg('rounds') ?? (mode === 'train' ? 6 : 8));
  const warmup = Number(arg('warmup') ?? 2);
  const threads = Number(arg('threads') ?? 2);
  const archArg = arg('arch');
  const cases = CASES.filter((c) => (archArg === 'all' ? true : archArg ? archArg.split(',').includes(c.arch) : c.standard));
  const cores = os.cpus().length;
  const report = await initBackend({ threads });
  console.log(`backend: ${report.name}, ${report.threads} threads, SIMD ${report.simd}; machine: ${cores} cores`);
  for (const t of report.tried) console.log(`  ${t.ok ? 'ok ' : 'no '} ${t.name}: ${t.reason}`);
  console.log(`mode ${mode}: ${warmup} warm-up steps per side, then ${rounds} rounds alternating ours / PyTorch (ABAB); ms per step`);
  const rows: string[][] = [['case', 'ours min/med', 'torch min/med', 'ours/torch (med)', 'params ours=torch', 'threads ours | torch', 'cores used ours | torch', 'tensors flat', 'load avg']];
  const ort = mode === 'infer' && !process.argv.includes('--no-ort') ? (await loadOnnxRuntime()).availability : null;
  if (ort && !ort.ok) console.log(`onnxruntime row skipped: ${ort.reason}`);
  const withOrt = !!ort?.ok;
  if (withOrt) rows[0].push('onnxruntime min/med', 'ort/torch (med)', 'ort threads | cores used');
  let refused = false;
  let torchVersion = '';
  for (const c of cases) {
    const loads = [os.loadavg()[0]];
    const ours = await ourSide(c, mode, report);
    const torch = await torchSide(c, mode, threads);
    const onnx = withOrt ? await ortSide(c, threads) : null;
    torchVersion = torch.version;
    for (let i = 0; i < warmup; i++) {
      await ours.step();
      await torch.step();
      await onnx?.step();
    }
    const a: Timed[] = [];
    const b: Timed[] = [];
    const o: Timed[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await ours.step());
      b.push(await torch.step());
      if (onnx) o.push(await onnx.step());
      loads.push(os.loadavg()[0]);
    }
    await onnx?.close();
    await torch.close();
    await ours.close();
    const am = a.map((t) => t.ms);
    const bm = b.map((t) => t.ms);
    const used = (ts: Timed[]): string => (ts.reduce((s, t) => s + t.cpuMs, 0) / ts.reduce((s, t) => s + t.ms, 0)).toFixed(2);
    const maxLoad = Math.max(...loads);
    const tooLoaded = maxLoad > cores;
    refused ||= tooLoaded;
    rows.push([
      c.label,
      `${Math.min(...am).toFixed(0)}/${median(am).toFixed(0)}`,
      `${Math.min(...bm).toFixed(0)}/${median(bm).toFixed(0)}`,
      tooLoaded ? 'refused (load)' : `${(median(am) / median(bm)).toFixed(2)}x`,
      `${ours.params}${ours.params === torch.params ? '=' : '!='}${torch.params}`,
      `${ours.threads} | ${torch.threads}`,
      `${used(a)} | ${used(b)}`,
      ours.tensorsFlat(),
      `${Math.min(...loads).toFixed(1)}-${maxLoad.toFixed(1)}`,
    ]);
    if (onnx) {
      const om = o.map((t) => t.ms);
      rows[rows.length - 1].push(
        `${Math.min(...om).toFixed(0)}/${median(om).toFixed(0)}`,
        tooLoaded ? 'refused (load)' : `${(median(om) / median(bm)).toFixed(2)}x`,
        `${onnx.threads} | ${used(o)}`,
      );
    }
  }
  console.log(`PyTorch ${torchVersion} CPU, ${threads} threads`);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
  if (refused) {
    console.log(`\nNo ratio printed where the 1-minute load average rose above the ${cores} cores: other work was competing for the CPU, and it slows PyTorch's threaded kernels more than ours, so the ratio would flatter us. Re-run on a quiet machine.`);
  }
  if (process.argv.includes('--plain')) console.log(`\nunet3d (strided down-sampling) ${await wrapperOverhead(mode, Math.max(3, rounds >> 1))}`);
}
