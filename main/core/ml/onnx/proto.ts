// A minimal protobuf WRITER for the part of onnx.proto the exporter needs (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto). Why not onnx-proto / protobufjs: we
// only ever encode, never decode, ~15 message fields in all; the wire format for that is varints
// and length-delimited fields (~120 lines here) against a runtime dependency plus a generated
// schema. The encoder is checked byte-for-byte on known encodings (proto.test.ts) and end to end
// by onnxruntime parsing every exported model (export.test.ts).
//
// Field numbers: onnx/onnx.proto (IR version 8; stable since 2017 for everything used here).

/** Growable byte buffer with protobuf primitives. */
export class ProtoWriter {
  private buf = new Uint8Array(1024);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint of a non-negative integer or a two's-complement int64 (negative numbers: 10 bytes). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.buf[this.len++] = byte;
    } while (v !== 0n);
    return this;
  }

  private tag(field: number, wire: 0 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    return this.tag(field, 0).varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export const TensorDataType = { FLOAT: 1, INT64: 7 } as const;

export type AttributeValue = number | string | readonly number[] | { floats: readonly number[] } | { float: number };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  /** Plain numbers are INT attributes; use { float } / { floats } for floats. */
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  dataType: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
}

/** A dimension: a number, or a symbolic name (dynamic). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: 'float32';
  shape: readonly OnnxDim[];
}

export interface OnnxModel {
  graphName: string;
  producer: string;
  opset: number;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  docString?: string;
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

function writeAttribute(w: ProtoWriter, name: string, v: AttributeValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use { float })`);
    w.int(3, v).int(20, ATTR.INT);
  } else if (typeof v === 'string') {
    w.string(4, v).int(20, ATTR.STRING);
  } else if ('float' in v) {
    w.float(2, v.float).int(20, ATTR.FLOAT);
  } else if ('floats' in v) {
    for (const f of v.floats) w.float(7, f);
    w.int(20, ATTR.FLOATS);
  } else {
    for (const i of v) {
      if (!Number.isInteger(i)) throw new Error(`attribute ${name}: ${i} is not an integer`);
      w.int(8, i);
    }
    w.int(20, ATTR.INTS);
  }
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType === 'float32' ? TensorDataType.FLOAT : TensorDataType.INT64);
  w.string(8, t.name);
  // raw_data is little-endian by the ONNX spec; typed arrays are host-endian, and every platform
  // Segloop ships on (x64, arm64) is little-endian.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, TensorDataType.FLOAT);
      tt.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises a model to the bytes of an .onnx file. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8); // ir_version
  w.string(2, m.producer);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (g) => {
    for (const n of m.nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.opType);
        for (const [k, v] of Object.entries(n.attributes ?? {})) nw.message(5, (aw) => writeAttribute(aw, k, v));
      });
    }
    g.string(2, m.graphName);
    for (const t of m.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const i of m.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of m.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  w.message(8, (op) => op.string(1, '').int(2, m.opset));
  return w.finish();
}
