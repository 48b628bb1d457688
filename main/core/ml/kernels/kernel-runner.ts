// Our kernels are compositions of the backend's own fast kernels (XNNPACK Conv2D on wasm).
// They call those kernels directly (not through tf ops) so that no intermediate lands on the
// gradient tape or in the engine's bookkeeping; every intermediate is released with `free`.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

export type KernelFn = (args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }) => TensorInfo | TensorInfo[];

/** Raw typed-array access for the two in-process backends we register kernels on. */
interface WasmLikeBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}
interface CpuLikeBackend extends KernelBackend {
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  data: { get(dataId: object): { values: Float32Array } };
}

function isWasm(b: KernelBackend): b is WasmLikeBackend {
  return typeof (b as Partial<WasmLikeBackend>).typedArrayFromHeap === 'function';
}

export class KernelRunner {
  /** Stock kernels captured before we replaced some of them, by kernel name. */
  private readonly stock = new Map<string, KernelFn>();

  constructor(readonly backendName: string) {}

  /** Remember the stock kernel (if any) before it gets replaced. */
  captureStock(kernelName: string): void {
    const k = tf.getKernel(kernelName, this.backendName);
    if (k && !this.stock.has(kernelName)) this.stock.set(kernelName, k.kernelFunc as KernelFn);
  }

  hasStock(kernelName: string): boolean {
    return this.stock.has(kernelName);
  }

  /** Run a kernel: the captured stock one if we replaced it, else whatever is registered. */
  run(kernelName: string, backend: KernelBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    return this.runOne(this.stock.get(kernelName) ?? this.registered(kernelName), backend, inputs, attrs);
  }

  /** Run the currently registered kernel (ours when we replaced it). */
  runCurrent(kernelName: string, backend: KernelBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    return this.runOne(this.registered(kernelName), backend, inputs, attrs);
  }

  private registered(kernelName: string): KernelFn {
    const k = tf.getKernel(kernelName, this.backendName);
    if (!k) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    return k.kernelFunc as KernelFn;
  }

  private runOne(fn: KernelFn, backend: KernelBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
    const out = fn({ inputs, backend, attrs });
    return Array.isArray(out) ? out[0] : out;
  }

  reshape(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', backend, { x }, { shape });
  }

  transpose(backend: KernelBackend, x: TensorInfo, perm: number[]): TensorInfo {
    return this.runCurrent('Transpose', backend, { x }, { perm });
  }
}

export function free(backend: KernelBackend, ...ts: (TensorInfo | undefined)[]): void {
  for (const t of ts) if (t) backend.disposeData(t.dataId);
}

/** Allocate a float32 output and return it with a writable view (zero-filled). */
export function allocOutput(backend: KernelBackend, shape: number[]): { info: TensorInfo; values: Float32Array } {
  if (isWasm(backend)) {
    const info = backend.makeOutput(shape, 'float32');
    const values = backend.typedArrayFromHeap(info);
    values.fill(0);
    return { info, values };
  }
  const cpu = backend as CpuLikeBackend;
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const info = cpu.makeTensorInfo(shape, 'float32', values);
  return { info, values: cpu.data.get(info.dataId).values };
}

/**
 * Read-only view of a float32 tensor. On wasm this is a view into the heap: take it AFTER every
 * allocation of the same kernel call (a heap growth detaches older views).
 */
export function viewValues(backend: KernelBackend, t: TensorInfo): Float32Array {
  if (isWasm(backend)) return backend.typedArrayFromHeap(t);
  return backend.readSync(t.dataId) as Float32Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
