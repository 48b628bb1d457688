// Determinism as a user sees it: `segloop train <dir> --epochs 1 --seed 5` on two copies of one
// small project (the five labelled demo hippocampus cases), with the 3D U-Net the plan picks for
// isotropic data at a small width and patch, writes model weights with the same sha256 in both.
// And a misspelt `--config` key on a real project fails before anything is trained, naming the
// key and every allowed one (the same message on a nonexistent project: train-job-config.test.ts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING_CONFIG } from '../../shared/training-config';
import { ProjectStore } from '../../main/core/project';
import { copyLabelledDemoCases } from './helpers/demo-labelled';

const run = promisify(execFile);
const CLI = path.resolve('bin/segloop.mjs');
// The architecture the plan picks for the hippocampus set, small enough for CI.
const SMALL_3D = ['--arch', 'unet3d', '--width', '4', '--depth', '3', '--patch', '24,32,24', '--batch-size', '2', '--steps-per-epoch', '2'];

let dir: string;
let base: string;

async function cli(args: string[]): Promise<{ json: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--json'], { maxBuffer: 1 << 24 });
  return { json: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

async function copyProject(name: string): Promise<string> {
  const to = path.join(dir, name);
  await fs.cp(base, to, { recursive: true });
  return to;
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

/** The project's models: recorded sha256 and the weights file itself. */
async function modelsOf(p: string): Promise<{ weightsSha256: string | null; file: string }[]> {
  const store = await ProjectStore.open(p, { readOnly: true });
  try {
    return await Promise.all(store.models.list().map(async (m) => ({ weightsSha256: m.weightsSha256, file: await store.resolve(m.weightsPath as string) })));
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-train-determinism-'));
  const { images, labels, schema } = await copyLabelledDemoCases(dir);
  base = path.join(dir, 'base');
  await run(process.execPath, [CLI, 'init', base]);
  await run(process.execPath, [CLI, 'import', base, '--images', images, '--labels', labels, '--schema', schema]);
}, 300_000);

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

// Two whole trainings in worker processes on a loaded 2-core machine: generous limits, no timing asserted.
describe('segloop train determinism and config typos', { timeout: 900_000 }, () => {
  it('two `--epochs 1 --seed 5` runs on copies of one project write the same model weights (sha256)', async () => {
    const outs = [];
    for (const name of ['a', 'b']) {
      const p = await copyProject(name);
      const { json, stderr } = await cli(['train', p, '--epochs', '1', '--seed', '5', ...SMALL_3D]);
      expect(json).toMatchObject({ status: 'completed', epochs: 1, steps: 2, model: { weightsPath: expect.any(String) } });
      expect(stderr).toMatch(/backend: /);
      const models = await modelsOf(p);
      expect(models).toHaveLength(1);
      const sha = await sha256Of(models[0].file);
      // The project recorded the file it holds.
      expect(models[0].weightsSha256).toBe(sha);
      outs.push({ sha, valMeanDice: json.valMeanDice });
    }
    console.log(`segloop train --seed 5 twice: ${outs.map((o) => o.sha.slice(0, 12)).join(' = ')}`);
    expect(outs[1].sha).toBe(outs[0].sha);
    expect(outs[1].valMeanDice).toBe(outs[0].valMeanDice);
  });

  it('a misspelt --config key on a real project fails naming the key and all the allowed ones; nothing is trained', async () => {
    const p = await copyProject('typo');
    const err = await cli(['train', p, '--epochs', '1', '--config', '{"augmentation":{"elasticProbablity":0}}']).then(
      () => null,
      (e: { code?: number; stdout?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err?.code).toBe(1);
    const out = JSON.parse(String(err?.stdout)) as { ok: boolean; error: { code: string; message: string; details: { problems: { key: string; allowed?: string[] }[] } } };
    expect(out.ok).toBe(false);
    expect(out.error.code).toBe('INVALID_ARGUMENT');
    expect(out.error.message).toContain('"augmentation.elasticProbablity"');
    const allowed = Object.keys(DEFAULT_TRAINING_CONFIG.augmentation);
    expect(allowed).toContain('elasticProbability');
    for (const k of allowed) expect(out.error.message).toContain(k);
    expect(out.error.details.problems).toEqual([expect.objectContaining({ key: 'augmentation.elasticProbablity', allowed })]);
    // Refused before a run was created: no training run, no model.
    const store = await ProjectStore.open(p, { readOnly: true });
    try {
      expect(store.trainingRuns.list()).toEqual([]);
      expect(store.models.list()).toEqual([]);
    } finally {
      store.close();
    }
  });
});
