// The trainer's case loading: the pool preprocesses every training and validation image (cache
// hits are only checked), with per-image progress events ("loading 37/110 images", ETA), then
// the cases are served lazily from the cache under a memory budget (case-cache-store.ts).
// Without a cache folder (runTraining called directly, as tests do) the pool's arrays are kept
// in memory, as before this cache existed; the same happens, with a warning, after the disk
// filled up while writing the cache.
import type { TaskEvent } from '../task-protocol';
import { createCaseStore, defaultCaseMemoryBudget, type CacheEntry } from './case-cache-store';
import { planHash } from './case-cache';
import { preprocessCases, type PoolCase } from './preprocess-pool';
import type { PreprocessSpec } from './preprocess';
import type { CaseSource, TrainingCase } from './sampler';

export interface LoadCasesOptions {
  spec: PreprocessSpec;
  cacheDir: string | null;
  /** K 0/1 flags of the annotated classes of a case (undefined: all). */
  labelled: (index: number) => number[] | undefined;
  emit: (e: TaskEvent) => void;
  signal?: AbortSignal;
  threads?: number;
  budgetBytes?: number;
}

export interface LoadedCases {
  trainCases: TrainingCase[];
  /** What the patch sampler draws from. */
  trainSource: CaseSource | TrainingCase[];
  valCases: TrainingCase[];
}

const mb = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;

/** `train` then `val` are preprocessed as one list; labelled(i) indexes that list. */
export async function loadTrainingCases(train: readonly PoolCase[], val: readonly PoolCase[], opts: LoadCasesOptions): Promise<LoadedCases> {
  const all = [...train, ...val];
  const log = (message: string, level: 'info' | 'warn' = 'info'): void => opts.emit({ type: 'log', level, message });
  const out = await preprocessCases(all, {
    spec: opts.spec,
    cacheDir: opts.cacheDir,
    threads: opts.threads,
    signal: opts.signal,
    log,
    onProgress: (p) => opts.emit({ type: 'progress', fraction: 0, message: `loading ${p.done}/${p.total} images${p.hits ? ` (${p.hits} from the cache)` : ''}`, etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds) }),
  });
  const spec = `${out.threads ? `${out.threads} thread${out.threads === 1 ? '' : 's'}` : 'in-process'}`;
  log(`preprocessed ${all.length} images in ${out.seconds.toFixed(1)} s (${spec}; ${opts.cacheDir ? `${out.hits} from the cache ${opts.cacheDir}` : 'no cache folder'})`);

  const plan = planHash(opts.spec);
  const budget = opts.budgetBytes ?? defaultCaseMemoryBudget();
  const fileEntries: CacheEntry[] = [];
  const fileIndex = new Map<number, number>();
  const memory = new Map<number, TrainingCase>();
  let totalBytes = 0;
  out.results.forEach((r, i) => {
    totalBytes += r.meta.bytes;
    if (r.kind === 'file') {
      fileIndex.set(i, fileEntries.length);
      fileEntries.push({ id: all[i].id, file: r.file, planHash: plan, imageSha256: r.imageSha256, labelSha256: r.labelSha256, channels: r.meta.channels, labelledClasses: opts.labelled(i) });
    } else {
      const shape = r.meta.shape;
      memory.set(i, { id: all[i].id, images: r.images.map((data) => ({ shape: [...shape], data })), label: { shape: [...shape], data: r.label }, labelledClasses: opts.labelled(i) });
    }
  });
  if (fileEntries.length === 0) {
    const cases = all.map((_, i) => memory.get(i)!);
    return { trainCases: cases.slice(0, train.length), trainSource: cases.slice(0, train.length), valCases: cases.slice(train.length) };
  }
  const store = createCaseStore(fileEntries, { numClasses: opts.spec.numClasses, budgetBytes: budget });
  const cases = all.map((_, i) => memory.get(i) ?? store.cases[fileIndex.get(i)!]);
  const trainCases = cases.slice(0, train.length);
  const allTrainFromFiles = trainCases.every((_, i) => fileIndex.has(i));
  log(`case memory: ${mb(totalBytes)} of preprocessed images, at most ${mb(budget)} kept decoded (least recently used out; SEGLOOP_CASE_MEMORY_MB sets it)${memory.size ? `; ${memory.size} image(s) held in memory outside the budget` : ''}`);
  return {
    trainCases,
    // Train entries come first in fileEntries when every training case is in a file.
    trainSource: allTrainFromFiles ? store.source(0, train.length) : trainCases,
    valCases: cases.slice(train.length),
  };
}
