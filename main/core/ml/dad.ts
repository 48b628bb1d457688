// DAD — Dynamic Average Dice (literature 002, "Data-Centric Diet", arXiv 2308.01189): rank the
// training images by how well the model segments their TARGET region over the course of a
// training run, so the hardest (or easiest) can be pruned from the next run.
//
// Our reading of the paper (its summary gives no formula): at every epoch t each training
// sample i gets a Dice score d_i^t on its target region; DAD_i(T) is the average of d_i^t over
// the epochs 1..T in which i was scored (the "dynamic average" over the training trajectory);
// samples are ranked globally by DAD (lowest = hardest to learn); the moving distance between
// consecutive rankings tells whether the ranking has settled (the paper prunes once it has).
//
// What we score (documented choice, costs no extra forward pass): the patches each image was
// trained on in that epoch, argmax of the training forward pass against the (augmented) patch
// label. The per-sample Dice of one patch is the mean over the foreground classes that the image's
// annotator labelled AND that have voxels in the patch of 2|P∩R|/(|P|+|R|); patches without
// such a target are not scored (DAD is about the target, not the background). d_i^t is the mean
// over i's scored patches in epoch t; an image that was not drawn in epoch t has no d_i^t.
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { writeFileAtomic } from '../project/files';
import { segmentationMetrics, type Vec3 } from '../evaluation/metrics';

export const DAD_FILE = 'dad.json';
export const DAD_FORMAT = 'segloop-dad-1';

/** Epoch t's scores: case id -> [sum of patch Dice, number of scored patches]. */
export const DadEpochRecord = z.object({
  epoch: z.number().int().min(1),
  cases: z.record(z.string(), z.tuple([z.number().min(0), z.number().int().min(1)])),
});
export type DadEpochRecord = z.infer<typeof DadEpochRecord>;

export const DadFile = z.object({
  format: z.literal(DAD_FORMAT),
  metric: z.string(),
  numClasses: z.number().int().min(2),
  /** Every image the run trained on (also those never scored). */
  caseIds: z.array(z.string()),
  epochs: z.array(DadEpochRecord),
});
export type DadFile = z.infer<typeof DadFile>;

export const DAD_METRIC = 'mean Dice over labelled foreground classes present in each trained patch (argmax of the training forward pass)';

/**
 * Dice of one sample's prediction on its target region: mean over labelled foreground classes
 * with reference voxels of 2|P∩R|/(|P|+|R|); null when the sample has no labelled target.
 * `labelled`: K 0/1 flags (undefined = all classes labelled).
 */
export function targetDice(pred: ArrayLike<number>, ref: ArrayLike<number>, numClasses: number, labelled?: readonly number[], offset = 0, length = ref.length - offset): number | null {
  // The evaluation module's Dice (one Dice in the product); classes without reference voxels in
  // this patch are no target and are skipped, so its empty-mask convention never enters DAD.
  const classes: number[] = [];
  for (let k = 1; k < numClasses; k++) if (!labelled || labelled[k]) classes.push(k);
  if (classes.length === 0) return null;
  const p = window(pred, offset, length);
  const r = window(ref, offset, length);
  const shape: Vec3 = [length, 1, 1];
  const m = segmentationMetrics({ data: p, shape }, { data: r, shape }, { spacing: [1, 1, 1], classes, distances: false });
  const scored = m.classes.filter((c) => c.refVoxels > 0);
  return scored.length ? scored.reduce((s, c) => s + c.dice, 0) / scored.length : null;
}

function window(a: ArrayLike<number>, offset: number, length: number): ArrayLike<number> {
  if (offset === 0 && length === a.length) return a;
  const sub = (a as { subarray?: (s: number, e: number) => ArrayLike<number> }).subarray;
  return sub ? sub.call(a, offset, offset + length) : Array.prototype.slice.call(a, offset, offset + length);
}

export interface DadRecorder {
  /** One training batch: B case ids, argmax predictions and labels laid out sample after sample. */
  observe(caseIds: readonly string[], pred: ArrayLike<number>, ref: ArrayLike<number>): void;
  /** Closes epoch `epoch` (1-based) and returns its record. */
  endEpoch(epoch: number): DadEpochRecord;
  /** Drops what was observed since the last endEpoch (a cancelled or cut epoch keeps no partial record). */
  discardEpoch(): void;
  file(): DadFile;
}

export function createDadRecorder(opts: {
  numClasses: number;
  caseIds: readonly string[];
  /** K 0/1 flags per case id (absent = all classes labelled). */
  labelled?: ReadonlyMap<string, readonly number[] | undefined>;
  /** Records of the epochs already done (resume). */
  previous?: readonly DadEpochRecord[];
}): DadRecorder {
  const epochs: DadEpochRecord[] = [...(opts.previous ?? [])];
  let current = new Map<string, [number, number]>();
  return {
    observe(caseIds, pred, ref) {
      const B = caseIds.length;
      if (B === 0) return;
      if (pred.length !== ref.length || ref.length % B !== 0) {
        throw new SegloopError('INTERNAL_ERROR', `DAD: ${pred.length} predicted and ${ref.length} reference voxels do not split into ${B} samples.`);
      }
      const n = ref.length / B;
      caseIds.forEach((id, b) => {
        const d = targetDice(pred, ref, opts.numClasses, opts.labelled?.get(id), b * n, n);
        if (d === null) return;
        const acc = current.get(id) ?? [0, 0];
        acc[0] += d;
        acc[1] += 1;
        current.set(id, acc);
      });
    },
    endEpoch(epoch) {
      const rec: DadEpochRecord = { epoch, cases: Object.fromEntries([...current].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
      epochs.push(rec);
      current = new Map();
      return rec;
    },
    discardEpoch() {
      current = new Map();
    },
    file() {
      return { format: DAD_FORMAT, metric: DAD_METRIC, numClasses: opts.numClasses, caseIds: [...opts.caseIds], epochs: epochs.map((e) => ({ ...e })) };
    },
  };
}

/** d_i^t: per-epoch mean patch Dice of every case scored in that epoch. */
export function epochDice(rec: DadEpochRecord): Map<string, number> {
  return new Map(Object.entries(rec.cases).map(([id, [s, n]]) => [id, s / n]));
}

/** DAD_i(T) = mean of d_i^t over the epochs t <= T (default: all) in which i was scored. */
export function dynamicAverageDice(epochs: readonly DadEpochRecord[], upToEpoch = Infinity): Map<string, { dad: number; epochsScored: number }> {
  const acc = new Map<string, { sum: number; n: number }>();
  for (const e of epochs) {
    if (e.epoch > upToEpoch) continue;
    for (const [id, d] of epochDice(e)) {
      const a = acc.get(id) ?? { sum: 0, n: 0 };
      a.sum += d;
      a.n += 1;
      acc.set(id, a);
    }
  }
  return new Map([...acc].map(([id, a]) => [id, { dad: a.sum / a.n, epochsScored: a.n }]));
}

export interface DadRank {
  id: string;
  dad: number;
  epochsScored: number;
  /** 0 = lowest DAD (hardest). */
  rank: number;
}

/** Cases ordered by DAD ascending (ties by id, so the order is reproducible). */
export function rankByDad(epochs: readonly DadEpochRecord[], upToEpoch = Infinity): DadRank[] {
  return [...dynamicAverageDice(epochs, upToEpoch)]
    .sort(([ia, a], [ib, b]) => a.dad - b.dad || (ia < ib ? -1 : ia > ib ? 1 : 0))
    .map(([id, v], rank) => ({ id, dad: v.dad, epochsScored: v.epochsScored, rank }));
}

/**
 * Moving distance of the DAD ranking: for each epoch t > first, the mean over cases ranked at
 * both t-1 and t of |rank_t - rank_{t-1}|, divided by the number of such cases (0 = the ranking did
 * not move; a settled ranking stays near 0). Entry t-1 of the result belongs to epoch t.
 */
export function movingDistance(epochs: readonly DadEpochRecord[]): { epoch: number; distance: number }[] {
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch);
  const out: { epoch: number; distance: number }[] = [];
  let prev: Map<string, number> | null = null;
  for (const e of sorted) {
    const ranks = new Map(rankByDad(sorted, e.epoch).map((r) => [r.id, r.rank]));
    if (prev) {
      const common = [...ranks.keys()].filter((id) => prev?.has(id));
      const sum = common.reduce((s, id) => s + Math.abs((ranks.get(id) as number) - (prev?.get(id) as number)), 0);
      out.push({ epoch: e.epoch, distance: common.length ? sum / common.length / common.length : 0 });
    }
    prev = ranks;
  }
  return out;
}

/** The ceil(fraction * N) cases with the lowest (or highest) DAD. */
export function selectByDad(ranking: readonly DadRank[], fraction: number, end: 'lowest' | 'highest' = 'lowest'): DadRank[] {
  if (!(fraction > 0 && fraction < 1)) throw new SegloopError('INVALID_ARGUMENT', `The fraction to prune must be between 0 and 1 (exclusive), got ${fraction}.`);
  const n = Math.ceil(fraction * ranking.length - 1e-9);
  return end === 'lowest' ? ranking.slice(0, n) : ranking.slice(ranking.length - n).reverse();
}

export async function writeDadFile(file: string, data: DadFile): Promise<void> {
  await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(data)));
}

export async function readDadFile(file: string): Promise<DadFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new SegloopError('FILE_NOT_FOUND', `${file} does not exist: the run recorded no DAD scores (it was trained before DAD recording existed, or with recordDad off).`, { file });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SegloopError('PROJECT_CORRUPT', `${file} is not valid JSON.`, { file });
  }
  const parsed = DadFile.safeParse(json);
  if (!parsed.success) throw new SegloopError('PROJECT_CORRUPT', `${file} is not a DAD record (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`, { file });
  return parsed.data;
}
