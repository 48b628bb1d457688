// The ML path end to end on real hippocampus cases, with a tiny 2D U-Net so the whole file runs
// in about a minute on 2 cores: segloop's training job in a worker process -> model row +
// weights; SIGKILL of the worker mid-epoch -> failed run, no model row, --resume continues
// from the last checkpoint; cancel; stale runs of a killed parent are reaped; prediction with
// TTA files label + uncertainty maps in the image's geometry.
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../main/core/imaging/nifti';
import { predictInProject } from '../../main/core/jobs/predict-job';
import { reapInterruptedRuns, runDirOf, trainInProject } from '../../main/core/jobs/train-job';
import { ProjectStore, sha256File } from '../../main/core/project';
import type { TaskEvent } from '../../main/core/worker/protocol';

const DEMO = path.resolve('resources/demo');
const IDS = ['014', '070', '098', '104', '180'];
const TINY = { model: { depth: 3, baseWidth: 4 }, batchSize: 4, stepsPerEpoch: 4, valFraction: 0.2, patchSize: [48, 64] };

let dir: string;
let store: ProjectStore;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-train-e2e-'));
  store = await ProjectStore.create(dir, { name: 'train-e2e' });
  store.labelSchema.set([
    { idx: 0, name: 'background', colour: '#000000' },
    { idx: 1, name: 'anterior', colour: '#ff0000' },
    { idx: 2, name: 'posterior', colour: '#0000ff' },
  ]);
  for (const id of IDS) {
    const file = path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`);
    const img = await readNifti(file);
    const { row } = await store.addImageFile({
      sourcePath: file, patientExternalId: `patient-${id}`, shape: [...img.shape], spacing: [...img.spacing],
      affine: img.affine.map((r) => [...r]), dtype: img.diskDtype, modality: 'MR',
    });
    const bytes = new Uint8Array(await fs.readFile(path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`)));
    await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'test', bytes });
  }
});

afterAll(async () => {
  store?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

// Whole trainings in a worker process: on a 2-core machine shared with other work (load 20-30 seen)
// one test can take several minutes; the global 120 s limit is for ordinary tests.
describe('training job (worker process)', { timeout: 480_000 }, () => {
  it('trains a tiny model end to end: completed run, model row with per-class metrics, weights file, flat tensor memory', async () => {
    const events: TaskEvent[] = [];
    const out = await trainInProject(store, { epochs: 3, config: TINY, onEvent: (e) => events.push(e) });
    expect(out.run.status).toBe('completed');
    expect(out.run.backend).toMatch(/wasm|cpu|tensorflow/);
    expect(out.run.dataSnapshot.labelVersionIds).toHaveLength(IDS.length);
    expect(out.run.log).toMatch(/epoch 3: loss/);
    const model = out.model;
    expect(model).not.toBeNull();
    if (!model) return;
    expect(model.status).toBe('candidate');
    expect(model.trainingRunId).toBe(out.run.id);
    expect(Object.keys(model.metrics?.valDice as object)).toEqual(['anterior', 'posterior']);
    const weights = await store.resolve(model.weightsPath as string);
    expect(await sha256File(weights)).toBe(model.weightsSha256);
    // progress with ETA, epoch metrics and checkpoints were streamed
    expect(events.some((e) => e.type === 'progress' && e.etaSeconds !== null)).toBe(true);
    const epochs = events.filter((e): e is Extract<TaskEvent, { type: 'epoch' }> => e.type === 'epoch').map((e) => e.metrics);
    expect(epochs.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(3);
    // Adam's moments appear during epoch 1; after that the tensor count and bytes must not move.
    expect(epochs[2].numTensors).toBe(epochs[1].numTensors);
    expect(epochs[2].numBytes).toBe(epochs[1].numBytes);
    await expect(store.checkIntegrity().then((r) => r.ok)).resolves.toBe(true);
  });

  it('predicts with TTA into the project: uint8 labels + float32 uncertainty in the image geometry, scores recorded', async () => {
    const img = store.images.list()[0];
    const out = await predictInProject(store, { imageIds: [img.id], tta: true, postprocess: 'lcc' });
    expect(out.predictions).toHaveLength(1);
    const p = out.predictions[0];
    expect(p.tta).toBe(true);
    expect(p.scores).toMatchObject({ members: 4, meanEntropy: expect.any(Number), meanTtaVariance: expect.any(Number) });
    const [lab, unc, src] = await Promise.all([
      readNifti(await store.resolve(p.path)),
      readNifti(await store.resolve(p.uncertaintyPath as string)),
      readNifti(await store.resolve(img.path)),
    ]);
    expect(lab.diskDtype).toBe('uint8');
    expect(unc.diskDtype).toBe('float32');
    for (const v of [lab, unc]) {
      expect(v.shape).toEqual(src.shape);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(v.affine[r][c]).toBeCloseTo(src.affine[r][c], 5);
    }
    expect(Math.max(...lab.data)).toBeLessThanOrEqual(2);
  });

  it('SIGKILL of the worker mid-epoch: failed run, no model row; --resume continues from the last checkpoint', async () => {
    const modelsBefore = store.models.count();
    let pid = 0;
    let checkpoints = 0;
    let killed = false;
    const first = trainInProject(store, {
      epochs: 3,
      config: { ...TINY, stepsPerEpoch: 6, seed: 77 },
      onWorkerReady: (p) => (pid = p),
      onEvent: (e) => {
        if (e.type === 'checkpoint') checkpoints++;
        // mid-epoch 2: after epoch 1's checkpoint, at a progress report inside the next epoch
        if (!killed && checkpoints === 1 && e.type === 'progress' && /epoch 2\/3 step [1-5]\//.test(e.message)) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'WORKER_CRASHED', message: expect.stringMatching(/SIGKILL/) });
    expect(killed).toBe(true);
    const failed = store.trainingRuns.list().at(-1);
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatch(/--resume/);
    expect(store.models.count()).toBe(modelsBefore);
    expect(existsSync(path.join(runDirOf(store, failed?.id ?? 0), 'checkpoint', 'latest.json'))).toBe(true);

    const resumed = await trainInProject(store, { resume: true });
    expect(resumed.run.status).toBe('completed');
    expect(resumed.run.config.resumedFromRun).toBe(failed?.id);
    expect(resumed.result.resumedFromEpoch).toBe(1);
    expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(resumed.run.dataSnapshot.labelVersionIds).toEqual(failed?.dataSnapshot.labelVersionIds);
    expect(store.models.count()).toBe(modelsBefore + 1);
    expect(resumed.model?.trainingRunId).toBe(resumed.run.id);
    // the failed run has no model; nothing to resume any more
    expect(store.models.list().filter((m) => m.trainingRunId === failed?.id)).toHaveLength(0);
    await expect(trainInProject(store, { resume: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('cancel stops at the next step, keeps a checkpoint and records a cancelled run without a model', async () => {
    const modelsBefore = store.models.count();
    const ac = new AbortController();
    const out = await trainInProject(store, {
      epochs: 50,
      config: { ...TINY, stepsPerEpoch: 40 },
      signal: ac.signal,
      onEvent: (e) => {
        // inside epoch 2, so the cancel checkpoint lands mid-epoch
        if (e.type === 'progress' && /epoch 2\/50 step/.test(e.message)) ac.abort();
      },
    });
    expect(out.run.status).toBe('cancelled');
    expect(out.model).toBeNull();
    expect(out.result.stopReason).toBe('cancelled');
    expect(store.models.count()).toBe(modelsBefore);
    expect(existsSync(path.join(runDirOf(store, out.run.id), 'checkpoint', 'latest.json'))).toBe(true);
    // The cancel checkpoint is mid-epoch: resuming replays that epoch's first batches and goes on.
    const ckpt = JSON.parse(await fs.readFile(path.join(runDirOf(store, out.run.id), 'checkpoint', 'latest.json'), 'utf8')) as { epoch: number; stepInEpoch: number };
    expect(ckpt.epoch).toBe(1);
    expect(ckpt.stepInEpoch).toBeGreaterThan(0);
    const resumed = await trainInProject(store, { resume: true, epochs: 2 });
    expect(resumed.run.status).toBe('completed');
    expect(resumed.result.resumedFromEpoch).toBe(1);
    expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(resumed.result.history[1].steps).toBe(40 - ckpt.stepInEpoch);
  });

  it('marks a run left "running" by a killed parent process as failed (interrupted)', async () => {
    const run = store.trainingRuns.create({ config: {}, dataSnapshot: { labelVersionIds: [] } });
    store.trainingRuns.markRunning(run.id, 'wasm');
    // a pid that existed and is gone
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    await fs.mkdir(runDirOf(store, run.id), { recursive: true });
    await fs.writeFile(path.join(runDirOf(store, run.id), 'owner.json'), JSON.stringify({ pid: deadPid }));
    expect(await reapInterruptedRuns(store)).toEqual([run.id]);
    expect(store.trainingRuns.require(run.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/Interrupted/) });
  });

  it('refuses to train a project without labels', async () => {
    const empty = await ProjectStore.create(path.join(dir, 'empty'), { name: 'empty' });
    try {
      await expect(trainInProject(empty, { epochs: 1 })).rejects.toMatchObject({ code: 'NO_TRAINING_DATA' });
    } finally {
      empty.close();
    }
  });
});
