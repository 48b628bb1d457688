import { promises as fs, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { TEMP_MARKER } from '../../base/fs';
import { readNifti, writeNifti } from '../../imaging/nifti';
import { caseFilePath, decodeCase, planHash, removeStaleTempFiles } from './case-cache';
import { createCaseStore, type CacheEntry } from './case-cache-store';
import { loadTrainingCases } from './case-cache-loader';
import { preprocessCases, type PoolCase, type PoolProgress } from './preprocess-pool';
import type { PoolResult } from './preprocess-pool-job';
import { preprocessCase, type PreprocessSpec } from './preprocess';
import { createPatchSampler, memoryCaseSource, type TrainingCase } from './sampler';
import { NO_AUGMENTATION } from './augment';
import { writeSynthetic2dCollection } from './synthetic-2d';
import type { TaskEvent } from '../task-protocol';

const N = 6;
const spec: PreprocessSpec = { targetSpacing: [0.12, 0.12, 1], normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' }, numClasses: 2 };
let dir: string;
let cases: PoolCase[];
/** The sequential reference: preprocessCase on the files, as the trainer did before the pool. */
let reference: { images: Float32Array[]; label: Float32Array; shape: number[] }[];

const bitsEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function decoded(r: PoolResult, c: PoolCase, plan = planHash(spec)): { images: Float32Array[]; label: Float32Array } {
  if (r.kind === 'memory') return { images: r.images, label: r.label };
  const d = decodeCase(require_(r.file), { planHash: plan, imageSha256: r.imageSha256, labelSha256: r.labelSha256 });
  if (!d.ok) throw new Error(`${c.id}: ${d.reason}`);
  return { images: d.value.images.map((g) => g.data), label: d.value.label.data };
}
const fileBytes = new Map<string, Uint8Array>();
function require_(file: string): Uint8Array {
  return fileBytes.get(file)!;
}
async function readAll(results: PoolResult[]): Promise<void> {
  for (const r of results) if (r.kind === 'file') fileBytes.set(r.file, new Uint8Array(await fs.readFile(r.file)));
}

function expectSameAsReference(results: PoolResult[], plan?: string): void {
  results.forEach((r, i) => {
    const d = decoded(r, cases[i], plan);
    expect(r.meta.shape).toEqual(reference[i].shape);
    expect(d.images.length).toBe(1);
    expect(bitsEqual(d.images[0], reference[i].images[0]), `${cases[i].id} image`).toBe(true);
    expect(bitsEqual(d.label, reference[i].label), `${cases[i].id} label`).toBe(true);
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-pool-'));
  const col = await writeSynthetic2dCollection(path.join(dir, 'data'), { count: N, width: 96, height: 64, seed: 5 });
  cases = col.cases.map((c) => ({ id: c.id, imagePath: c.imagePath, labelPath: c.labelPath }));
  reference = [];
  for (const c of cases) {
    const pre = preprocessCase([await readNifti(c.imagePath)], await readNifti(c.labelPath), spec, c.id);
    reference.push({ images: pre.images.map((g) => g.data), label: pre.label!.data, shape: [...pre.label!.shape] });
  }
  // The pixel sizes vary, so the resampled shapes must too (otherwise the test proves little).
  expect(new Set(reference.map((r) => r.shape.join('x'))).size).toBeGreaterThan(2);
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('preprocessing pool', () => {
  it('two worker threads give bitwise the arrays of the sequential preprocessCase, in memory', async () => {
    const progress: PoolProgress[] = [];
    const out = await preprocessCases(cases, { spec, cacheDir: null, threads: 2, inlineWhileStarting: false, onProgress: (p) => progress.push(p) });
    expect(out.threads).toBe(2);
    expect(out.results.every((r) => r.kind === 'memory')).toBe(true);
    expectSameAsReference(out.results);
    // one event before the first image, then one per image, done counting up to N
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: N + 1 }, (_, i) => i));
    expect(progress[0].etaSeconds).toBeNull();
    expect(progress.at(-1)!.etaSeconds).toBe(0);
  });

  it('cache: misses on a cold run, hits on a warm one, same bits both times', async () => {
    const cacheDir = path.join(dir, 'cache-a');
    const cold = await preprocessCases(cases, { spec, cacheDir, threads: 2, inlineWhileStarting: false });
    expect(cold.threads).toBe(2);
    expect(cold.results.map((r) => (r.kind === 'file' ? r.status : r.kind))).toEqual(new Array(N).fill('miss'));
    await readAll(cold.results);
    expectSameAsReference(cold.results);
    const files = readdirSync(path.join(cacheDir, planHash(spec)));
    expect(files.length).toBe(N);
    expect(files.some((f) => f.includes(TEMP_MARKER))).toBe(false);

    const progress: PoolProgress[] = [];
    const warm = await preprocessCases(cases, { spec, cacheDir, threads: 2, onProgress: (p) => progress.push(p) });
    expect(warm.hits).toBe(N);
    expect(warm.threads).toBe(0); // hits are checked in this thread: no worker started
    expect(warm.results.map((r) => (r.kind === 'file' ? r.status : r.kind))).toEqual(new Array(N).fill('hit'));
    expect(progress.length).toBe(N + 1);
    expect(progress.at(-1)).toMatchObject({ done: N, total: N, hits: N });
    expectSameAsReference(warm.results);
  });

  it('invalidation: a changed label misses only its own case; a changed plan misses every case, in its own folder', async () => {
    const cacheDir = path.join(dir, 'cache-b');
    const first = await preprocessCases(cases, { spec, cacheDir, threads: 0 });
    // A new label version: one more foreground pixel (other bytes, same geometry).
    const lab = await readNifti(cases[2].labelPath);
    const data = Uint8Array.from(lab.data);
    data[data.indexOf(0)] = 1;
    const newLabel = path.join(dir, 'data', 'labels', `${cases[2].id}-v2.nii.gz`);
    await writeNifti(newLabel, { ...lab, data });
    const changed = cases.map((c, i) => (i === 2 ? { ...c, labelPath: newLabel } : c));
    const second = await preprocessCases(changed, { spec, cacheDir, threads: 0 });
    expect(second.results.map((r) => (r.kind === 'file' ? r.status : r.kind))).toEqual(['hit', 'hit', 'miss', 'hit', 'hit', 'hit']);
    const [a, b] = [first.results[2], second.results[2]];
    expect(a.kind === 'file' && b.kind === 'file' && a.file !== b.file && a.imageSha256 === b.imageSha256 && a.labelSha256 !== b.labelSha256).toBe(true);

    const other: PreprocessSpec = { ...spec, targetSpacing: [0.2, 0.2, 1] };
    expect(planHash(other)).not.toBe(planHash(spec));
    // key order of the spec does not matter, its values do
    expect(planHash({ numClasses: 2, normalisation: spec.normalisation, targetSpacing: spec.targetSpacing })).toBe(planHash(spec));
    expect(planHash({ ...spec, normalisation: { kind: 'zscore', region: 'nonzero' } })).not.toBe(planHash(spec));
    const third = await preprocessCases(cases, { spec: other, cacheDir, threads: 0 });
    expect(third.hits).toBe(0);
    expect(third.results.every((r) => r.kind === 'file' && r.status === 'miss' && r.file.includes(planHash(other)))).toBe(true);
  });

  it('a truncated or bit-flipped cache file is detected and recomputed, never trusted', async () => {
    const cacheDir = path.join(dir, 'cache-c');
    const cold = await preprocessCases(cases, { spec, cacheDir, threads: 0 });
    const f1 = (cold.results[1] as Extract<PoolResult, { kind: 'file' }>).file;
    const f4 = (cold.results[4] as Extract<PoolResult, { kind: 'file' }>).file;
    const b1 = await fs.readFile(f1);
    await fs.writeFile(f1, b1.subarray(0, b1.length - 100));
    const b4 = await fs.readFile(f4);
    b4[b4.length - 10] ^= 0x40; // inside the label payload: only the checksum can notice
    await fs.writeFile(f4, b4);
    const warnings: string[] = [];
    const warm = await preprocessCases(cases, { spec, cacheDir, threads: 2, log: (m) => warnings.push(m) });
    const status = warm.results.map((r) => (r.kind === 'file' ? r.status : r.kind));
    expect(status).toEqual(['hit', 'recomputed', 'hit', 'hit', 'recomputed', 'hit']);
    expect((warm.results[1] as { reason?: string }).reason).toMatch(/length/);
    expect((warm.results[4] as { reason?: string }).reason).toMatch(/checksum/);
    expect(warnings.filter((w) => /recomputed/.test(w)).length).toBe(2);
    await readAll(warm.results);
    expectSameAsReference(warm.results);
  });

  it('a full disk while writing the cache keeps the cases in memory, warns once, stops writing and leaves no temp file', async () => {
    const cacheDir = path.join(dir, 'cache-d');
    let writes = 0;
    const io = {
      async write(): Promise<void> {
        writes++;
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
      async fsync(): Promise<void> {},
    };
    const warnings: string[] = [];
    const out = await preprocessCases(cases, { spec, cacheDir, threads: 0, io, log: (m, level) => warnings.push(`${level}: ${m}`) });
    expect(out.diskFull?.code).toBe('DISK_FULL');
    expect(writes).toBe(1);
    expect(out.results.every((r) => r.kind === 'memory')).toBe(true);
    expectSameAsReference(out.results);
    expect(warnings.filter((w) => /^warn: .*disk is full.*kept in memory/.test(w)).length).toBe(1);
    const planDir = path.join(cacheDir, planHash(spec));
    expect(existsSync(planDir) ? readdirSync(planDir) : []).toEqual([]);
  });

  it('computes in this thread while the threads start, and gives the same bits', async () => {
    const out = await preprocessCases(cases, { spec, cacheDir: null, threads: 2 });
    expectSameAsReference(out.results);
  });

  it('a bad label is a clear error from the worker thread', async () => {
    const lab = await readNifti(cases[0].labelPath);
    const bad = path.join(dir, 'data', 'bad-label.nii.gz');
    await writeNifti(bad, { ...lab, data: Uint8Array.from(lab.data, (v) => (v ? 7 : 0)) });
    await expect(preprocessCases([{ ...cases[0], labelPath: bad }, ...cases.slice(1)], { spec, cacheDir: null, threads: 2, inlineWhileStarting: false })).rejects.toMatchObject({ code: 'LABEL_OUT_OF_SCHEMA' });
  });
});

describe('stale temp files', () => {
  it('removes only our own old temp files from the plan folder, nothing else', async () => {
    const cacheDir = path.join(dir, 'cache-g');
    const plan = planHash(spec);
    const planDir = path.join(cacheDir, plan);
    await fs.mkdir(planDir, { recursive: true });
    const name = `.${'a'.repeat(24)}-${'b'.repeat(24)}.case${TEMP_MARKER}0123456789ab`;
    const fresh = `.${'c'.repeat(24)}-${'d'.repeat(24)}.case${TEMP_MARKER}0123456789ab`;
    const foreign = `notes${TEMP_MARKER}x.txt`;
    for (const f of [name, fresh, foreign, 'keep.case']) await fs.writeFile(path.join(planDir, f), 'x');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await fs.utimes(path.join(planDir, name), old, old);
    await fs.utimes(path.join(planDir, foreign), old, old);
    expect(await removeStaleTempFiles(cacheDir, plan)).toEqual([name]);
    expect(readdirSync(planDir).sort()).toEqual([fresh, foreign, 'keep.case'].sort());
  });
});

describe('lazy case store', () => {
  let entries: CacheEntry[];
  let memoryCases: TrainingCase[];
  beforeAll(async () => {
    const cacheDir = path.join(dir, 'cache-e');
    const out = await preprocessCases(cases, { spec, cacheDir, threads: 0 });
    entries = out.results.map((r, i) => {
      if (r.kind !== 'file') throw new Error('expected a cache file');
      expect(r.file).toBe(caseFilePath(cacheDir, planHash(spec), r.imageSha256, r.labelSha256));
      return { id: cases[i].id, file: r.file, planHash: planHash(spec), imageSha256: r.imageSha256, labelSha256: r.labelSha256, channels: 1 };
    });
    memoryCases = reference.map((r, i) => ({ id: cases[i].id, images: [{ shape: r.shape as [number, number, number], data: r.images[0] }], label: { shape: r.shape as [number, number, number], data: r.label } }));
  });

  it('draws exactly the batches of the in-memory sampler while keeping at most the budget (+ the case in use) decoded', () => {
    const biggest = Math.max(...reference.map((r) => r.label.byteLength * 2));
    const budget = 2 * biggest; // room for about two of the six cases
    const store = createCaseStore(entries, { numClasses: 2, budgetBytes: budget });
    const opts = { dims: 2 as const, patchSize: [32, 32], batchSize: 4, numClasses: 2, augmentation: NO_AUGMENTATION, seed: 9, foregroundFraction: 0.5 };
    const lazy = createPatchSampler(store.source(), opts);
    const eager = createPatchSampler(memoryCaseSource(memoryCases, 2), opts);
    for (let s = 0; s < 6; s++) {
      const [a, b] = [lazy.next(), eager.next()];
      expect(a.caseIds).toEqual(b.caseIds);
      expect(Buffer.from(a.x.dataSync().buffer).equals(Buffer.from(b.x.dataSync().buffer))).toBe(true);
      expect(Array.from(a.y.dataSync())).toEqual(Array.from(b.y.dataSync()));
      tf.dispose([a.x, a.y, b.x, b.y]);
    }
    const st = store.stats();
    expect(st.reads).toBeGreaterThan(N); // evictions forced re-reads
    expect(st.evictions).toBeGreaterThan(0);
    // fg index <= label bytes, so one resident case is at most 1.5x its decoded arrays
    expect(st.peakBytes).toBeLessThanOrEqual(budget + 1.5 * biggest);
  });

  it('lazy cases read their arrays on access (validation pass view), and a file changed during training is an error', async () => {
    const store = createCaseStore(entries, { numClasses: 2, budgetBytes: 1 });
    expect(store.stats().reads).toBe(0);
    expect(bitsEqual(store.cases[3].images[0].data, reference[3].images[0])).toBe(true);
    expect(bitsEqual(store.cases[3].label.data, reference[3].label)).toBe(true);
    const bytes = await fs.readFile(entries[5].file);
    bytes[bytes.length - 1] ^= 1;
    await fs.writeFile(entries[5].file, bytes);
    expect(() => store.cases[5].label).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
  });
});

describe('trainer case loading', () => {
  it('emits "loading i/N images" progress per image, then serves train and val cases from the cache', async () => {
    const cacheDir = path.join(dir, 'cache-f');
    const run = async (): Promise<{ events: TaskEvent[]; loaded: Awaited<ReturnType<typeof loadTrainingCases>> }> => {
      const events: TaskEvent[] = [];
      const loaded = await loadTrainingCases(cases.slice(0, 4), cases.slice(4), { spec, cacheDir, emit: (e) => events.push(e), labelled: () => undefined, threads: 2, budgetBytes: 64 * 2 ** 20 });
      return { events, loaded };
    };
    const cold = await run();
    const msgs = cold.events.filter((e) => e.type === 'progress').map((e) => (e as { message: string }).message);
    expect(msgs).toEqual(Array.from({ length: N + 1 }, (_, i) => `loading ${i}/${N} images`));
    expect(cold.loaded.trainCases.map((c) => c.id)).toEqual(cases.slice(0, 4).map((c) => c.id));
    expect(cold.loaded.valCases.map((c) => c.id)).toEqual(cases.slice(4).map((c) => c.id));
    expect(Array.isArray(cold.loaded.trainSource)).toBe(false); // the lazy source, not arrays
    expect(bitsEqual(cold.loaded.valCases[1].images[0].data, reference[5].images[0])).toBe(true);
    const warm = await run();
    const last = warm.events.filter((e) => e.type === 'progress').at(-1) as { message: string };
    expect(last.message).toBe(`loading ${N}/${N} images (${N} from the cache)`);
    expect(warm.events.some((e) => e.type === 'log' && /case memory: .* at most 64 MB/.test(e.message))).toBe(true);
  });
});
