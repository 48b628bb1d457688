// Active-learning simulation with oracle labels (issue 12): replays rounds of "train -> score the
// unlabelled pool -> select -> reveal those labels" for several strategies and seeds, on a fully
// labelled pool, and measures every model on a fixed test set that is never used for
// selection, training or early stopping (the trainer runs with no validation split and keeps
// its last weights). Fairness: per seed every strategy starts from the SAME initial set and the
// SAME round-0 model (trained once, shared), and every training uses the same schedule,
// augmentation and seed; strategies differ only in which images they add.
//
// Order is round-major (round r of every seed and strategy before round r+1), so a run stopped
// early still compares all strategies at the rounds it finished. Resumable: every finished
// unit (training, evaluation + scoring) is a file in `outDir`; a restarted run skips them.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { writeFileAtomic } from '../project/files';
import { createRng } from '../ml/data/prng';
import type { TrainerConfigInput, TrainResult } from '../ml/trainer';
import type { TaskEvent } from '../worker/protocol';
import { runWorkerTask, type WorkerLauncher } from '../worker/worker-host';
import { AL_SCORE_TASK, type AlScoreParams, type AlScoreResult } from './score-task';
import { getStrategy, selectFromPool, strategyNeeds, type CandidateImage, type Pick } from './strategies';
import type { ScoreKey } from './scoring';

export interface SimCase {
  id: string;
  patientId: string;
  imagePath: string;
  labelPath: string;
}

export interface SimulationOptions {
  pool: SimCase[];
  test: SimCase[];
  strategies: string[];
  strategyParams?: Record<string, Record<string, unknown>>;
  initial: number;
  step: number;
  /** Training rounds including the initial one: labelled sizes initial, initial+step, ... */
  rounds: number;
  seeds: number;
  /** Trainer settings (2D U-Net, patch, batch...); steps come from stepsPerRound. */
  trainer: TrainerConfigInput;
  stepsPerRound: number | null;
  minutesPerRound: number | null;
  /** Rounds after the first start from the previous round's weights (same seed and strategy), with a fresh optimiser and schedule. */
  warmStart?: boolean;
  outDir: string;
  /** Run only these seeds (several processes may share one outDir, one seed each). */
  onlySeeds?: number[];
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  onEvent?: (e: TaskEvent) => void;
  launcher?: WorkerLauncher;
  entry?: string;
}

export interface RoundRecord {
  seed: number;
  strategy: string;
  round: number;
  labelledIds: string[];
  labelledForegroundVoxels: number;
  /** Per test case: Dice per foreground class (index 0 = class 1). */
  testDice: Record<string, (number | null)[]>;
  meanDicePerClass: (number | null)[];
  meanDice: number | null;
  trainSteps: number;
  trainSeconds: number;
  wallSeconds: number;
  /** Picks that produced the NEXT round's labelled set (empty in the last round). */
  picks: Pick[];
  modelKey: string;
}

interface ModelRecord {
  key: string;
  weightsFile: string;
  weightsSha256: string;
  meta: unknown;
  steps: number;
  trainSeconds: number;
  wallSeconds: number;
}

interface EvalRecord {
  testDice: Record<string, (number | null)[]>;
  pool: CandidateImage[];
  seconds: number;
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(v, null, 1)}\n`);

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function mean(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** The initial labelled set of a seed: the same for every strategy. */
export function initialSet(poolIds: readonly string[], n: number, seed: number): string[] {
  const ids = [...poolIds].sort();
  const rng = createRng(0x51a1 + seed * 7919);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids.slice(0, n);
}

export function validateSimulation(o: SimulationOptions): void {
  for (const s of o.strategies) getStrategy(s);
  if (o.initial < 1 || o.step < 1 || o.rounds < 1 || o.seeds < 1) throw new SegloopError('INVALID_ARGUMENT', 'initial, step, rounds and seeds must be positive.');
  const needed = o.initial + o.step * (o.rounds - 1);
  if (needed > o.pool.length) throw new SegloopError('BUDGET_EXCEEDS_POOL', `${o.rounds} rounds need ${needed} pool images; the pool has ${o.pool.length}.`);
  if (!o.test.length) throw new SegloopError('INVALID_ARGUMENT', 'The simulation needs a test set (--test-images/--test-labels).');
  const poolIds = new Set(o.pool.map((c) => c.id));
  const poolFiles = new Set(o.pool.map((c) => path.resolve(c.imagePath)));
  for (const t of o.test) {
    if (poolIds.has(t.id) || poolFiles.has(path.resolve(t.imagePath))) throw new SegloopError('SPLIT_LEAKAGE', `Test image ${t.id} is also in the pool.`);
  }
  if (o.stepsPerRound == null && o.minutesPerRound == null) throw new SegloopError('INVALID_ARGUMENT', 'Give --steps-per-round or --minutes-per-round.');
}

export async function runSimulation(o: SimulationOptions): Promise<RoundRecord[]> {
  validateSimulation(o);
  await fs.mkdir(o.outDir, { recursive: true });
  const settings = { strategies: o.strategies, strategyParams: o.strategyParams ?? {}, initial: o.initial, step: o.step, rounds: o.rounds, seeds: o.seeds, trainer: o.trainer, stepsPerRound: o.stepsPerRound, minutesPerRound: o.minutesPerRound, ...(o.warmStart ? { warmStart: true } : {}), pool: o.pool.map((c) => c.id), test: o.test.map((c) => c.id) };
  const settingsFile = path.join(o.outDir, 'settings.json');
  const prev = await readJson<typeof settings>(settingsFile);
  if (prev && JSON.stringify(prev) !== JSON.stringify(JSON.parse(JSON.stringify(settings)))) {
    throw new SegloopError('INVALID_ARGUMENT', `${o.outDir} holds a simulation with other settings: use another --out folder (nothing was changed).`);
  }
  if (!prev) await writeFileAtomic(settingsFile, json(settings));

  const byId = new Map(o.pool.map((c) => [c.id, c]));
  const labelVoxels = new Map<string, number>();
  const worker = (task: string, params: unknown): Promise<unknown> => runWorkerTask(task, params, { launcher: o.launcher, entry: o.entry, signal: o.signal, onEvent: o.onEvent, cancelGraceMs: 60_000 });
  const t0 = Date.now();
  const totalUnits = (o.onlySeeds?.length ?? o.seeds) * (1 + o.strategies.length * (o.rounds - 1));
  let doneUnits = 0;
  let freshUnits = 0;
  let freshSeconds = 0;
  const progress = (what: string): void => {
    const left = totalUnits - doneUnits;
    const eta = freshUnits ? (freshSeconds / freshUnits) * left : null;
    o.onProgress?.(`[${doneUnits}/${totalUnits}] ${what}${eta !== null ? `  ETA ${Math.round(eta / 60)} min` : ''}  (elapsed ${Math.round((Date.now() - t0) / 60000)} min)`);
  };

  const train = async (key: string, labelled: readonly string[], seed: number, init: ModelRecord | null = null): Promise<ModelRecord> => {
    const dir = path.join(o.outDir, 'models', key);
    const doneFile = path.join(dir, 'model.json');
    const done = await readJson<ModelRecord>(doneFile);
    if (done && existsSync(done.weightsFile)) return done;
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir, { recursive: true });
    const spe = o.trainer.stepsPerEpoch ?? 50;
    const config: TrainerConfigInput = {
      ...o.trainer,
      seed: 1000 + seed,
      valFraction: 0,
      epochs: o.stepsPerRound != null ? Math.max(1, Math.ceil(o.stepsPerRound / spe)) : null,
      stepsPerEpoch: o.stepsPerRound != null ? Math.min(spe, o.stepsPerRound) : spe,
      minutes: o.stepsPerRound != null ? null : o.minutesPerRound,
      earlyStoppingPatience: null,
      recordDad: false,
      checkpointEveryMinutes: 60,
    };
    const cases = labelled.map((id) => {
      const c = byId.get(id) as SimCase;
      return { id: c.id, patientId: c.patientId, imagePath: c.imagePath, labelPath: c.labelPath, labelledClasses: null, fixedSplit: 'train' as const };
    });
    const s0 = Date.now();
    const initWeights = init ? { path: init.weightsFile, sha256: init.weightsSha256, weightSpecs: (init.meta as { weightSpecs: unknown[] }).weightSpecs } : null;
    const r = (await worker('train', { runDir: dir, cases, config, resumeFrom: null, initWeights })) as TrainResult;
    const rec: ModelRecord = { key, weightsFile: r.weightsFile, weightsSha256: r.weightsSha256, meta: r.meta, steps: r.steps, trainSeconds: r.trainSeconds, wallSeconds: (Date.now() - s0) / 1000 };
    await writeFileAtomic(doneFile, json(rec));
    return rec;
  };

  const evaluate = async (key: string, m: ModelRecord, unlabelled: readonly string[], scores: ScoreKey[], foreground: boolean, features: boolean): Promise<EvalRecord> => {
    const file = path.join(o.outDir, 'models', key, 'eval.json');
    const done = await readJson<EvalRecord>(file);
    if (done) return done;
    const s0 = Date.now();
    const params: AlScoreParams = {
      models: [{ meta: m.meta, weightsPath: m.weightsFile, weightsSha256: m.weightsSha256 }],
      cases: [
        ...o.test.map((c) => ({ id: `test:${c.id}`, imagePath: c.imagePath, labelPath: c.labelPath })),
        ...(scores.length || foreground || features ? unlabelled.map((id) => ({ id: `pool:${id}`, imagePath: (byId.get(id) as SimCase).imagePath, labelPath: null })) : []),
      ],
      scores,
      features,
    };
    const r = (await worker(AL_SCORE_TASK, params)) as AlScoreResult;
    const testDice: Record<string, (number | null)[]> = {};
    const pool: CandidateImage[] = [];
    for (const c of r.cases) {
      if (c.id.startsWith('test:')) testDice[c.id.slice(5)] = c.dice ?? [];
      else pool.push({ imageId: poolIndex.get(c.id.slice(5)) as number, scores: c.scores, foregroundVoxelsPerClass: c.foregroundVoxelsPerClass, features: c.features ?? undefined });
    }
    const rec: EvalRecord = { testDice, pool, seconds: (Date.now() - s0) / 1000 };
    await writeFileAtomic(file, json(rec));
    return rec;
  };

  // Strategies select over numeric ids: the pool's index in sorted order.
  const sortedPool = o.pool.map((c) => c.id).sort();
  const poolIndex = new Map(sortedPool.map((id, i) => [id, i]));
  const foregroundOf = async (id: string): Promise<number> => {
    const hit = labelVoxels.get(id);
    if (hit !== undefined) return hit;
    const { readNifti } = await import('../imaging/nifti');
    const v = await readNifti((byId.get(id) as SimCase).labelPath);
    let n = 0;
    for (let i = 0; i < v.data.length; i++) if (v.data[i] > 0) n++;
    labelVoxels.set(id, n);
    return n;
  };

  const records: RoundRecord[] = [];
  const state = new Map<string, string[]>(); // `${seed}/${strategy}` -> labelled ids of the current round
  const unionNeeds = (): { scores: ScoreKey[]; foreground: boolean; features: boolean } => {
    const n = o.strategies.map((s) => strategyNeeds(s, o.strategyParams?.[s] ?? {}));
    return { scores: [...new Set(n.flatMap((x) => x.scores))], foreground: n.some((x) => x.foreground), features: n.some((x) => x.features) };
  };

  for (let round = 0; round < o.rounds; round++) {
    for (let seed = 1; seed <= o.seeds; seed++) {
      if (o.onlySeeds && !o.onlySeeds.includes(seed)) continue;
      for (const [si, strategy] of o.strategies.entries()) {
        if (o.signal?.aborted) throw new SegloopError('JOB_CANCELLED', 'Simulation cancelled; run the same command again to continue.');
        const recFile = path.join(o.outDir, 'rounds', `seed${seed}-${strategy}-r${round}.json`);
        const have = await readJson<RoundRecord>(recFile);
        if (have) {
          records.push(have);
          state.set(`${seed}/${strategy}`, [...have.labelledIds, ...have.picks.map((p) => sortedPool[p.imageId])]);
          if (round > 0 || si === 0) doneUnits++;
          continue;
        }
        const u0 = Date.now();
        const labelled = round === 0 ? initialSet(sortedPool, o.initial, seed) : (state.get(`${seed}/${strategy}`) as string[]);
        const key = round === 0 ? `seed${seed}-r0` : `seed${seed}-${strategy}-r${round}`;
        const last = round === o.rounds - 1;
        const labelledSet = new Set(labelled);
        const unlabelled = sortedPool.filter((id) => !labelledSet.has(id));
        const needs = last ? { scores: [], foreground: false, features: false } : round === 0 ? unionNeeds() : strategyNeeds(strategy, o.strategyParams?.[strategy] ?? {});
        progress(`round ${round} seed ${seed} ${round === 0 ? '(shared initial model)' : strategy}: training on ${labelled.length}`);
        // warm start: round r begins from round r-1's model of the same seed and strategy (round 0 from scratch)
        const prevKey = round === 0 ? null : round === 1 ? `seed${seed}-r0` : `seed${seed}-${strategy}-r${round - 1}`;
        const init = o.warmStart && prevKey ? await readJson<ModelRecord>(path.join(o.outDir, 'models', prevKey, 'model.json')) : null;
        if (o.warmStart && prevKey && !init) throw new SegloopError('INTERNAL_ERROR', `Warm start: the model of ${prevKey} is missing from ${o.outDir}.`);
        const m = await train(key, labelled, seed, init);
        progress(`round ${round} seed ${seed} ${round === 0 ? '(shared)' : strategy}: ${m.steps} steps in ${Math.round(m.trainSeconds)} s; evaluating${needs.scores.length || needs.foreground || needs.features ? ' + scoring the pool' : ''}`);
        const ev = await evaluate(key, m, unlabelled, needs.scores as ScoreKey[], needs.foreground, needs.features);
        const perClass = Object.values(ev.testDice);
        const K1 = perClass[0]?.length ?? 0;
        const meanPerClass = Array.from({ length: K1 }, (_, k) => mean(perClass.map((d) => d[k] ?? null)));
        let fgVox = 0;
        for (const id of labelled) fgVox += await foregroundOf(id);
        const strategiesHere = round === 0 ? o.strategies : [strategy];
        for (const st of strategiesHere) {
          const f = path.join(o.outDir, 'rounds', `seed${seed}-${st}-r${round}.json`);
          if (round === 0 && st !== strategy && existsSync(f)) continue;
          let picks: Pick[] = [];
          if (!last) {
            picks = selectFromPool({
              strategy: st,
              pool: ev.pool.length ? ev.pool : unlabelled.map((id) => ({ imageId: poolIndex.get(id) as number, scores: {} })),
              budget: o.step,
              seed: seed * 1009 + round,
              params: o.strategyParams?.[st] ?? {},
              labelledIds: labelled.map((id) => poolIndex.get(id) as number),
            });
          }
          const rec: RoundRecord = {
            seed,
            strategy: st,
            round,
            labelledIds: labelled,
            labelledForegroundVoxels: fgVox,
            testDice: ev.testDice,
            meanDicePerClass: meanPerClass,
            meanDice: mean(meanPerClass),
            trainSteps: m.steps,
            trainSeconds: m.trainSeconds,
            wallSeconds: (Date.now() - u0) / 1000,
            picks,
            modelKey: key,
          };
          await fs.mkdir(path.dirname(f), { recursive: true });
          await writeFileAtomic(f, json(rec));
          if (st === strategy) records.push(rec);
          else if (round === 0) {
            // recorded now, read back when the loop reaches this strategy
          }
          state.set(`${seed}/${st}`, [...labelled, ...picks.map((p) => sortedPool[p.imageId])]);
        }
        doneUnits++;
        freshUnits++;
        freshSeconds += (Date.now() - u0) / 1000;
        progress(`round ${round} seed ${seed} ${round === 0 ? '(shared)' : strategy}: test mean Dice ${records.at(-1)?.meanDice?.toFixed(4) ?? '-'}`);
      }
    }
  }
  return records;
}
