// Training checkpoints: everything needed to continue a run exactly where it stopped —
// model weights, Adam's moments and step counter, the epoch, the RNG state (the sampler is
// re-seeded per epoch from (seed, epoch), so the epoch number IS the RNG state), the schedule
// position (elapsed training seconds), early-stopping state and the metric history.
// Layout in <runDir>/checkpoint/: e<N>.weights.bin, e<N>.optimizer.bin, best.weights.bin, and
// latest.json written LAST (atomically) pointing at them with checksums. A crash at any moment
// leaves latest.json describing a complete older checkpoint.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { sha256Bytes, writeFileAtomic } from '../project/files';
import { EpochMetrics } from './task-protocol';
import { ModelMeta } from './inference/model-weights';

export const CHECKPOINT_DIR = 'checkpoint';
const LATEST = 'latest.json';

export const CheckpointState = z.object({
  format: z.literal('segloop-checkpoint/1'),
  /** The epoch in progress (0-based) and how many of its steps are done; a finished epoch e is (e + 1, 0). */
  epoch: z.number().int().min(0),
  stepInEpoch: z.number().int().min(0),
  globalStep: z.number().int().min(0),
  trainSeconds: z.number().min(0),
  seed: z.number().int(),
  bestMetric: z.number().nullable(),
  bestEpoch: z.number().int().nullable(),
  epochsWithoutImprovement: z.number().int().min(0),
  history: z.array(EpochMetrics),
  meta: ModelMeta,
  /** A hash of the training config; resuming with another config is refused. */
  configKey: z.string(),
  valIds: z.array(z.string()),
  weights: z.object({ file: z.string(), sha256: z.string() }),
  optimizer: z.object({ file: z.string(), sha256: z.string(), names: z.array(z.string()), shapes: z.array(z.array(z.number())) }),
  best: z.object({ file: z.string(), sha256: z.string() }).nullable(),
  savedAt: z.string(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;

export interface OptimizerSnapshot {
  bytes: Uint8Array;
  names: string[];
  shapes: number[][];
}

export async function snapshotOptimizer(opt: tf.Optimizer): Promise<OptimizerSnapshot> {
  const ws = await opt.getWeights();
  const parts: Float32Array[] = [];
  for (const w of ws) parts.push(Float32Array.from((await w.tensor.data()) as ArrayLike<number>));
  // getWeights() makes a fresh scalar for the step counter; the moments are live variables.
  for (const w of ws) if (w.name === 'iter') w.tensor.dispose();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return { bytes: new Uint8Array(all.buffer), names: ws.map((w) => w.name), shapes: ws.map((w) => [...w.tensor.shape]) };
}

export async function restoreOptimizer(opt: tf.Optimizer, snap: OptimizerSnapshot): Promise<void> {
  const all = new Float32Array(snap.bytes.buffer.slice(snap.bytes.byteOffset, snap.bytes.byteOffset + snap.bytes.byteLength));
  let off = 0;
  const named: Parameters<tf.Optimizer['setWeights']>[0] = snap.names.map((name, i) => {
    const n = snap.shapes[i].reduce((a, b) => a * b, 1);
    const t = tf.tensor(all.subarray(off, off + n), snap.shapes[i], 'float32');
    off += n;
    return { name, tensor: t };
  });
  await opt.setWeights(named);
  // The optimizer's variables hold their own references to the data.
  for (const n of named) n.tensor.dispose();
}

export function checkpointDir(runDir: string): string {
  return path.join(runDir, CHECKPOINT_DIR);
}

/** Writes the files of epoch `state.epoch`, then latest.json; prunes to the last and the best. */
export async function saveCheckpoint(
  runDir: string,
  state: Omit<CheckpointState, 'weights' | 'optimizer' | 'best' | 'savedAt' | 'format'>,
  weights: Uint8Array,
  optimizer: OptimizerSnapshot,
  bestWeights: Uint8Array | null | 'keep',
): Promise<string> {
  const dir = checkpointDir(runDir);
  await fs.mkdir(dir, { recursive: true });
  const tag = `e${state.epoch}-s${state.globalStep}`;
  const wFile = `${tag}.weights.bin`;
  const oFile = `${tag}.optimizer.bin`;
  await writeFileAtomic(path.join(dir, wFile), weights);
  await writeFileAtomic(path.join(dir, oFile), optimizer.bytes);
  const previous = await readLatest(runDir).catch(() => null);
  let best: CheckpointState['best'] = null;
  if (bestWeights === 'keep') best = previous?.best ?? null;
  else if (bestWeights) {
    const bFile = `best-${tag}.weights.bin`;
    await writeFileAtomic(path.join(dir, bFile), bestWeights);
    best = { file: bFile, sha256: sha256Bytes(bestWeights) };
  }
  const full: CheckpointState = {
    ...state,
    format: 'segloop-checkpoint/1',
    weights: { file: wFile, sha256: sha256Bytes(weights) },
    optimizer: { file: oFile, sha256: sha256Bytes(optimizer.bytes), names: optimizer.names, shapes: optimizer.shapes },
    best,
    savedAt: new Date().toISOString(),
  };
  const latestPath = path.join(dir, LATEST);
  await writeFileAtomic(latestPath, new TextEncoder().encode(JSON.stringify(full)));
  await pruneCheckpoints(dir, new Set([wFile, oFile, best?.file, LATEST].filter((f): f is string => Boolean(f))));
  return latestPath;
}

/** The names saveCheckpoint writes; nothing else is ever removed by pruning. */
const OWN_FILE = /^(best-)?e\d+-s\d+\.(weights|optimizer)\.bin$/;

/**
 * Keeps the last checkpoint and the best weights: removes the older files this module wrote
 * (named e<N>-s<M>.*, best-e<N>-s<M>.*). Any other file — a model a user promoted or copied here,
 * a file of another tool — is not ours and stays, as do files outside the checkpoint folder.
 */
export async function pruneCheckpoints(dir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const f of await fs.readdir(dir)) {
    if (keep.has(f) || !OWN_FILE.test(f)) continue;
    await fs.rm(path.join(dir, f), { force: true });
    removed.push(f);
  }
  return removed;
}

export async function readLatest(runDir: string): Promise<CheckpointState | null> {
  const file = path.join(checkpointDir(runDir), LATEST);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const parsed = CheckpointState.safeParse(JSON.parse(text));
  if (!parsed.success) throw new SegloopError('CHECKSUM_MISMATCH', `The checkpoint ${file} is damaged (${parsed.error.issues[0]?.message}).`, { file });
  return parsed.data;
}

export async function readCheckpointFile(runDir: string, ref: { file: string; sha256: string }): Promise<Uint8Array> {
  const file = path.join(checkpointDir(runDir), path.basename(ref.file));
  const bytes = new Uint8Array(await fs.readFile(file));
  if (sha256Bytes(bytes) !== ref.sha256) throw new SegloopError('CHECKSUM_MISMATCH', `The checkpoint file ${file} is damaged (checksum differs).`, { file });
  return bytes;
}
