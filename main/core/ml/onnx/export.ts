// Trained tfjs-layers U-Net (any architecture of the model registry) -> ONNX graph with its
// weights, for onnxruntime (ort-runner.ts). Inference only: dropout becomes Identity, batch norm
// uses its moving statistics — exactly what `model.predict` computes.
//
// Layout: the graph's INPUT stays channels-last like tfjs ([N, D, H, W, C] / [N, H, W, C], the
// buffer the sliding window already builds), one Transpose turns it into ONNX's channels-first,
// every op runs channels-first (onnxruntime's CPU convolutions are NCHW), and the output is
// transposed back to channels-last before a Softmax over the last axis, so the graph returns
// probabilities [N, ...spatial, K] with the class fastest — the sliding window's order. Conv
// kernels are permuted at export (tfjs [k.., in, out] -> ONNX [out, in, k..]; transposed conv
// [k.., out, in] -> [in, out, k..]), so no weight transposes run at inference. With one input
// channel the input Transpose moves no data.
//
// A layer without a translation is ONNX_EXPORT_UNSUPPORTED naming the layer and its class; the
// caller falls back to tfjs.
import type * as tfl from '@tensorflow/tfjs-layers';
import { SegloopError } from '../../../../shared/errors';
import { encodeModel, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto';

export const ONNX_OPSET = 17;

export interface ExportOptions {
  /** 'probabilities' (default): softmax over classes in the graph; 'logits': the raw model output. */
  output?: 'probabilities' | 'logits';
}

export interface ExportedOnnx {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** 2 or 3 spatial dimensions. */
  spatialDims: number;
  /** Layer classes seen, with counts (for logs and tests). */
  layerClasses: Record<string, number>;
}

type Cfg = Record<string, unknown>;

function unsupported(layer: tfl.layers.Layer, why: string): never {
  throw new SegloopError(
    'ONNX_EXPORT_UNSUPPORTED',
    `Cannot export layer "${layer.name}" (${layer.getClassName()}) to ONNX: ${why}. Inference falls back to tfjs.`,
    { layer: layer.name, className: layer.getClassName() },
  );
}

/** Permutes a row-major array of `shape` by `perm` (out axis i = in axis perm[i]). */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= shape[a];
  }
  const strideOfOut = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a] * strideOfOut[a];
    out[o] = data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function asList(v: unknown, n: number, what: string, layer: tfl.layers.Layer): number[] {
  const arr = Array.isArray(v) ? (v as number[]) : Array.from({ length: n }, () => v as number);
  if (arr.length !== n || arr.some((x) => !Number.isInteger(x))) unsupported(layer, `${what} ${JSON.stringify(v)} is not ${n} integers`);
  return arr;
}

export function exportToOnnx(model: tfl.LayersModel, opts: ExportOptions = {}): ExportedOnnx {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new SegloopError('ONNX_EXPORT_UNSUPPORTED', `Cannot export model "${model.name}": ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each supported).`);
  }
  const inRank = model.inputs[0].shape.length;
  const sd = inRank - 2;
  if (sd !== 2 && sd !== 3) throw new SegloopError('ONNX_EXPORT_UNSUPPORTED', `Cannot export model "${model.name}": input rank ${inRank} (4D or 5D supported).`);
  const toFirst = sd === 3 ? [0, 4, 1, 2, 3] : [0, 3, 1, 2];
  const toLast = sd === 3 ? [0, 2, 3, 4, 1] : [0, 2, 3, 1];
  /** tfjs (channels-last) axis -> ONNX (channels-first) axis. */
  const axisToFirst = (a: number): number => {
    const r = a < 0 ? a + inRank : a;
    return r === 0 ? 0 : r === inRank - 1 ? 1 : r + 1;
  };

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const names = new Map<number, string>(); // SymbolicTensor id -> ONNX value name
  const layerClasses: Record<string, number> = {};
  let counter = 0;
  const fresh = (base: string): string => `${base}__${counter++}`;
  const node = (opType: string, inputs: string[], output: string, attributes?: OnnxNode['attributes']): string => {
    nodes.push({ opType, inputs, outputs: [output], name: fresh(opType), attributes });
    return output;
  };
  const init = (name: string, dims: number[], data: Float32Array): string => {
    inits.push({ name, dims, dataType: 'float32', data });
    return name;
  };
  const INPUT = 'image';
  const OUTPUT = opts.output === 'logits' ? 'logits' : 'probabilities';

  const activation = (layer: tfl.layers.Layer, kind: string, x: string, out: string, alpha?: number): string => {
    switch (kind) {
      case 'linear':
        return node('Identity', [x], out);
      case 'relu':
        return node('Relu', [x], out);
      case 'sigmoid':
        return node('Sigmoid', [x], out);
      case 'tanh':
        return node('Tanh', [x], out);
      case 'leakyRelu':
        return node('LeakyRelu', [x], out, { alpha: { float: alpha ?? 0.3 } });
      case 'softmax':
        return node('Softmax', [x], out, { axis: 1 });
      default:
        return unsupported(layer, `activation "${kind}" has no translation`);
    }
  };

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    layerClasses[cls] = (layerClasses[cls] ?? 0) + 1;
    if (layer.inboundNodes.length !== 1) unsupported(layer, `it is applied ${layer.inboundNodes.length} times (shared layers are not supported)`);
    const inbound = layer.inboundNodes[0];
    if (inbound.outputTensors.length !== 1) unsupported(layer, `${inbound.outputTensors.length} outputs`);
    const outTensor = inbound.outputTensors[0];
    const out = `v.${layer.name}`;
    names.set(outTensor.id, out);
    if (cls === 'InputLayer') {
      node('Transpose', [INPUT], out, { perm: toFirst });
      continue;
    }
    const ins = inbound.inputTensors.map((t) => {
      const n = names.get(t.id);
      if (n === undefined) unsupported(layer, `its input ${t.name} comes from outside the model`);
      return n;
    });
    const cfg = layer.getConfig() as Cfg;
    if (cfg['dataFormat'] !== undefined && cfg['dataFormat'] !== 'channelsLast') unsupported(layer, `data format ${String(cfg['dataFormat'])}`);
    const weights = layer.getWeights();
    const wdata = (i: number): Float32Array => weights[i].dataSync() as Float32Array;
    switch (cls) {
      case 'Conv2D':
      case 'Conv3D': {
        const k = weights[0].shape; // [k.., in, out]
        const perm = sd === 3 ? [4, 3, 0, 1, 2] : [3, 2, 0, 1];
        const wName = init(`${layer.name}.W`, perm.map((p) => k[p]), permute(wdata(0), k, perm));
        const inputs = [ins[0], wName];
        if (cfg['useBias'] === true) inputs.push(init(`${layer.name}.B`, [k[k.length - 1]], wdata(1)));
        const kernel = asList(cfg['kernelSize'], sd, 'kernelSize', layer);
        const attrs: OnnxNode['attributes'] = {
          kernel_shape: kernel,
          strides: asList(cfg['strides'], sd, 'strides', layer),
          dilations: asList(cfg['dilationRate'] ?? 1, sd, 'dilationRate', layer),
        };
        // SAME_UPPER = TensorFlow's 'same' (odd total padding: the extra cell at the end).
        if (cfg['padding'] === 'same') attrs['auto_pad'] = 'SAME_UPPER';
        else if (cfg['padding'] === 'valid') attrs['pads'] = new Array<number>(2 * sd).fill(0);
        else unsupported(layer, `padding ${String(cfg['padding'])}`);
        const act = String(cfg['activation'] ?? 'linear');
        if (act === 'linear') node('Conv', inputs, out, attrs);
        else activation(layer, act, node('Conv', inputs, fresh(`${layer.name}.conv`), attrs), out);
        break;
      }
      case 'Conv2DTranspose':
      case 'Conv3DTranspose': {
        const k = weights[0].shape; // [k.., out, in]
        const perm = sd === 3 ? [4, 3, 0, 1, 2] : [3, 2, 0, 1];
        const wName = init(`${layer.name}.W`, perm.map((p) => k[p]), permute(wdata(0), k, perm));
        const inputs = [ins[0], wName];
        if (cfg['useBias'] === true) inputs.push(init(`${layer.name}.B`, [k[k.length - 2]], wdata(1)));
        const kernel = asList(cfg['kernelSize'], sd, 'kernelSize', layer);
        const strides = asList(cfg['strides'], sd, 'strides', layer);
        // With kernel == stride (the U-Net's up-sampling) 'same' and 'valid' both mean no padding
        // and output = input x stride; other combinations place TF's padding differently from
        // ONNX's and are not needed by any registered model.
        if (kernel.some((v, i) => v !== strides[i])) unsupported(layer, `transposed conv with kernel ${kernel.join('x')} != stride ${strides.join('x')}`);
        if (asList(cfg['dilationRate'] ?? 1, sd, 'dilationRate', layer).some((d) => d !== 1)) unsupported(layer, 'dilated transposed conv');
        const attrs = { kernel_shape: kernel, strides, pads: new Array<number>(2 * sd).fill(0) };
        const act = String(cfg['activation'] ?? 'linear');
        if (act === 'linear') node('ConvTranspose', inputs, out, attrs);
        else activation(layer, act, node('ConvTranspose', inputs, fresh(`${layer.name}.convT`), attrs), out);
        break;
      }
      case 'SegloopNormalization': {
        const kind = cfg['kind'];
        const eps = { float: Number(cfg['epsilon'] ?? 1e-5) };
        const C = weights[0].shape[0];
        const gamma = init(`${layer.name}.gamma`, [C], wdata(0));
        const beta = init(`${layer.name}.beta`, [C], wdata(1));
        if (kind === 'instance') {
          node('InstanceNormalization', [ins[0], gamma, beta], out, { epsilon: eps });
        } else if (kind === 'batch') {
          const mean = init(`${layer.name}.mean`, [C], wdata(2));
          const variance = init(`${layer.name}.var`, [C], wdata(3));
          node('BatchNormalization', [ins[0], gamma, beta, mean, variance], out, { epsilon: eps });
        } else unsupported(layer, `normalisation kind ${String(kind)}`);
        break;
      }
      case 'LeakyReLU':
        node('LeakyRelu', [ins[0]], out, { alpha: { float: Number(cfg['alpha'] ?? 0.3) } });
        break;
      case 'ReLU':
        if (cfg['maxValue'] != null) unsupported(layer, `ReLU with maxValue ${String(cfg['maxValue'])}`);
        node('Relu', [ins[0]], out);
        break;
      case 'Activation':
        activation(layer, String(cfg['activation']), ins[0], out);
        break;
      case 'MaxPooling2D':
      case 'MaxPooling3D': {
        const attrs: OnnxNode['attributes'] = {
          kernel_shape: asList(cfg['poolSize'], sd, 'poolSize', layer),
          strides: asList(cfg['strides'] ?? cfg['poolSize'], sd, 'strides', layer),
        };
        if (cfg['padding'] === 'same') attrs['auto_pad'] = 'SAME_UPPER';
        else if (cfg['padding'] !== 'valid') unsupported(layer, `padding ${String(cfg['padding'])}`);
        node('MaxPool', [ins[0]], out, attrs);
        break;
      }
      case 'Concatenate':
        node('Concat', ins, out, { axis: axisToFirst(Number(cfg['axis'] ?? -1)) });
        break;
      case 'Add':
        node('Sum', ins, out);
        break;
      case 'Multiply': {
        let acc = ins[0];
        for (let i = 1; i < ins.length; i++) acc = node('Mul', [acc, ins[i]], i === ins.length - 1 ? out : fresh(`${layer.name}.mul`));
        break;
      }
      case 'Dropout':
        // Inference: identity (MC-dropout sampling stays on the tfjs path).
        node('Identity', [ins[0]], out);
        break;
      case 'SegloopNearestUpsample': {
        // x2 nearest on every spatial axis: floor(out / 2) with asymmetric coordinates = repeat.
        const scales = init(fresh(`${layer.name}.scales`), [inRank], Float32Array.from({ length: inRank }, (_, i) => (i < 2 ? 1 : 2)));
        node('Resize', [ins[0], '', scales], out, { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
        break;
      }
      default:
        unsupported(layer, 'no ONNX translation for this layer class');
    }
  }

  const last = names.get(model.outputs[0].id);
  if (last === undefined) throw new SegloopError('ONNX_EXPORT_UNSUPPORTED', `Cannot export model "${model.name}": its output is not produced by any layer.`);
  const K = model.outputs[0].shape[inRank - 1];
  if (typeof K !== 'number') throw new SegloopError('ONNX_EXPORT_UNSUPPORTED', `Cannot export model "${model.name}": unknown number of output classes.`);
  if (OUTPUT === 'logits') node('Transpose', [last], OUTPUT, { perm: toLast });
  else node('Softmax', [node('Transpose', [last], fresh('logits_last'), { perm: toLast })], OUTPUT, { axis: -1 });

  const C = model.inputs[0].shape[inRank - 1];
  if (typeof C !== 'number') throw new SegloopError('ONNX_EXPORT_UNSUPPORTED', `Cannot export model "${model.name}": unknown number of input channels.`);
  const spatialNames = sd === 3 ? ['D', 'H', 'W'] : ['H', 'W'];
  const onnx: OnnxModel = {
    graphName: model.name,
    producer: 'segloop',
    opset: ONNX_OPSET,
    nodes,
    initializers: inits,
    inputs: [{ name: INPUT, elemType: 'float32', shape: ['N', ...spatialNames, C] }],
    outputs: [{ name: OUTPUT, elemType: 'float32', shape: ['N', ...spatialNames, K] }],
    docString: 'Exported by Segloop from a tfjs-layers model (channels-last input/output).',
  };
  return { bytes: encodeModel(onnx), inputName: INPUT, outputName: OUTPUT, spatialDims: sd, layerClasses };
}
