// Shared by bench-train.ts and bench-infer.ts: times the bench U-Net on our best backend and the
// identical PyTorch network (tests/bench/ref/unet_bench.py, CPU, 2 threads) in the same invocation.
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendReport, initBackend } from '../../main/core/ml/backend';
import { BenchUNet, diceCeLoss } from './unet-bench-model';

export type BenchMode = 'train' | 'infer';

export interface BenchCase {
  label: string;
  dims: 2 | 3;
  spatial: number[];
  batch: number;
  classes: number;
}

export const CASES: BenchCase[] = [
  { label: '2D U-Net 64x64, batch 8', dims: 2, spatial: [64, 64], batch: 8, classes: 3 },
  { label: '3D U-Net 40x56x40, batch 2', dims: 3, spatial: [40, 56, 40], batch: 2, classes: 3 },
];

const WIDTHS = [16, 32, 64, 128];
const PY_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ref', 'unet_bench.py');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface OursResult { median: number; params: number; tensorsBefore: number; tensorsAfter: number }

function timeOurs(c: BenchCase, mode: BenchMode, warmup: number, steps: number): OursResult {
  const net = new BenchUNet({ dims: c.dims, inChannels: 1, classes: c.classes, widths: WIDTHS });
  const shape = [c.batch, ...c.spatial, 1];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const onehot = tf.tidy(() => tf.oneHot(tf.cast(tf.floor(tf.randomUniform(shape.slice(0, -1), 0, c.classes, 'float32', 8)), 'int32'), c.classes));
  const opt = tf.train.adam(1e-3);
  const vars = net.variables();
  const step = mode === 'train'
    ? () => {
      const loss = opt.minimize(() => diceCeLoss(net.apply(x), onehot), true, vars);
      loss?.dataSync();
      loss?.dispose();
    }
    : () => {
      const p = tf.tidy(() => tf.sum(tf.softmax(net.apply(x))));
      p.dataSync();
      p.dispose();
    };
  for (let i = 0; i < warmup; i++) step();
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const tensorsAfter = tf.memory().numTensors;
  const params = net.parameterCount();
  tf.dispose([x, onehot, ...vars]);
  opt.dispose();
  return { median: median(times), params, tensorsBefore, tensorsAfter };
}

interface TorchResult { median: number; params: number; threads: number }

function timeTorch(c: BenchCase, mode: BenchMode, warmup: number, steps: number, threads: number): TorchResult {
  const out = execFileSync('/usr/bin/python3', [
    PY_SCRIPT, '--dims', String(c.dims), '--shape', ...c.spatial.map(String), '--batch', String(c.batch),
    '--classes', String(c.classes), '--mode', mode, '--warmup', String(warmup), '--steps', String(steps),
    '--threads', String(threads),
  ], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as TorchResult;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export async function runBench(mode: BenchMode): Promise<void> {
  const steps = arg('steps', mode === 'train' ? 8 : 10);
  const warmup = arg('warmup', 2);
  const threads = arg('threads', 2);
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const report: BackendReport = await initBackend({ threads });
  console.log(`backend: ${report.name}, threads ${report.threads}, simd ${report.simd}`);
  for (const t of report.tried) console.log(`  ${t.ok ? 'ok ' : 'no '} ${t.name}: ${t.reason}`);
  console.log(`mode ${mode}: median of ${steps} steps after ${warmup} warm-up; PyTorch ${torchVersion()} CPU, ${threads} threads`);
  const rows: string[][] = [['case', 'ours ms', 'PyTorch ms', 'ours/PyTorch', 'params (ours=torch)', 'tensors flat', 'load avg']];
  for (const c of CASES) {
    if (only && !c.label.startsWith(only)) continue;
    const load0 = os.loadavg()[0];
    const ours = timeOurs(c, mode, warmup, steps);
    const torch = timeTorch(c, mode, warmup, steps, threads);
    const load1 = os.loadavg()[0];
    rows.push([
      c.label,
      ours.median.toFixed(0),
      torch.median.toFixed(0),
      (ours.median / torch.median).toFixed(2),
      `${ours.params}${ours.params === torch.params ? '=' : '!='}${torch.params}`,
      ours.tensorsAfter === ours.tensorsBefore ? 'yes' : `no (${ours.tensorsBefore}->${ours.tensorsAfter})`,
      `${load0.toFixed(1)}-${load1.toFixed(1)}`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
}

function torchVersion(): string {
  try {
    return execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    return '(torch not importable)';
  }
}
