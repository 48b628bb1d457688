// Registers our kernels (see conv2d-grads.ts, conv3d.ts, reductions.ts) over the stock ones of a
// backend, and the gradients tfjs-core lacks. Idempotent per backend.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's node bundle ships no gradients; tfjs-layers' bundle registers them all (global registry).
import '@tensorflow/tfjs-layers';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelRunner } from './kernel-runner';
import { conv2dFilterGrad, conv2dGeometry, conv2dInputGrad } from './conv2d-grads';
import { conv3dFilterGrad, conv3dForward, conv3dGeometry, conv3dInputGrad } from './conv3d';
import { fastReduce, fastSlice } from './reductions';
import { registerFusedNorm } from './norm-fused';
import { loadNativeConv, nativeConv3dFilterGrad, nativeConv3dForward, nativeConv3dInputGrad } from './native-conv3d';
import { util } from '@tensorflow/tfjs-core';
import { maxPool2dGrad, maxPool3dForward, maxPool3dGrad } from './max-pool';

type Inputs = Record<string, TensorInfo>;
type Impl = (r: KernelRunner, backend: KernelBackend, inputs: Inputs, attrs: NamedAttrMap) => TensorInfo | TensorInfo[] | null;

function checkedInputs(name: string, inputs: NamedTensorInfoMap, keys: string[]): Inputs {
  const out: Inputs = {};
  for (const k of keys) {
    const t = inputs[k];
    if (!t) throw new Error(`${name}: missing input ${k}`);
    out[k] = t;
  }
  return out;
}

const INPUT_NAMES: Record<string, string[]> = {
  Conv2DBackpropFilter: ['x', 'dy'],
  Conv2DBackpropInput: ['dy', 'filter'],
  Conv3D: ['x', 'filter'],
  Conv3DBackpropFilterV2: ['x', 'dy'],
  Conv3DBackpropInputV2: ['dy', 'filter'],
  Slice: ['x'],
  Sum: ['x'],
  Mean: ['x'],
  SplitV: ['x'],
  MaxPool3D: ['x'],
  MaxPool3DGrad: ['dy', 'input'],
  MaxPoolGrad: ['dy', 'input'],
};

function dilationsAreOne(attrs: NamedAttrMap): boolean {
  const d = attrs.dilations as number | number[] | undefined;
  if (d == null) return true;
  return (typeof d === 'number' ? [d] : d).every((v) => v === 1);
}

function channelsLast(attrs: NamedAttrMap): boolean {
  const f = attrs.dataFormat as string | undefined;
  return f == null || f === 'NHWC' || f === 'NDHWC' || f === 'channelsLast';
}

const IMPLS: Record<string, Impl> = {
  Conv2DBackpropFilter: (r, b, { x, dy }, attrs) => {
    if (!channelsLast(attrs) || typeof attrs.pad === 'number') return null;
    return conv2dFilterGrad(r, b, x, dy, attrs.filterShape as [number, number, number, number], conv2dGeometry(attrs));
  },
  Conv2DBackpropInput: (r, b, { dy, filter }, attrs) => {
    if (!channelsLast(attrs) || typeof attrs.pad === 'number') return null;
    return conv2dInputGrad(r, b, dy, filter, attrs.inputShape as [number, number, number, number], conv2dGeometry(attrs));
  },
  Conv3D: (r, b, { x, filter }, attrs) => {
    if (!channelsLast(attrs) || !dilationsAreOne(attrs)) return null;
    // The native addon (native-conv3d.ts) when built and enabled, else the folded-2D kernels.
    return nativeConv3dForward(b, x, filter, conv3dGeometry(attrs)) ?? conv3dForward(r, b, x, filter, conv3dGeometry(attrs));
  },
  Conv3DBackpropFilterV2: (r, b, { x, dy }, attrs) =>
    nativeConv3dFilterGrad(b, x, dy, attrs.filterShape as number[], conv3dGeometry(attrs)) ??
    conv3dFilterGrad(r, b, x, dy, attrs.filterShape as number[], conv3dGeometry(attrs)),
  Conv3DBackpropInputV2: (r, b, { dy, filter }, attrs) =>
    nativeConv3dInputGrad(b, dy, filter, attrs.inputShape as number[], conv3dGeometry(attrs)) ??
    conv3dInputGrad(r, b, dy, filter, attrs.inputShape as number[], conv3dGeometry(attrs)),
  Slice: (_r, b, { x }, attrs) => {
    if (x.dtype === 'string' || x.shape.length <= 4) return null;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    return fastSlice(b, x, begin, size);
  },
  Sum: (_r, b, { x }, attrs) => fastReduce(b, x, attrs, false),
  Mean: (_r, b, { x }, attrs) => fastReduce(b, x, attrs, true),
  // The gradient of concat: the stock wasm SplitV slices through the per-element rank-5 path.
  SplitV: (_r, b, { x }, attrs) => {
    if (x.dtype === 'string') return null;
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number | number[], axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const out = fastSlice(b, x, begin, size);
      begin[axis] += s;
      return out;
    });
  },
  // The stock wasm MaxPool3D returns wrong maxima for some windows, its MaxPoolGrad routes some
  // gradients to the wrong pixel (see max-pool.ts).
  MaxPool3D: (_r, b, { x }, attrs) => maxPool3dForward(b, x, attrs),
  MaxPool3DGrad: (_r, b, { dy, input }, attrs) => maxPool3dGrad(b, dy, input, attrs),
  MaxPoolGrad: (_r, b, { dy, input }, attrs) => (input.shape.length === 4 ? maxPool2dGrad(b, dy, input, attrs) : null),
};

/** Kernels we replace per backend. cpu: its conv gradients are naive loops (a 2D U-Net step > 20 min). */
const PER_BACKEND: Record<string, string[]> = {
  wasm: Object.keys(IMPLS),
  cpu: ['Conv2DBackpropFilter', 'Conv2DBackpropInput'],
};

const registered = new Set<string>();

/** Which 3D convolution path the wasm backend uses, as an entry of the replaced-kernel list. */
function convPathNote(backendName: string): string[] {
  if (backendName !== 'wasm') return [];
  const s = loadNativeConv();
  return [s.loaded ? `Conv3D+grads: ${s.reason}` : `Conv3D+grads: wasm (${s.reason})`];
}

export function registerOurKernels(backendName: string): string[] {
  const names = PER_BACKEND[backendName] ?? [];
  if (registered.has(backendName)) return [...names, ...registerFusedNorm(backendName), ...convPathNote(backendName)];
  const runner = new KernelRunner(backendName);
  for (const name of names) runner.captureStock(name);
  for (const name of names) {
    const impl = IMPLS[name];
    const keys = INPUT_NAMES[name];
    if (!impl || !keys) throw new Error(`no implementation for kernel ${name}`);
    if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const out = impl(runner, backend as KernelBackend, checkedInputs(name, inputs, keys), attrs ?? {});
        if (out) return out;
        if (!runner.hasStock(name)) {
          throw new Error(`${name}: this geometry is not supported on the ${backendName} backend (attrs ${JSON.stringify(attrs)})`);
        }
        return runner.run(name, backend as KernelBackend, inputs, attrs ?? {});
      },
    });
  }
  registerMissingGradients();
  registered.add(backendName);
  return [...names, ...registerFusedNorm(backendName), ...convPathNote(backendName)];
}

let gradientsRegistered = false;

/** tfjs-core has no gradient for Conv3DBackpropInputV2, so conv3dTranspose cannot train without it. */
export function registerMissingGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: 'Conv3DBackpropInputV2',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const grad = g as tf.Tensor5D;
      const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
      const strides = attrs.strides as [number, number, number];
      const pad = attrs.pad as 'valid' | 'same';
      return {
        dy: () => tf.conv3d(grad, filter, strides, pad),
        filter: () => tf.engine().runKernel('Conv3DBackpropFilterV2', { x: grad, dy }, { strides, pad, filterShape: filter.shape }) as tf.Tensor5D,
      };
    },
  });
}
