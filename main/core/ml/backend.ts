// Picks the fastest tfjs backend that loads here, in one place, at start-up:
//   tfjs-node-gpu -> tfjs-node -> wasm (with our kernels) -> cpu (with our conv gradients).
// The native packages are optionalDependencies that often cannot install (they download
// libtensorflow); "not installed" is then a normal outcome, reported, not thrown.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { prepareWasmThreads } from './backend-wasm-threads';
import { registerMissingGradients, registerOurKernels } from './kernels/register';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface BackendReport {
  name: BackendName;
  /** Threads the backend computes with (wasm: the XNNPACK pool size actually created). */
  threads: number;
  simd: boolean;
  tried: BackendAttempt[];
  /** Kernels of ours that replace stock ones on the chosen backend. */
  replacedKernels: string[];
}

export interface InitBackendOptions {
  prefer?: BackendPreference;
  /** Requested compute threads (default: every core); honoured where the backend allows it. */
  threads?: number;
}

/** Why stock tfjs-backend-wasm is single-threaded in Node; backend-wasm-threads.ts works around it. */
export const WASM_THREADS_NOTE =
  'tfjs-backend-wasm 4.22 disables its multi-threaded build under Node (tfjs#3830)';

const ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendReport | null = null;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

function isNotInstalled(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Directory holding the tfjs-backend-wasm .wasm binaries, as a path ending in a separator. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}

async function tryNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<BackendAttempt> {
  const spec = NATIVE_PACKAGE[name];
  try {
    // A variable specifier keeps bundlers and tsc from requiring the optional package.
    await import(/* @vite-ignore */ spec);
  } catch (e) {
    return { name, ok: false, reason: isNotInstalled(e) ? `${spec} is not installed` : `${spec} failed to load: ${errorText(e)}` };
  }
  // Both packages register their backend under the name 'tensorflow'.
  const ok = await tf.setBackend('tensorflow').catch(() => false);
  return { name, ok, reason: ok ? `${spec} loaded` : `${spec} loaded but its backend did not initialise` };
}

let wasmPathsSet = false;
let wasmThreadNote = 'single-threaded SIMD';

async function tryWasm(threads: number): Promise<BackendAttempt> {
  try {
    const dist = wasmBinaryDir();
    if (!wasmPathsSet) {
      setWasmPaths(dist);
      wasmPathsSet = true;
    }
    const want = Math.max(1, Math.min(threads, os.cpus().length));
    setThreadsCount(want);
    const factory = tf.findBackendFactory('wasm');
    const setup = prepareWasmThreads(dist, want);
    let ok: boolean;
    try {
      ok = await tf.setBackend('wasm');
    } finally {
      setup.restore();
    }
    wasmThreadNote = setup.ok ? `threaded SIMD build (${setup.reason})` : `single-threaded SIMD (${setup.reason})`;
    if (!ok && setup.ok && factory) {
      // The threaded build failed to start: fall back to the single-threaded one.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', factory, 2);
      ok = await tf.setBackend('wasm');
      wasmThreadNote = `single-threaded SIMD (threaded build failed to start; ${WASM_THREADS_NOTE})`;
    }
    if (!ok) return { name: 'wasm', ok: false, reason: 'wasm backend did not initialise' };
    if (setup.ok) unrefWasmWorkers();
    return { name: 'wasm', ok: true, reason: `wasm loaded from ${dist}; ${wasmThreadNote}` };
  } catch (e) {
    return { name: 'wasm', ok: false, reason: `wasm failed: ${errorText(e)}` };
  }
}

interface PThreadPool { unusedWorkers?: { unref?: () => void }[]; runningWorkers?: { unref?: () => void }[] }

/** The pthread pool's Node workers must not keep a finished process alive (idle threads just wait). */
function unrefWasmWorkers(): void {
  const pool = (tf.backend() as unknown as { wasm?: { PThread?: PThreadPool } }).wasm?.PThread;
  for (const w of [...(pool?.unusedWorkers ?? []), ...(pool?.runningWorkers ?? [])]) w.unref?.();
}

async function tryCpu(): Promise<BackendAttempt> {
  const ok = await tf.setBackend('cpu').catch(() => false);
  return { name: 'cpu', ok, reason: ok ? 'pure-JS cpu backend (slow: last resort)' : 'cpu backend did not initialise' };
}

async function tryOne(name: BackendName, threads: number): Promise<BackendAttempt> {
  if (name === 'wasm') return tryWasm(threads);
  if (name === 'cpu') return tryCpu();
  return tryNative(name);
}

/**
 * Select and initialise the best backend (or the preferred one, falling back down the order).
 * Registers our kernels and gradients for it. Throws BACKEND_UNAVAILABLE when none loads.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  const prefer = opts.prefer ?? 'auto';
  // Every core by default: training is the one job of the worker process.
  const threads = opts.threads ?? os.cpus().length;
  const start = prefer === 'auto' ? 0 : ORDER.indexOf(prefer);
  if (start < 0) throw new SegloopError('INVALID_ARGUMENT', `Unknown backend "${String(prefer)}": use auto, ${ORDER.join(', ')}`);
  const tried: BackendAttempt[] = [];
  for (const name of ORDER.slice(start)) {
    const attempt = await tryOne(name, threads);
    tried.push(attempt);
    if (!attempt.ok) continue;
    registerMissingGradients();
    const replacedKernels = name === 'wasm' || name === 'cpu' ? registerOurKernels(name) : [];
    await tf.ready();
    const simd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : name !== 'cpu';
    const usedThreads = name === 'wasm' ? getThreadsCount() : name === 'cpu' ? 1 : threads;
    current = { name, threads: usedThreads, simd, tried, replacedKernels };
    return current;
  }
  throw new SegloopError('BACKEND_UNAVAILABLE', `No tfjs backend could be initialised: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`, { tried });
}

/** The report of the last successful initBackend, or null. */
export function currentBackend(): BackendReport | null {
  return current;
}

export interface BackendDescription {
  name: BackendName;
  available: boolean;
  detail: string;
}

/** For `segloop doctor`: which backends could load here, without switching the active one. */
export async function describeBackends(): Promise<BackendDescription[]> {
  const out: BackendDescription[] = [];
  for (const name of ['tensorflow-gpu', 'tensorflow'] as const) {
    const spec = NATIVE_PACKAGE[name];
    try {
      createRequire(import.meta.url).resolve(spec);
      out.push({ name, available: true, detail: `${spec} is installed` });
    } catch {
      out.push({ name, available: false, detail: `${spec} is not installed` });
    }
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  let wasmDetail: string;
  try {
    wasmDetail = `binaries in ${wasmBinaryDir()}; SIMD ${simd ? 'yes' : 'no'}; ${current?.name === 'wasm' ? wasmThreadNote : 'threads: up to ' + os.cpus().length + ' via our threaded-build loader'}`;
    out.push({ name: 'wasm', available: true, detail: wasmDetail });
  } catch (e) {
    out.push({ name: 'wasm', available: false, detail: `tfjs-backend-wasm not found: ${errorText(e)}` });
  }
  out.push({ name: 'cpu', available: true, detail: 'pure JavaScript; orders of magnitude slower for training' });
  return out;
}
