// npm run profile:step -- [--arch unet3d] [--patch 40,56,40] [--batch 2] [--steps 2] [--threads 2] [--json out.json] [--ab-norm]
// Per-kernel profile of one training step of a shipped network (registry + the trainer's step)
// with tf.profile: time per kernel name for the forward pass (model + loss) and for the whole
// step; backward+update = step - forward per kernel. "Outside kernels" = wall time no kernel
// accounts for (tfjs-layers wrappers, tape bookkeeping, JS glue). Median over --steps profiled
// steps after one warm-up step. Prints the machine load so a number can be judged.
// --ab-norm: alternates steps with our fused normalisation kernels (kernels/norm-fused.ts) and
// without them (the composed tf ops), in one process, and prints both tables: before/after
// measured under the same load.
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { initBackend } from '../../main/core/ml/backend';
import { createLoss } from '../../main/core/ml/losses';
import { createModel } from '../../main/core/ml/models';
import { createTrainStep } from '../../main/core/ml/trainer-step';
import { NORM_BACKWARD, NORM_FORWARD } from '../../main/core/ml/kernels/norm-fused';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const arch = arg('arch', 'unet3d');
const patch = arg('patch', '40,56,40').split(',').map(Number);
const batch = Number(arg('batch', '2'));
const steps = Number(arg('steps', '2'));
const classes = 3;
const report = await initBackend({ threads: Number(arg('threads', '2')) });
const { model } = createModel(arch, { dims: patch.length as 2 | 3, depth: 4, baseWidth: 16, numClasses: classes }, { seed: 7 });
const shape = [batch, ...[...patch].reverse(), 1];
const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform(shape.slice(0, -1), 0, classes, 'float32', 8)), 'int32'));
const loss = createLoss({ numClasses: classes });
const step = createTrainStep({ model, optimizer: tf.train.adam(1e-3), loss, useLabelledFlags: false });

type Acc = Map<string, { ms: number; n: number }>;
async function profile(f: () => Promise<void>): Promise<{ wall: number; kernels: Acc }> {
  const t0 = performance.now();
  let done: Promise<void> = Promise.resolve();
  const info = await tf.profile(() => {
    done = f();
    return undefined as unknown as tf.Tensor;
  });
  await done;
  const wall = performance.now() - t0;
  const kernels: Acc = new Map();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = `${k.name} ${k.inputShapes?.[0]?.length ?? 0}D`;
    const a = kernels.get(key) ?? { ms: 0, n: 0 };
    a.ms += ms;
    a.n++;
    kernels.set(key, a);
  }
  return { wall, kernels };
}

const forward = async (): Promise<void> => {
  const l = tf.tidy(() => loss(model.apply(x, { training: true }) as tf.Tensor, y));
  await l.data();
  l.dispose();
};
const train = (): Promise<void> => step({ x: tf.clone(x), y: tf.clone(y), caseIds: [] }).then(() => undefined);

const fusedConfigs = [NORM_FORWARD, NORM_BACKWARD].map((k) => tf.getKernel(k, tf.getBackend())).filter((k): k is tf.KernelConfig => Boolean(k));
const setFused = (on: boolean): void => {
  for (const k of fusedConfigs) {
    if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
    if (on) tf.registerKernel(k);
  }
};
const variants = process.argv.includes('--ab-norm') ? [{ label: 'composed norm ops (before)', fused: false }, { label: 'fused norm kernels (after)', fused: true }] : [{ label: 'as shipped', fused: fusedConfigs.length > 0 }];
const runs = variants.map(() => ({ fw: [] as { wall: number; kernels: Acc }[], st: [] as { wall: number; kernels: Acc }[] }));
for (const v of variants) {
  setFused(v.fused);
  await train();
  await forward();
}
const load0 = os.loadavg()[0];
for (let i = 0; i < steps; i++) {
  for (let j = 0; j < variants.length; j++) {
    setFused(variants[j].fused);
    runs[j].fw.push(await profile(forward));
    runs[j].st.push(await profile(train));
  }
}
const load1 = os.loadavg()[0];
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${arch} ${patch.join('x')} batch ${batch}; backend ${report.name}, ${report.threads} threads; load ${load0.toFixed(1)}-${load1.toFixed(1)} on ${os.cpus().length} cores`);
const tables = variants.map((v, j) => {
  const { fw, st } = runs[j];
  const names = new Set([...st.flatMap((p) => [...p.kernels.keys()]), ...fw.flatMap((p) => [...p.kernels.keys()])]);
  const rows = [...names].map((name) => {
    const f = med(fw.map((p) => p.kernels.get(name)?.ms ?? 0));
    const sm = med(st.map((p) => p.kernels.get(name)?.ms ?? 0));
    return { name, calls: st[0].kernels.get(name)?.n ?? 0, forwardMs: f, backwardMs: Math.max(0, sm - f), stepMs: sm };
  }).sort((a, b) => b.stepMs - a.stepMs);
  const wall = med(st.map((p) => p.wall));
  const inKernels = rows.reduce((acc, r) => acc + r.stepMs, 0);
  console.log(`\n[${v.label}] step wall ${wall.toFixed(0)} ms (median of ${steps}; forward wall ${med(fw.map((f) => f.wall)).toFixed(0)} ms); in kernels ${inKernels.toFixed(0)} ms (nested scopes count twice); outside kernels ${(wall - inKernels).toFixed(0)} ms`);
  console.log('kernel (rank of 1st input)'.padEnd(36) + 'calls  fwd ms   bwd+upd ms  step ms  share');
  for (const r of rows.slice(0, Number(arg('top', '30')))) {
    console.log(`${r.name.padEnd(36)}${String(r.calls).padStart(5)}  ${r.forwardMs.toFixed(1).padStart(7)}  ${r.backwardMs.toFixed(1).padStart(10)}  ${r.stepMs.toFixed(1).padStart(7)}  ${((100 * r.stepMs) / wall).toFixed(1).padStart(4)}%`);
  }
  return { label: v.label, wall, rows };
});
const out = arg('json', '');
if (out) writeFileSync(out, JSON.stringify({ arch, patch, batch, backend: report.name, threads: report.threads, load: [load0, load1], tables }, null, 1));
process.exit(0);
