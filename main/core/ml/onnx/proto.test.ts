// The protobuf writer against encodings worked out by hand from the protobuf wire-format spec,
// and a one-node ONNX model that onnxruntime parses and runs.
import { describe, expect, it } from 'vitest';
import { encodeModel, ProtoWriter } from './proto';
import { loadOnnxRuntime } from './ort-runner';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('ProtoWriter', () => {
  it('varints: 1, 300, 2^35, -1 (two\'s complement int64: 10 bytes)', () => {
    expect(hex(new ProtoWriter().varint(1).finish())).toBe('01');
    expect(hex(new ProtoWriter().varint(300).finish())).toBe('ac02');
    expect(hex(new ProtoWriter().varint(2 ** 35).finish())).toBe('8080808080' + '01');
    expect(hex(new ProtoWriter().varint(-1).finish())).toBe('ffffffffffffffffff01');
  });

  it('fields: int (wire 0), float (wire 5, little-endian), string and nested message (wire 2)', () => {
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe('089601');
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe('150000803f');
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().message(3, (w) => w.int(1, 150)).finish())).toBe('1a03089601');
  });

  it('grows past its initial buffer', () => {
    const big = new Uint8Array(5000).fill(7);
    const out = new ProtoWriter().bytes(9, big).finish();
    expect(out.length).toBe(1 + 2 + 5000);
    expect(out[3]).toBe(7);
    expect(out[out.length - 1]).toBe(7);
  });
});

describe('encodeModel', () => {
  it('a LeakyRelu + Add graph with an initializer runs in onnxruntime with the expected values', async () => {
    const bytes = encodeModel({
      graphName: 'g',
      producer: 'segloop-test',
      opset: 17,
      nodes: [
        { opType: 'LeakyRelu', inputs: ['x'], outputs: ['h'], name: 'n0', attributes: { alpha: { float: 0.5 } } },
        { opType: 'Add', inputs: ['h', 'b'], outputs: ['y'], name: 'n1' },
      ],
      initializers: [{ name: 'b', dims: [3], dataType: 'float32', data: Float32Array.from([10, 20, 30]) }],
      inputs: [{ name: 'x', elemType: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', elemType: 'float32', shape: ['N', 3] }],
    });
    const { ort, availability } = await loadOnnxRuntime();
    expect(availability.reason).toBeNull();
    const session = await ort!.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort!.Tensor('float32', Float32Array.from([-2, 0, 4, 1, -4, 2]), [2, 3]) });
    expect(Array.from(out['y'].data as Float32Array)).toEqual([9, 20, 34, 11, 18, 32]);
    await session.release();
  });
});
