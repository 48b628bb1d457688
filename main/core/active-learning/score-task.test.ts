// The `al-score` worker task on real files: a tiny 2D U-Net trained 2 steps in the worker on
// three demo cases, then scored on two others. The label map it writes and the Dice it reports
// are checked against nibabel/numpy; scores are in their ranges and identical on a second run;
// impossible requests (ensemble disagreement with one model, BALD without dropout) are refused;
// cancel stops between images.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainerConfigInput, TrainResult } from '../ml/trainer';
import { runWorkerTask } from '../worker/worker-host';
import { AL_SCORE_TASK, type AlScoreParams, type AlScoreResult } from './score-task';

const DEMO = path.resolve(__dirname, '../../../resources/demo');
const img = (id: string): string => path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`);
const lab = (id: string): string => path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`);
const PY = '/usr/bin/python3';

let dir = '';
let model: AlScoreParams['models'][number];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-al-score-'));
  const config: TrainerConfigInput = { architecture: 'unet2d', numClasses: 3, patchSize: [32, 32], batchSize: 2, stepsPerEpoch: 2, epochs: 1, valFraction: 0, model: { depth: 2, baseWidth: 4 }, targetSpacing: [1, 1, 1], seed: 3 };
  const cases = ['014', '070', '098'].map((id) => ({ id, patientId: id, imagePath: img(id), labelPath: lab(id), labelledClasses: null, fixedSplit: 'train' as const }));
  const r = (await runWorkerTask('train', { runDir: path.join(dir, 'run'), cases, config, resumeFrom: null })) as TrainResult;
  model = { meta: r.meta, weightsPath: r.weightsFile, weightsSha256: r.weightsSha256 };
}, 300_000);

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const score = (extra: Partial<AlScoreParams> = {}, signal?: AbortSignal, onEvent?: (e: unknown) => void): Promise<AlScoreResult> =>
  runWorkerTask(
    AL_SCORE_TASK,
    {
      models: [model],
      cases: [
        { id: 'a', imagePath: img('104'), labelPath: lab('104') },
        { id: 'b', imagePath: img('180'), labelPath: null },
      ],
      scores: ['meanEntropy', 'foregroundEntropy', 'margin', 'meanTtaVariance'],
      features: true,
      outDir: path.join(dir, 'out'),
      ...extra,
    } satisfies AlScoreParams,
    { signal, onEvent },
  ) as Promise<AlScoreResult>;

describe('al-score worker task', { timeout: 600_000 }, () => {
  it('scores real images: label map and Dice equal nibabel/numpy, scores in range, same on a second run', async () => {
    const events: unknown[] = [];
    const r = await score({}, undefined, (e) => events.push(e));
    expect(events.filter((e) => (e as { type: string }).type === 'progress')).toHaveLength(2);
    expect(r.cases.map((c) => c.id)).toEqual(['a', 'b']);
    for (const c of r.cases) {
      expect(c.scores.meanEntropy).toBeGreaterThanOrEqual(0);
      expect(c.scores.meanEntropy).toBeLessThanOrEqual(Math.log(3) + 1e-9);
      expect(c.scores.margin).toBeGreaterThanOrEqual(0);
      expect(c.scores.margin).toBeLessThanOrEqual(1);
      expect(c.scores.meanTtaVariance).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(c.scores.foregroundEntropy)).toBe(true);
      expect(c.features?.length).toBeGreaterThan(0);
      for (const f of c.features ?? []) expect(Number.isFinite(f)).toBe(true);
      expect(c.foregroundVoxelsPerClass).toHaveLength(3);
      expect(c.foregroundVoxels).toBe(c.foregroundVoxelsPerClass[1] + c.foregroundVoxelsPerClass[2]);
      expect(c.labelFile).not.toBeNull();
    }
    expect(r.cases[1].dice).toBeNull();

    // The outside reference: nibabel reads what the worker wrote; numpy computes the Dice.
    const py = `
import json, sys, nibabel as nib, numpy as np
p = nib.load(sys.argv[1]); r = nib.load(sys.argv[2]); i = nib.load(sys.argv[3])
a = np.asarray(p.dataobj).astype(int); b = np.rint(np.asarray(r.dataobj)).astype(int)
d = []
for k in (1, 2):
    s = (a == k).sum() + (b == k).sum()
    d.append(None if s == 0 else float(2 * ((a == k) & (b == k)).sum() / s))
print(json.dumps({"shape": list(a.shape), "imgShape": list(i.shape[:3]), "affineEqual": bool(np.allclose(p.affine, i.affine, atol=1e-4)), "dice": d, "refCounts": np.bincount(b.ravel(), minlength=3).tolist()}))
`;
    const ref = JSON.parse(execFileSync(PY, ['-c', py, r.cases[0].labelFile!, lab('104'), img('104')], { encoding: 'utf8' })) as { shape: number[]; imgShape: number[]; affineEqual: boolean; dice: (number | null)[]; refCounts: number[] };
    expect(ref.shape).toEqual(ref.imgShape);
    expect(ref.affineEqual).toBe(true);
    expect(r.cases[0].referenceVoxelsPerClass).toEqual(ref.refCounts);
    for (let k = 0; k < 2; k++) {
      if (ref.dice[k] === null) expect(r.cases[0].dice?.[k]).toBeNull();
      else expect(r.cases[0].dice?.[k]).toBeCloseTo(ref.dice[k]!, 12);
    }

    const again = await score({ outDir: path.join(dir, 'out2') });
    expect(again.cases.map((c) => c.scores)).toEqual(r.cases.map((c) => c.scores));
    expect(again.cases.map((c) => c.features)).toEqual(r.cases.map((c) => c.features));
  });

  it('refuses what the model cannot give: disagreement with one model, BALD without dropout', async () => {
    await expect(score({ scores: ['ensembleDisagreement'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(score({ scores: ['bald'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(score({ scores: ['nope' as never] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('cancel stops between images with JOB_CANCELLED', async () => {
    const ac = new AbortController();
    // The worker sees the cancel between images (an image's forward passes block its event loop),
    // so the pool is longer than the image in flight when the cancel is sent.
    const cases = ['104', '180', '210', '280'].map((id) => ({ id, imagePath: img(id), labelPath: null }));
    await expect(
      score({ tta: true, cases, outDir: null }, ac.signal, (e) => {
        if ((e as { type: string }).type === 'progress') ac.abort();
      }),
    ).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
  });
});
