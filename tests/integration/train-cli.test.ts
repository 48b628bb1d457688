// The `segloop train | predict | evaluate` commands as a user runs them: a tiny model on the
// bundled demo cases; the CLI process killed with SIGKILL mid-run then `--resume`; the Dice that
// `evaluate` prints checked against nibabel/numpy on the prediction `predict` stored.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../main/core/project';
import { copyLabelledDemoCases, DEMO } from './helpers/demo-labelled';

const run = promisify(execFile);
const CLI = path.resolve('bin/segloop.mjs');
const PY = '/usr/bin/python3';
const TINY = ['--width', '4', '--depth', '3', '--steps-per-epoch', '3', '--batch-size', '4'];

let dir: string;

async function cli(args: string[]): Promise<{ json: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--json'], { maxBuffer: 1 << 24 });
  return { json: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-train-cli-'));
  const { images: imgs, labels: labs } = await copyLabelledDemoCases(dir);
  await run(process.execPath, [CLI, 'init', path.join(dir, 'p')]);
  await run(process.execPath, [CLI, 'import', path.join(dir, 'p'), '--images', imgs, '--labels', labs, '--schema', path.join(DEMO, 'label-schema.json')]);
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

// Whole trainings through the CLI: on a 2-core machine shared with other work (load 20-30 seen) one
// test can take several minutes; the global 120 s limit is for ordinary tests.
describe('segloop train / predict / evaluate', { timeout: 480_000 }, () => {
  it('rejects bad flags with a clear error', async () => {
    await expect(cli(['train', path.join(dir, 'p'), '--epochs', 'zero'])).rejects.toMatchObject({ stdout: expect.stringMatching(/--epochs must be a positive integer/) });
    await expect(cli(['train', path.join(dir, 'p'), '--resume', '--arch', 'unet3d'])).rejects.toMatchObject({ stdout: expect.stringMatching(/--resume/) });
    await expect(cli(['train', path.join(dir, 'p'), '--arch', 'vnet', '--epochs', '1'])).rejects.toMatchObject({ stdout: expect.stringMatching(/Unknown model architecture/) });
  });

  it('survives SIGKILL of the whole `segloop train` process mid-run: the run is marked interrupted and --resume finishes it', async () => {
    const p = path.join(dir, 'p');
    const child = spawn(process.execPath, [CLI, 'train', p, '--epochs', '40', ...TINY], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    // Kill the CLI and its worker (one process group) once the first epoch's checkpoint exists.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        // The end-of-epoch line is always printed (step lines are throttled by time, so a quiet machine may skip them).
        if (/epoch 2\/40: loss/.test(err)) {
          process.kill(-(child.pid as number), 'SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`train exited before it could be killed:\n${err}`)));
    });
    await new Promise((r) => child.on('exit', r));
    const store = await ProjectStore.open(p);
    const before = store.trainingRuns.list().at(-1);
    store.close();
    expect(before?.status).toBe('running'); // nobody was left to record the end
    const { json, stderr } = await cli(['train', p, '--resume', '--epochs', '2']);
    expect(stderr).toMatch(/resumed from/);
    expect(json).toMatchObject({ status: 'completed', model: { id: expect.any(Number) }, epochs: 2 });
    const after = await ProjectStore.open(p);
    try {
      expect(after.trainingRuns.require(before?.id as number)).toMatchObject({ status: 'failed', error: expect.stringMatching(/Interrupted/) });
      expect(after.models.list().map((m) => m.trainingRunId)).toEqual([json.runId]);
    } finally {
      after.close();
    }
  });

  it.skipIf(!existsSync(PY))('evaluate prints the same per-class Dice as nibabel/numpy on the stored prediction (python3 required)', async () => {
    const p = path.join(dir, 'p');
    const store = await ProjectStore.open(p);
    const img = store.images.list()[0];
    const model = store.models.list()[0];
    const imgPath = await store.resolve(img.path);
    const labelPath = await store.resolve(store.labelVersions.latestForImage(img.id)?.path as string);
    store.close();
    const pred = await cli(['predict', p, '--images', String(img.id), '--model', String(model.id)]);
    const predPath = path.join(p, (pred.json.predictions as { path: string }[])[0].path);
    const one = path.join(dir, 'one');
    await fs.mkdir(path.join(one, 'images'), { recursive: true });
    await fs.mkdir(path.join(one, 'labels'), { recursive: true });
    await fs.copyFile(imgPath, path.join(one, 'images', 'case.nii.gz'));
    await fs.copyFile(labelPath, path.join(one, 'labels', 'case.nii.gz'));
    const ev = await cli(['evaluate', p, '--model', String(model.id), '--images', path.join(one, 'images'), '--labels', path.join(one, 'labels')]);
    const ref = JSON.parse(execFileSync(PY, ['tests/integration/ref/predict_dice.py', predPath, labelPath, '3']).toString()) as number[];
    const c = (ev.json.cases as { id: string; dice: Record<string, number> }[])[0];
    expect(c.id).toBe('case');
    expect(Object.values(c.dice)).toHaveLength(2);
    Object.values(c.dice).forEach((d, i) => expect(d).toBeCloseTo(ref[i], 10));
    expect((ev.json.overall as { meanDice: number }).meanDice).toBeCloseTo((ref[0] + ref[1]) / 2, 10);
    await expect(cli(['evaluate', p, '--model', String(model.id), '--images', path.join(one, 'images'), '--labels', path.join(dir, 'nowhere')])).rejects.toMatchObject({
      stdout: expect.stringMatching(/FILE_NOT_FOUND/),
    });
  });
});
