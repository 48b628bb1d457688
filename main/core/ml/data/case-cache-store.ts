// Lazy access to preprocessed cases during training: cases live in their cache files and are
// read when the patch sampler (or the validation pass) needs them; at most `budgetBytes` of
// decoded cases (channels + label as float32, plus the sampler's foreground index) stay in
// memory, least recently used out first. So memory is bounded by the budget, not by the size
// of the collection, and a collection larger than memory still trains. A case that is larger
// than the whole budget is still served (it is evicted as soon as another one is read).
import os from 'node:os';
import { SegloopError } from '../../../../shared/errors';
import { readCaseFileSync } from './case-cache';
import { prepareCase, type CaseSource, type PreparedCase, type TrainingCase } from './sampler';

export interface CacheEntry {
  id: string;
  file: string;
  planHash: string;
  imageSha256: string;
  labelSha256: string;
  channels: number;
  labelledClasses?: number[];
}

export interface CaseStoreStats {
  reads: number;
  hits: number;
  evictions: number;
  bytes: number;
  peakBytes: number;
  budgetBytes: number;
}

export interface CaseStore {
  /** Lazy TrainingCase objects (images/label read on access), in entry order. */
  readonly cases: TrainingCase[];
  /** The sampler's view of entries [from, to). */
  source(from?: number, to?: number): CaseSource;
  stats(): CaseStoreStats;
}

const MiB = 2 ** 20;

/**
 * Default budget: a fifth of the machine's memory, between 256 MiB and 2 GiB (the training
 * process also holds the model, the optimiser and the wasm heap). SEGLOOP_CASE_MEMORY_MB overrides it.
 */
export function defaultCaseMemoryBudget(): number {
  const env = Number(process.env.SEGLOOP_CASE_MEMORY_MB);
  if (Number.isFinite(env) && env > 0) return Math.round(env * MiB);
  return Math.round(Math.min(2048 * MiB, Math.max(256 * MiB, os.totalmem() / 5)));
}

interface Resident {
  c: TrainingCase;
  fg: Int32Array[] | null;
  bytes: number;
}

export function createCaseStore(entries: readonly CacheEntry[], opts: { numClasses: number; budgetBytes?: number }): CaseStore {
  const budget = opts.budgetBytes ?? defaultCaseMemoryBudget();
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU one.
  const resident = new Map<number, Resident>();
  const st: CaseStoreStats = { reads: 0, hits: 0, evictions: 0, bytes: 0, peakBytes: 0, budgetBytes: budget };

  const evictFor = (keep: number): void => {
    for (const [k, r] of resident) {
      if (st.bytes <= budget) break;
      if (k === keep) continue;
      resident.delete(k);
      st.bytes -= r.bytes;
      st.evictions++;
    }
  };

  const load = (i: number): Resident => {
    const have = resident.get(i);
    if (have) {
      st.hits++;
      resident.delete(i);
      resident.set(i, have);
      return have;
    }
    const e = entries[i];
    const d = readCaseFileSync(e.file, e);
    if (!d.ok) {
      // Every file was checked when training started: a failure now means it changed under us.
      throw new SegloopError('CHECKSUM_MISMATCH', `The preprocessing cache file of ${e.id} (${e.file}) changed on disk during training (${d.reason}). Start the training again: the file is then recomputed.`, { file: e.file, reason: d.reason });
    }
    st.reads++;
    const c: TrainingCase = { id: e.id, images: d.value.images, label: d.value.label, labelledClasses: e.labelledClasses };
    const r: Resident = { c, fg: null, bytes: (c.images.length + 1) * c.label.data.byteLength };
    resident.set(i, r);
    st.bytes += r.bytes;
    evictFor(i);
    st.peakBytes = Math.max(st.peakBytes, st.bytes);
    return r;
  };

  const prepared = (i: number): PreparedCase => {
    const r = load(i);
    if (!r.fg) {
      r.fg = prepareCase(r.c, opts.numClasses).fg;
      const extra = r.fg.reduce((s, a) => s + a.byteLength, 0);
      r.bytes += extra;
      st.bytes += extra;
      evictFor(i);
      st.peakBytes = Math.max(st.peakBytes, st.bytes);
    }
    return { c: r.c, fg: r.fg };
  };

  const cases: TrainingCase[] = entries.map((e, i) => ({
    id: e.id,
    labelledClasses: e.labelledClasses,
    get images() {
      return load(i).c.images;
    },
    get label() {
      return load(i).c.label;
    },
  }));

  return {
    cases,
    source(from = 0, to = entries.length) {
      const size = to - from;
      const channels = entries[from]?.channels ?? 1;
      for (let i = from; i < to; i++) {
        if (entries[i].channels !== channels) throw new SegloopError('INVALID_ARGUMENT', `Case ${entries[i].id} has ${entries[i].channels} channels, expected ${channels}.`);
      }
      return { size, channels, get: (k) => prepared(from + k) };
    },
    stats: () => ({ ...st }),
  };
}
