// npm run bench:conv -- [--rounds 5] [--warmup 1] [--threads 2] [--layers all|L0] [--step]
// --step: instead, the trainer's whole unet3d step (registry model, createTrainStep) with the addon
// on and off, alternating in one process (bench:train times it against PyTorch).
// Per-kernel times of the 3D convolutions of one unet3d training step (registry defaults: depth 4,
// widths 16-32-64-128, max-pool down, 2x2x2 transposed conv up, 1x1 head; plan shape 40x56x40,
// batch 2): forward, filter gradient (dW) and input gradient (dX) of every distinct layer, on
//   wasm   = our folded-onto-XNNPACK-Conv2D kernels (kernels/conv3d.ts),
//   native = the Node-API addon (native/conv3d, kernels/native-conv3d.ts), when built,
//   torch  = PyTorch CPU in a child process (aten.convolution / convolution_backward: the calls
//            autograd makes), same thread count,
// alternating wasm / native / torch per kernel, round after round (ABAB...), min and median ms.
// "per step" = sum over layers of count x median (the first layer's dX is never computed in
// training: its input is the image). Ratios are refused when the 1-minute load average exceeds
// the core count (other work would be competing, and it slows PyTorch's threads more than ours).
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../main/core/ml/backend';
import { createLoss } from '../../main/core/ml/losses';
import { createModel } from '../../main/core/ml/models';
import { createTrainStep } from '../../main/core/ml/trainer-step';
import { loadNativeConv, nativeConvThreads, setNativeConvEnabled } from '../../main/core/ml/kernels/native-conv3d';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface Layer {
  name: string;
  /** conv: x at `spatial`, Ci -> Co; up: transposed conv from `spatial` (low res) to 2x, Ci -> Co. */
  kind: 'conv' | 'up';
  spatial: [number, number, number];
  ci: number; co: number; k: number;
  /** How often the step runs each kernel of this shape: [fwd, dW, dX]. */
  count: [number, number, number];
}

const N = 2;
const L0: [number, number, number] = [40, 56, 40];
const L1: [number, number, number] = [20, 28, 20];
const L2: [number, number, number] = [10, 14, 10];
const L3: [number, number, number] = [5, 7, 5];
const LAYERS: Layer[] = [
  { name: 'enc0 1->16', kind: 'conv', spatial: L0, ci: 1, co: 16, k: 3, count: [1, 1, 0] },
  { name: 'L0 16->16 (enc+dec)', kind: 'conv', spatial: L0, ci: 16, co: 16, k: 3, count: [2, 2, 2] },
  { name: 'dec0 32->16', kind: 'conv', spatial: L0, ci: 32, co: 16, k: 3, count: [1, 1, 1] },
  { name: 'enc1 16->32', kind: 'conv', spatial: L1, ci: 16, co: 32, k: 3, count: [1, 1, 1] },
  { name: 'L1 32->32 (enc+dec)', kind: 'conv', spatial: L1, ci: 32, co: 32, k: 3, count: [2, 2, 2] },
  { name: 'dec1 64->32', kind: 'conv', spatial: L1, ci: 64, co: 32, k: 3, count: [1, 1, 1] },
  { name: 'enc2 32->64', kind: 'conv', spatial: L2, ci: 32, co: 64, k: 3, count: [1, 1, 1] },
  { name: 'L2 64->64 (enc+dec)', kind: 'conv', spatial: L2, ci: 64, co: 64, k: 3, count: [2, 2, 2] },
  { name: 'dec2 128->64', kind: 'conv', spatial: L2, ci: 128, co: 64, k: 3, count: [1, 1, 1] },
  { name: 'enc3 64->128', kind: 'conv', spatial: L3, ci: 64, co: 128, k: 3, count: [1, 1, 1] },
  { name: 'enc3 128->128', kind: 'conv', spatial: L3, ci: 128, co: 128, k: 3, count: [1, 1, 1] },
  { name: 'up 128->64 (5x7x5->)', kind: 'up', spatial: L3, ci: 128, co: 64, k: 2, count: [1, 1, 1] },
  { name: 'up 64->32 (10x14x10->)', kind: 'up', spatial: L2, ci: 64, co: 32, k: 2, count: [1, 1, 1] },
  { name: 'up 32->16 (20x28x20->)', kind: 'up', spatial: L1, ci: 32, co: 16, k: 2, count: [1, 1, 1] },
  { name: 'head 16->3 1x1x1', kind: 'conv', spatial: L0, ci: 16, co: 3, k: 1, count: [1, 1, 1] },
];
const KERNELS = ['fwd', 'dW', 'dX'] as const;
type Kernel = (typeof KERNELS)[number];

/** Our tensors and the kernel calls of one layer (NDHWC, filter [k,k,k,in,out] as tfjs holds it). */
function ourLayer(l: Layer, seed: number): { run(k: Kernel): tf.Tensor; dispose(): void } {
  const s = l.kind === 'up' ? 2 : 1;
  const hi = l.kind === 'up' ? (l.spatial.map((v) => v * 2) as [number, number, number]) : l.spatial;
  const pad = 'same' as const;
  if (l.kind === 'conv') {
    const x = tf.randomNormal([N, ...l.spatial, l.ci], 0, 1, 'float32', seed);
    const w = tf.randomNormal([l.k, l.k, l.k, l.ci, l.co], 0, 0.1, 'float32', seed + 1);
    const dy = tf.randomNormal([N, ...l.spatial, l.co], 0, 1, 'float32', seed + 2);
    const attrs = { strides: [1, 1, 1], pad, dilations: [1, 1, 1], dataFormat: 'NDHWC' };
    return {
      run: (k) => k === 'fwd' ? tf.engine().runKernel('Conv3D', { x, filter: w }, attrs) as tf.Tensor
        : k === 'dW' ? tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy }, { strides: [1, 1, 1], pad, filterShape: w.shape }) as tf.Tensor
          : tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter: w }, { strides: [1, 1, 1], pad, inputShape: x.shape }) as tf.Tensor,
      dispose: () => tf.dispose([x, w, dy]),
    };
  }
  // conv3dTranspose(x low [.., ci]) -> high [.., co]; filter [2,2,2,co,ci]. Its forward is
  // Conv3DBackpropInputV2, its dX a strided Conv3D, its dW Conv3DBackpropFilterV2(x=grad, dy=x).
  const x = tf.randomNormal([N, ...l.spatial, l.ci], 0, 1, 'float32', seed);
  const w = tf.randomNormal([l.k, l.k, l.k, l.co, l.ci], 0, 0.1, 'float32', seed + 1);
  const g = tf.randomNormal([N, ...hi, l.co], 0, 1, 'float32', seed + 2);
  const strides = [s, s, s];
  return {
    run: (k) => k === 'fwd' ? tf.engine().runKernel('Conv3DBackpropInputV2', { dy: x, filter: w }, { strides, pad, inputShape: g.shape }) as tf.Tensor
      : k === 'dW' ? tf.engine().runKernel('Conv3DBackpropFilterV2', { x: g, dy: x }, { strides, pad, filterShape: w.shape }) as tf.Tensor
        : tf.engine().runKernel('Conv3D', { x: g, filter: w }, { strides, pad, dilations: [1, 1, 1], dataFormat: 'NDHWC' }) as tf.Tensor,
    dispose: () => tf.dispose([x, w, g]),
  };
}

/** The same layer for PyTorch: NCDHW, weight [out,in,k,k,k] (transposed: [in,out,k,k,k]). */
function torchLayer(l: Layer): object {
  return l.kind === 'conv'
    ? { x: [N, l.ci, ...l.spatial], w: [l.co, l.ci, l.k, l.k, l.k], stride: 1, padding: (l.k - 1) / 2, transposed: false }
    : { x: [N, l.ci, ...l.spatial], w: [l.ci, l.co, l.k, l.k, l.k], stride: 2, padding: 0, transposed: true };
}

class Torch {
  private readonly proc = spawn('/usr/bin/python3', [path.join(path.dirname(fileURLToPath(import.meta.url)), 'ref', 'conv_bench.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  async ask<T>(msg: object): Promise<T> {
    this.proc.stdin.write(JSON.stringify(msg) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('PyTorch helper exited');
    const out = JSON.parse(r.value as string) as T & { error?: string };
    if (out.error) throw new Error(out.error);
    return out;
  }
  close(): void {
    this.proc.stdin.end();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function timeOurs(layer: { run(k: Kernel): tf.Tensor }, k: Kernel): { ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = layer.run(k);
  const ms = performance.now() - t0; // wasm kernels are synchronous: the output is computed here
  const c = process.cpuUsage(c0); // all threads of this process: wasm pthreads, addon threads
  out.dispose();
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / (m || 1);
}

const rounds = Number(arg('rounds', '5'));
const warmup = Number(arg('warmup', '1'));
const threads = Number(arg('threads', '2'));
const layers = arg('layers', 'all') === 'all' ? LAYERS : LAYERS.filter((l) => l.name.startsWith(arg('layers', '')));
const cores = os.cpus().length;

const report = await initBackend({ prefer: 'wasm', threads });
const native = loadNativeConv();
console.log(`wasm backend, ${report.threads} threads (SIMD ${report.simd}); ${native.reason}; native threads ${nativeConvThreads()}; ${cores} cores`);
if (process.argv.includes('--step')) {
  if (!native.loaded) throw new Error(`--step compares the addon on/off: ${native.reason}`);
  const { model } = createModel('unet3d', { dims: 3, depth: 4, baseWidth: 16, numClasses: 3 }, { seed: 7 });
  const x = tf.randomNormal([N, ...L0, 1], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([N, ...L0], 0, 3, 'float32', 8)), 'int32'));
  const step = createTrainStep({ model, optimizer: tf.train.adam(1e-3), loss: createLoss({ numClasses: 3 }), useLabelledFlags: false });
  const st: Record<'wasm' | 'native', number[]> = { wasm: [], native: [] };
  const ld = [os.loadavg()[0]];
  for (let r = 0; r < warmup + rounds; r++) {
    for (const s of (r % 2 ? ['native', 'wasm'] : ['wasm', 'native']) as ('wasm' | 'native')[]) {
      setNativeConvEnabled(s === 'native');
      const t0 = performance.now();
      await step({ x: tf.clone(x), y: tf.clone(y), caseIds: [] });
      if (r >= warmup) st[s].push(performance.now() - t0);
    }
    ld.push(os.loadavg()[0]);
  }
  const hi = Math.max(...ld);
  const mm = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}/${median(xs).toFixed(0)}`;
  console.log(`unet3d 40x56x40 b2 training step, ms min/median over ${rounds} (ABAB): conv3d on wasm kernels ${mm(st.wasm)}, on the native addon ${mm(st.native)}; ` +
    (hi > cores ? `ratio refused (load ${Math.min(...ld).toFixed(1)}-${hi.toFixed(1)} > ${cores} cores)` : `wasm/native ${(median(st.wasm) / median(st.native)).toFixed(2)}x (load ${Math.min(...ld).toFixed(1)}-${hi.toFixed(1)})`));
  process.exit(0);
}
const torch = new Torch();
const info = await torch.ask<{ torch: string; threads: number; interop: number }>({ cmd: 'setup', threads, layers: layers.map(torchLayer) });
console.log(`PyTorch ${info.torch}: ${info.threads} intra-op / ${info.interop} inter-op threads`);

type Side = 'wasm' | 'native' | 'torch';
const sides: Side[] = native.loaded ? ['wasm', 'native', 'torch'] : ['wasm', 'torch'];
const times = new Map<string, number[]>();
const cpuTimes = new Map<string, number[]>();
const key = (li: number, k: Kernel, s: Side): string => `${li}:${k}:${s}`;
const ours = layers.map((l, i) => ourLayer(l, 100 + 10 * i));

// Native vs wasm kernels on the same tensors: max |diff| / max |wasm|, per layer and kernel.
const diffs: string[] = [];
if (native.loaded) {
  for (let li = 0; li < layers.length; li++) {
    const d = KERNELS.map((k) => {
      setNativeConvEnabled(false);
      const a = ours[li].run(k);
      setNativeConvEnabled(true);
      const b = ours[li].run(k);
      const r = maxRelDiff(b, a);
      tf.dispose([a, b]);
      return `${k} ${r.toExponential(1)}`;
    });
    diffs.push(`${layers[li].name}: ${d.join(', ')}`);
  }
}

const loads: number[] = [os.loadavg()[0]];
for (let r = 0; r < warmup + rounds; r++) {
  for (let li = 0; li < layers.length; li++) {
    for (const k of KERNELS) {
      // Rotate the order each round so no side always runs right after another one.
      for (let j = 0; j < sides.length; j++) {
        const s = sides[(j + r) % sides.length];
        let m: { ms: number; cpuMs: number };
        if (s === 'torch') m = await torch.ask<{ ms: number; cpuMs: number }>({ cmd: 'run', layer: li, kernel: k });
        else {
          setNativeConvEnabled(s === 'native');
          m = timeOurs(ours[li], k);
        }
        if (r >= warmup) {
          for (const [map, v] of [[times, m.ms], [cpuTimes, m.cpuMs]] as const) {
            const list = map.get(key(li, k, s)) ?? [];
            list.push(v);
            map.set(key(li, k, s), list);
          }
        }
      }
    }
  }
  loads.push(os.loadavg()[0]);
}
setNativeConvEnabled(true);
torch.close();
ours.forEach((o) => o.dispose());

const maxLoad = Math.max(...loads);
const refused = maxLoad > cores;
const fmt = (xs: number[] | undefined): string => (xs ? `${Math.min(...xs).toFixed(1)}/${median(xs).toFixed(1)}` : '-');
const ratio = (a: number[] | undefined, b: number[] | undefined): string => (!a || !b ? '-' : refused ? 'refused' : `${(median(a) / median(b)).toFixed(2)}x`);
console.log(`\n${rounds} rounds after ${warmup} warm-up; ms min/median per call; load ${Math.min(...loads).toFixed(2)}-${maxLoad.toFixed(2)} on ${cores} cores`);
const head = ['layer', 'kernel', 'x/step', 'wasm', ...(native.loaded ? ['native'] : []), 'torch', 'wasm/torch', ...(native.loaded ? ['native/torch', 'wasm/native'] : [])];
const rows: string[][] = [head];
const zero = (): Record<Side, Record<Kernel, number>> => ({ wasm: { fwd: 0, dW: 0, dX: 0 }, native: { fwd: 0, dW: 0, dX: 0 }, torch: { fwd: 0, dW: 0, dX: 0 } });
const total = zero();
const cpuTotal = zero();
layers.forEach((l, li) => {
  KERNELS.forEach((k, ki) => {
    const [w, n, t] = (['wasm', 'native', 'torch'] as Side[]).map((s) => times.get(key(li, k, s)));
    for (const [s, xs] of [['wasm', w], ['native', n], ['torch', t]] as [Side, number[] | undefined][]) if (xs) total[s][k] += l.count[ki] * median(xs);
    for (const s of sides) cpuTotal[s][k] += l.count[ki] * median(cpuTimes.get(key(li, k, s)) ?? [0]);
    rows.push([l.name, k, String(l.count[ki]), fmt(w), ...(native.loaded ? [fmt(n)] : []), fmt(t), ratio(w, t), ...(native.loaded ? [ratio(n, t), ratio(w, n)] : [])]);
  });
});
const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));

console.log('\nper unet3d step (sum of count x median, ms):');
for (const k of [...KERNELS, 'all'] as const) {
  const sum = (s: Side): number => (k === 'all' ? KERNELS.reduce((a, kk) => a + total[s][kk], 0) : total[s][k]);
  const parts = sides.map((s) => `${s} ${sum(s).toFixed(0)}`).join(', ');
  const rs = refused ? 'ratios refused (load)' : sides.filter((s) => s !== 'torch').map((s) => `${s}/torch ${(sum(s) / sum('torch')).toFixed(2)}x`).join(', ');
  console.log(`  ${k.padEnd(4)} ${parts}; ${rs}`);
}
// CPU time = work done, whatever the wall clock; under load it is the less distorted number, but
// it is not a speed: a side that idles threads (waiting) costs less CPU than it costs time.
console.log('\nper unet3d step, process CPU ms (all threads; sum of count x median):');
for (const k of [...KERNELS, 'all'] as const) {
  const sum = (s: Side): number => (k === 'all' ? KERNELS.reduce((a, kk) => a + cpuTotal[s][kk], 0) : cpuTotal[s][k]);
  console.log(`  ${k.padEnd(4)} ${sides.map((s) => `${s} ${sum(s).toFixed(0)}`).join(', ')}`);
}
if (diffs.length) console.log(`\nnative vs wasm kernels, max |diff| / max |wasm|:\n  ${diffs.join('\n  ')}`);
if (refused) console.log(`\nNo ratio printed: the 1-minute load average reached ${maxLoad.toFixed(2)} > ${cores} cores; other work competed for the CPU. Re-run in a quiet window.`);
if (!native.loaded) console.log(`\nnative column missing: ${native.reason}`);
process.exit(0);
