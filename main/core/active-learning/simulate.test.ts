// The simulation on a small real pool: the 5 labelled demo cases (4 in the pool, 1 as the test
// set), 2 initial + 1 per round, 2 rounds, strategies random and entropy, a tiny 2D U-Net trained
// 2 steps per round in the worker. Checks the protocol (same initial set and round-0 model for
// every strategy, picks never labelled, the labelled set grows by the picks), resumability (a
// cancelled run continues from its files without retraining) and determinism under the seed (a
// fresh run in another folder gives the same picks and the same test Dice).
import { existsSync, promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainerConfigInput } from '../ml/trainer';
import { initialSet, runSimulation, type RoundRecord, type SimCase, type SimulationOptions } from './simulate';

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const IDS = ['014', '070', '098', '104', '180'];
const cases: SimCase[] = IDS.map((id) => ({
  id: `hippocampus_${id}`,
  patientId: id,
  imagePath: path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`),
  labelPath: path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`),
}));
const trainer: TrainerConfigInput = { architecture: 'unet2d', numClasses: 3, patchSize: [32, 32], batchSize: 2, stepsPerEpoch: 2, model: { depth: 2, baseWidth: 4 }, targetSpacing: [1, 1, 1] };
const dirs: string[] = [];

async function options(extra: Partial<SimulationOptions> = {}): Promise<SimulationOptions> {
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-sim-'));
  dirs.push(outDir);
  return { pool: cases.slice(0, 4), test: cases.slice(4), strategies: ['random', 'entropy'], initial: 2, step: 1, rounds: 2, seeds: 1, trainer, stepsPerRound: 2, minutesPerRound: null, outDir, ...extra };
}

const key = (r: RoundRecord): string => `${r.strategy}/${r.round}`;
const stable = (rs: RoundRecord[]): unknown => rs.map((r) => ({ k: key(r), labelled: r.labelledIds, picks: r.picks, dice: r.testDice, fg: r.labelledForegroundVoxels, steps: r.trainSteps })).sort((a, b) => a.k.localeCompare(b.k));

afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('runSimulation on a small pool', { timeout: 900_000 }, () => {
  let first: RoundRecord[] = [];

  it('refuses a budget beyond the pool and a test image inside the pool, before any training', async () => {
    await expect(runSimulation(await options({ rounds: 4 }))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDS_POOL' });
    await expect(runSimulation(await options({ test: [cases[0]] }))).rejects.toMatchObject({ code: 'SPLIT_LEAKAGE' });
    await expect(runSimulation(await options({ strategies: ['random', 'nope'] }))).rejects.toMatchObject({ code: 'UNKNOWN_STRATEGY' });
  });

  it('is resumable: a cancel after the shared round-0 model, then the same call finishes without retraining it', async () => {
    const o = await options();
    const ac = new AbortController();
    const lines: string[] = [];
    await expect(
      runSimulation({
        ...o,
        signal: ac.signal,
        onProgress: (l) => {
          lines.push(l);
          if (/test mean Dice/.test(l)) ac.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    const r0 = path.join(o.outDir, 'models', 'seed1-r0', 'model.json');
    expect(existsSync(r0)).toBe(true);
    const mtime = statSync(r0).mtimeMs;
    expect(lines.some((l) => /^\[0\/3\]/.test(l))).toBe(true);

    first = await runSimulation(o);
    expect(statSync(r0).mtimeMs).toBe(mtime); // round 0 was not trained again
    expect(first.map(key).sort()).toEqual(['entropy/0', 'entropy/1', 'random/0', 'random/1']);

    const init = initialSet(cases.slice(0, 4).map((c) => c.id), 2, 1);
    for (const s of ['random', 'entropy']) {
      const r0rec = first.find((r) => key(r) === `${s}/0`)!;
      const r1rec = first.find((r) => key(r) === `${s}/1`)!;
      // Same initial set and the same round-0 model (hence Dice) for every strategy.
      expect(r0rec.labelledIds).toEqual(init);
      expect(r0rec.modelKey).toBe('seed1-r0');
      expect(r0rec.testDice).toEqual(first.find((r) => key(r) === 'random/0')!.testDice);
      expect(r0rec.picks).toHaveLength(1);
      // The next round's labelled set = this round's + its pick, never the test case.
      expect(r1rec.labelledIds).toHaveLength(3);
      expect(r1rec.labelledIds.slice(0, 2)).toEqual(init);
      expect(init).not.toContain(r1rec.labelledIds[2]);
      expect(r1rec.labelledIds).not.toContain(cases[4].id);
      expect(r1rec.picks).toEqual([]); // the last round selects nothing
      expect(Object.keys(r1rec.testDice)).toEqual([cases[4].id]);
      for (const d of r1rec.meanDicePerClass) if (d !== null) expect(d).toBeGreaterThanOrEqual(0);
    }
    expect(first.find((r) => key(r) === 'entropy/0')!.picks[0].reason).toMatch(/entropy/i);
    // A second call on a finished folder trains nothing and returns the same records.
    expect(stable(await runSimulation(o))).toEqual(stable(first));
  });

  it('is deterministic under the seed: a fresh run elsewhere gives the same picks and test Dice', async () => {
    expect(first.length).toBe(4);
    const again = await runSimulation(await options());
    expect(stable(again)).toEqual(stable(first));
  });

  it('--warm-start: round 1 starts from the round-0 weights (logged by the trainer), and changes the result against training from scratch', async () => {
    const o = await options({ strategies: ['random'], warmStart: true });
    const logs: string[] = [];
    const warm = await runSimulation({ ...o, onEvent: (e) => (e.type === 'log' ? logs.push(e.message) : undefined) });
    expect(logs.filter((l) => /warm start from .*seed1-r0/.test(l))).toHaveLength(1);
    const cold = await runSimulation(await options({ strategies: ['random'] }));
    const r1 = (rs: RoundRecord[]) => rs.find((r) => r.round === 1)!;
    // same labelled set (same seed, same picks from the same round-0 model), different starting weights
    expect(r1(warm).labelledIds).toEqual(r1(cold).labelledIds);
    expect(r1(warm).testDice).not.toEqual(r1(cold).testDice);
    // a resumed folder keeps its mode: the settings record says warm start
    expect(JSON.parse(await fs.readFile(path.join(o.outDir, 'settings.json'), 'utf8')).warmStart).toBe(true);
  });
});
