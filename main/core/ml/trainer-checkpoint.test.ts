// Checkpoint pruning: after many epochs the folder holds the last checkpoint and the best
// weights only, and a file that is not the checkpoint module's own (a promoted model a user
// copied here) is never removed.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Bytes } from '../project/files';
import { checkpointDir, readCheckpointFile, readLatest, saveCheckpoint } from './trainer-checkpoint';
import { WEIGHTS_FORMAT, type ModelMeta } from './inference/model-weights';

const meta: ModelMeta = {
  format: WEIGHTS_FORMAT, architecture: 'unet2d', unet: {}, dims: 2, patchSize: [8, 8], numClasses: 2,
  preprocess: { targetSpacing: [1, 1, 1], normalisation: {}, numClasses: 2 }, weightSpecs: [{ name: 'w', shape: [2] }],
};
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('checkpoints are pruned to the last and the best', () => {
  it('keeps latest.json, the last weights + optimizer and the best weights; leaves foreign files alone', async () => {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-ckpt-'));
    dirs.push(runDir);
    const dir = checkpointDir(runDir);
    await fs.mkdir(dir, { recursive: true });
    // What a user might have put here: a promoted model's weights, a note. Not ours: never deleted.
    const promoted = new Uint8Array([9, 9, 9, 9]);
    await fs.writeFile(path.join(dir, 'promoted-model.weights.bin'), promoted);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    const bests = [true, false, true, false, false];
    let bestBytes: Uint8Array | null = null;
    for (let e = 0; e < bests.length; e++) {
      const w = new Uint8Array(new Float32Array([e, e + 0.5]).buffer);
      if (bests[e]) bestBytes = w;
      await saveCheckpoint(
        runDir,
        { epoch: e + 1, stepInEpoch: 0, globalStep: (e + 1) * 4, trainSeconds: e, seed: 1, bestMetric: 0.5, bestEpoch: 1, epochsWithoutImprovement: 0, history: [], meta, configKey: 'k', valIds: [] },
        w,
        { bytes: new Uint8Array(8), names: ['iter'], shapes: [[2]] },
        bests[e] ? w : 'keep',
      );
    }
    const files = (await fs.readdir(dir)).filter((f) => !f.startsWith('.')).sort();
    expect(files).toEqual(['best-e3-s12.weights.bin', 'e5-s20.optimizer.bin', 'e5-s20.weights.bin', 'latest.json', 'notes.txt', 'promoted-model.weights.bin']);
    const latest = await readLatest(runDir);
    expect(latest?.best?.file).toBe('best-e3-s12.weights.bin');
    expect(await readCheckpointFile(runDir, latest!.best!)).toEqual(bestBytes);
    expect(latest?.weights.sha256).toBe(sha256Bytes(new Uint8Array(new Float32Array([4, 4.5]).buffer)));
    expect(new Uint8Array(await fs.readFile(path.join(dir, 'promoted-model.weights.bin')))).toEqual(promoted);
  });
});
