// Helpers for the kernels-*.test.ts files: PyTorch reference runs and tensor comparisons.
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const REF = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ref', 'kernels_ref.py');

/** Why the PyTorch comparisons cannot run here, or null when they can. */
export function torchMissing(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} with torch+numpy is not available`;
  }
}

export type Nested = number | Nested[];

/** Run tests/integration/ref/kernels_ref.py on the cases; returns one result object per case. */
export function torchRef<T = Record<string, Nested>>(cases: object[]): T[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloop-kernels-'));
  try {
    const inFile = path.join(dir, 'in.json');
    const outFile = path.join(dir, 'out.json');
    fs.writeFileSync(inFile, JSON.stringify({ cases }));
    execFileSync(PYTHON, [REF, inFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    return (JSON.parse(fs.readFileSync(outFile, 'utf8')) as { results: T[] }).results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Seeded normal values as a nested array (the same numbers go to tfjs and to Python). Pure JS,
 * so test cases can be built before a backend is initialised.
 */
export function randn(shape: number[], seed: number): Nested {
  let state = (seed * 2654435761) >>> 0 || 1;
  const uniform = () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const build = (dims: number[]): Nested => (dims.length === 0 ? Math.fround(normal()) : Array.from({ length: dims[0] }, () => build(dims.slice(1))));
  return build(shape);
}

/** max |a - b| / max(1, max |b|): float32 results against float64 references. */
export function relErr(a: tf.Tensor | Nested, b: tf.Tensor | Nested): number {
  return tf.tidy(() => {
    const ta = a instanceof tf.Tensor ? a : tf.tensor(a);
    const tb = b instanceof tf.Tensor ? b : tf.tensor(b);
    if (ta.shape.join() !== tb.shape.join()) throw new Error(`shape ${ta.shape} vs reference ${tb.shape}`);
    const diff = tf.max(tf.abs(tf.sub(ta, tb))).dataSync()[0];
    const scale = Math.max(1, tf.max(tf.abs(tb)).dataSync()[0]);
    return diff / scale;
  });
}
