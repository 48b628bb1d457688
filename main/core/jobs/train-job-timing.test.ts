// A run's step timing from its run folder into the project, and back out as the plan's
// measurements of this machine: once per run and epoch, a bad file never fails the training.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectStore } from '../project';
import { machineId } from '../ml/plan';
import { STEP_TIMING_FILE, StepTiming } from '../ml/trainer-callbacks';
import { defaultArchitecture, measuredSteps, recordStepTiming, runDirOf } from './train-job';

const FIXTURE = path.resolve(__dirname, '../../../tests/fixtures/step-timings/hippocampus-unet3d-native.json');

describe('step timings of training runs', () => {
  it('files runs/<id>/step-timing.json once; the plan reads this machine\'s timings only', async () => {
    const store = await ProjectStore.create(mkdtempSync(path.join(os.tmpdir(), 'segloop-timing-')), { name: 't' });
    try {
      const run = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
      const dir = runDirOf(store, run.id);
      mkdirSync(dir, { recursive: true });
      expect(recordStepTiming(store, run.id, dir)).toBeNull(); // nothing measured yet
      const fixture = StepTiming.parse((JSON.parse(readFileSync(FIXTURE, 'utf8')) as { timing: unknown }).timing);
      const here = { ...fixture, machine: machineId() };
      writeFileSync(path.join(dir, STEP_TIMING_FILE), JSON.stringify(here));
      const row = recordStepTiming(store, run.id, dir);
      expect(row).toMatchObject({ ...here, trainingRunId: run.id });
      expect(recordStepTiming(store, run.id, dir)).toBeNull(); // already recorded: not twice
      expect(store.trainingRuns.stepTimings(run.id)).toHaveLength(1);

      // Another machine's record stays in the project but is not "measured on this machine".
      const other = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
      store.trainingRuns.recordStepTiming(other.id, { ...here, machine: `${here.machine} (another computer)` });
      expect(measuredSteps(store)).toEqual([
        {
          runId: run.id, dims: here.dims, patchSize: here.patchSize, batchSize: here.batchSize, baseWidth: here.baseWidth, depth: here.depth, threads: here.threads,
          backend: here.backend, nativeConv: here.nativeConv, medianStepSeconds: here.medianStepSeconds, meanStepSeconds: here.meanStepSeconds, steps: here.steps,
          loadAverage: here.loadAverage, cores: here.cores,
        },
      ]);

      // A truncated or foreign file is ignored (the training goes on), and nothing is recorded.
      const third = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
      const d3 = runDirOf(store, third.id);
      mkdirSync(d3, { recursive: true });
      writeFileSync(path.join(d3, STEP_TIMING_FILE), JSON.stringify(here).slice(0, 40));
      expect(recordStepTiming(store, third.id, d3)).toBeNull();
      writeFileSync(path.join(d3, STEP_TIMING_FILE), JSON.stringify({ ...here, medianStepSeconds: -1 }));
      expect(recordStepTiming(store, third.id, d3)).toBeNull();
      expect(store.trainingRuns.stepTimings(third.id)).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('the default architecture is the plan\'s, unless the given patch has the other number of axes', () => {
    const plan3d = { architecture: 'unet3d' } as Parameters<typeof defaultArchitecture>[0];
    expect(defaultArchitecture(plan3d, undefined)).toBe('unet3d');
    expect(defaultArchitecture(plan3d, [48, 64])).toBe('unet2d');
    expect(defaultArchitecture({ ...plan3d, architecture: 'unet2d' }, [40, 56, 40])).toBe('unet3d');
  });
});
