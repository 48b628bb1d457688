// Optional native 3D convolutions: a Node-API addon (native/conv3d, `npm run build:native`) doing
// vol2col + sgemm on the OS's BLAS, multithreaded. It replaces the folded-onto-2D wasm kernels of
// conv3d.ts for Conv3D, Conv3DBackpropFilterV2 and Conv3DBackpropInputV2 (the latter is also the
// transposed conv's forward) when it is built; otherwise nothing changes (those kernels stay).
// The addon reads and writes the wasm heap through Float32Array views: no copies. Node-API is
// ABI-stable, so one build serves Node and Electron of any version.
// SEGLOOP_NATIVE_CONV=0 disables it; SEGLOOP_NATIVE_CONV_PATH points at a .node file elsewhere;
// SEGLOOP_NATIVE_THREADS overrides its thread count (default: the wasm backend's thread count).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocOutput, sizeOf, viewValues } from './kernel-runner';
import type { Conv3DGeometry } from './conv3d';

/** What native/conv3d/src/conv3d.cc exports. Buffers are checked against the geometry there. */
interface Addon {
  forward(x: Float32Array, filter: Float32Array, y: Float32Array, geometry: Int32Array, threads: number): void;
  filterGrad(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: Int32Array, threads: number): void;
  inputGrad(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array, threads: number): void;
  blasInfo(): string;
}

export interface NativeConvStatus {
  /** The addon is loaded and used (unless switched off with setNativeConvEnabled). */
  loaded: boolean;
  enabled: boolean;
  /** Why it is or is not used, in words (shown in the backend report). */
  reason: string;
  file?: string;
  blas?: string;
}

export const NATIVE_ADDON_RELATIVE = path.join('native', 'conv3d', 'build', 'Release', 'segloop_conv3d.node');

let addon: Addon | null = null;
let status: NativeConvStatus | null = null;
let enabled = true;

function candidates(): string[] {
  const out: string[] = [];
  const env = process.env.SEGLOOP_NATIVE_CONV_PATH;
  if (env) out.push(path.resolve(env));
  // This module sits in main/core/ml/kernels (sources) or out/main (bundle): walk up to the root.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(path.join(dir, NATIVE_ADDON_RELATIVE));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  out.push(path.join(process.cwd(), NATIVE_ADDON_RELATIVE));
  return [...new Set(out)];
}

/** Load the addon once (never throws: a missing or broken addon is a reported fallback). */
export function loadNativeConv(): NativeConvStatus {
  if (status) return status;
  if (process.env.SEGLOOP_NATIVE_CONV === '0') {
    status = { loaded: false, enabled: false, reason: 'native conv3d addon disabled (SEGLOOP_NATIVE_CONV=0)' };
    return status;
  }
  const file = candidates().find((f) => existsSync(f));
  if (!file) {
    status = { loaded: false, enabled: false, reason: 'native conv3d addon not built (npm run build:native)' };
    return status;
  }
  try {
    const mod = createRequire(import.meta.url)(file) as Addon;
    if (typeof mod.forward !== 'function' || typeof mod.filterGrad !== 'function' || typeof mod.inputGrad !== 'function') {
      throw new Error('missing exports');
    }
    addon = mod;
    const blas = mod.blasInfo();
    status = { loaded: true, enabled: true, reason: `native conv3d addon (${blas})`, file, blas };
  } catch (e) {
    status = { loaded: false, enabled: false, reason: `native conv3d addon failed to load from ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, file };
  }
  return status;
}

/** Switch the native path off/on at run time (benchmarks alternate both in one process). */
export function setNativeConvEnabled(on: boolean): void {
  enabled = on;
  if (status) status = { ...status, enabled: on && status.loaded };
}

/** The loaded addon itself (argument-checking tests); null when not loaded. */
export function nativeAddon(): Addon | null {
  return addon;
}

function active(): Addon | null {
  return enabled && addon ? addon : null;
}

export function nativeConvThreads(): number {
  const env = Number(process.env.SEGLOOP_NATIVE_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  try {
    return Math.max(1, getThreadsCount());
  } catch {
    return 1;
  }
}

/**
 * [n,d,h,w,ci, kd,kh,kw,co, sd,sh,sw, padFront,padTop,padLeft, outD,outH,outW], or null when the
 * geometry is one the addon does not do (then the caller falls back to the wasm kernels).
 */
export function nativeGeometry(xShape: readonly number[], filterShape: readonly number[], g: Conv3DGeometry): Int32Array | null {
  if (xShape.length !== 5 || filterShape.length !== 5 || xShape[4] !== filterShape[3]) return null;
  const info = tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number], g.strides, 1, g.pad);
  const p = info.padInfo;
  const [kd, kh, kw, ci, co] = filterShape;
  if (p.front < 0 || p.top < 0 || p.left < 0 || p.front >= kd || p.top >= kh || p.left >= kw) return null;
  return Int32Array.from([
    xShape[0], xShape[1], xShape[2], xShape[3], ci, kd, kh, kw, co,
    g.strides[0], g.strides[1], g.strides[2], p.front, p.top, p.left,
    info.outDepth, info.outHeight, info.outWidth,
  ]);
}

interface WasmHeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

function isWasmHeap(b: KernelBackend): b is WasmHeapBackend {
  return typeof (b as Partial<WasmHeapBackend>).typedArrayFromHeap === 'function';
}

/** An output the addon overwrites entirely (no zero fill on wasm). */
function output(backend: KernelBackend, shape: number[]): { info: TensorInfo; values: () => Float32Array } {
  if (isWasmHeap(backend)) {
    const info = backend.makeOutput(shape, 'float32');
    return { info, values: () => backend.typedArrayFromHeap(info) };
  }
  const o = allocOutput(backend, shape);
  return { info: o.info, values: () => o.values };
}

function float32(ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}

/** Conv3D forward on the addon, or null (not loaded / switched off / unsupported geometry). */
export function nativeConv3dForward(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, g: Conv3DGeometry): TensorInfo | null {
  const a = active();
  const geo = a && float32([x, filter]) ? nativeGeometry(x.shape, filter.shape, g) : null;
  if (!a || !geo) return null;
  const out = output(backend, [geo[0], geo[15], geo[16], geo[17], geo[8]]);
  // Views after the allocation: a heap growth detaches older ones.
  a.forward(viewValues(backend, x), viewValues(backend, filter), out.values(), geo, nativeConvThreads());
  return out.info;
}

export function nativeConv3dFilterGrad(
  backend: KernelBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], g: Conv3DGeometry,
): TensorInfo | null {
  const a = active();
  const geo = a && float32([x, dy]) ? nativeGeometry(x.shape, filterShape, g) : null;
  if (!a || !geo || sizeOf(dy.shape) !== geo[0] * geo[15] * geo[16] * geo[17] * geo[8]) return null;
  const out = output(backend, [...filterShape]);
  a.filterGrad(viewValues(backend, x), viewValues(backend, dy), out.values(), geo, nativeConvThreads());
  return out.info;
}

export function nativeConv3dInputGrad(
  backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Conv3DGeometry,
): TensorInfo | null {
  const a = active();
  const geo = a && float32([dy, filter]) ? nativeGeometry(inputShape, filter.shape, g) : null;
  if (!a || !geo || sizeOf(dy.shape) !== geo[0] * geo[15] * geo[16] * geo[17] * geo[8]) return null;
  const out = output(backend, [...inputShape]);
  a.inputGrad(viewValues(backend, dy), viewValues(backend, filter), out.values(), geo, nativeConvThreads());
  return out.info;
}
