// The loop's handlers through the real dispatcher on a small demo-based project, without ML:
// model rows carry stored test metrics, and a "prediction" is filed from a demo label file
// (what the review path does with it does not depend on who made it).
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationName, OpInput, OpOutput } from '../../shared/contract';
import { readNifti } from '../core/imaging/nifti';
import type { JsonObject } from '../core/project/types';
import { DEMO, makeTestProject } from '../../tests/e2e/test-project';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';
import { gzipSync } from 'node:zlib';

let dir = '';
let app: ProjectApp;
let names: string[] = [];

async function call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
  const r = await dispatch(app.handlers, name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as OpOutput<N>;
}

function test(meanDice: number, classes: [number, number]): JsonObject {
  return {
    test: {
      cases: 2,
      meanDice,
      meanHd95: 2,
      classes: [
        { name: 'anterior hippocampus', dice: classes[0], hd95: 2 },
        { name: 'posterior hippocampus', dice: classes[1], hd95: 2 },
      ],
      evaluatedAt: new Date().toISOString(),
    },
  };
}

async function model(metrics: JsonObject): Promise<number> {
  const m = app.store.models.create({ architecture: 'unet2d', config: {}, metrics });
  await app.store.addModelWeightsFile(m.id, new Uint8Array([1, 2, 3, m.id]));
  return m.id;
}

beforeAll(async () => {
  ({ dir, names } = await makeTestProject({ labelled: 2 }));
  app = await openProjectApp(dir, { transport: 'http', author: 'dr-loop' });
}, 120_000);

afterAll(() => {
  app?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('promotion gate', () => {
  it('never lets a worse candidate replace the promoted model; an override needs a reason and is audited', async () => {
    const v1 = await model(test(0.8, [0.8, 0.8]));
    await call('models:promote', { modelId: String(v1) });
    expect(app.store.models.promoted()?.id).toBe(v1);

    // Mean 0.05 lower (tolerance 0.01): refused, nothing changes, the refusal is recorded on the model.
    const worse = await model(test(0.75, [0.75, 0.75]));
    await expect(call('models:promote', { modelId: String(worse) })).rejects.toMatchObject({ code: 'PROMOTION_BLOCKED' });
    expect(app.store.models.promoted()?.id).toBe(v1);
    const listed = await call('models:list', {});
    const w = listed.models.find((m) => m.id === String(worse))!;
    expect(w.status).toBe('candidate');
    expect(w.gate?.allowed).toBe(false);
    expect(w.gate?.reasons.join(' ')).toMatch(/worse by more than the tolerance/);

    // Same mean, but one class drops by 0.1 > margin 0.05: refused too.
    const classDrop = await model(test(0.8, [0.9, 0.7]));
    await expect(call('models:promote', { modelId: String(classDrop) })).rejects.toMatchObject({ code: 'PROMOTION_BLOCKED' });

    // Override without a reason: refused. With one: promoted, audited as an override.
    await expect(call('models:promote', { modelId: String(worse), override: true })).rejects.toMatchObject({ code: 'PROMOTION_BLOCKED' });
    const r = await call('models:promote', { modelId: String(worse), override: true, reason: 'v1 fails on the new scanner' });
    expect(r.promoted.id).toBe(String(worse));
    expect(r.retired?.id).toBe(String(v1));
    const audit = app.store.audit.list({ action: 'model.promote', entity: 'model', entityId: worse });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'dr-loop', details: { override: true, reason: 'v1 fails on the new scanner' } });

    // A better candidate passes; rollback goes back to any earlier version.
    const better = await model(test(0.82, [0.82, 0.82]));
    const p = await call('models:promote', { modelId: String(better) });
    expect(p.gate?.allowed).toBe(true);
    // A rollback skips the gate, so it cannot return to the refused candidate (never in use): the promoted model stays.
    await expect(call('models:rollback', { modelId: String(classDrop) })).rejects.toMatchObject({ code: 'NOTHING_TO_ROLL_BACK' });
    expect(app.store.models.promoted()?.id).toBe(better);
    expect((await call('models:list', {})).models.find((m) => m.id === String(classDrop))).toMatchObject({ status: 'candidate', wasPromoted: false });
    const rb = await call('models:rollback', { modelId: String(v1), reason: 'back to the known one' });
    expect(rb.promoted.id).toBe(String(v1));
    await expect(call('models:rollback', { modelId: String(better) })).rejects.toMatchObject({ code: 'ROLLBACK_NOT_EARLIER' });

    const cmp = await call('models:compare', { aId: String(v1), bId: String(worse) });
    expect(cmp.classes.map((c) => [c.diceA, c.diceB])).toEqual([
      [0.8, 0.75],
      [0.8, 0.75],
    ]);
    expect(cmp.gate.allowed).toBe(false);

    const s = await call('models:settings', { tolerance: 0.1 });
    expect(s.tolerance).toBe(0.1);
    expect(app.store.models.gate(worse).allowed).toBe(true);
    await call('models:settings', { tolerance: 0.01 });
    await expect(call('models:settings', { tolerance: 2 } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('review', () => {
  it('accept -> ai_accepted, edit -> ai_edited (voxels changed vs the prediction), reject -> review only', async () => {
    const modelId = app.store.models.promoted()!.id;
    const version = app.store.models.require(modelId).version;
    // Unlabelled images 3, 4, 5 get a "prediction": a demo label file of another case's shape is no use, so use their own geometry.
    const preds = [];
    for (const imageId of [3, 4, 5]) {
      const img = app.store.images.require(imageId);
      const labelFile = path.join(DEMO, 'labels', names[imageId - 1]);
      const bytes = (() => {
        try {
          return new Uint8Array(readFileSync(labelFile));
        } catch {
          return null;
        }
      })();
      const n = img.shape[0] * img.shape[1] * img.shape[2];
      const { encodeNifti } = await import('../core/imaging/nifti');
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i += 7) data[i] = 1 + (i % 2);
      const file = bytes ?? new Uint8Array(gzipSync(encodeNifti({ data, shape: img.shape as [number, number, number], affine: img.affine as never }, { dtype: 'uint8' })));
      preds.push(await app.store.addPredictionFiles({ imageId, modelId, tta: false, scores: { meanEntropy: 0.05, foregroundVoxels: 10 }, bytes: file }));
    }
    const list = await call('predictions:list', {});
    expect(list.predictions.map((p) => p.imageId)).toEqual(['3', '4', '5']);
    expect(list.predictions[0].confidence).toBeCloseTo(1 - 0.05 / Math.log(3), 6);

    const acc = await call('reviews:submit', { decision: 'accept', predictionId: String(preds[0].id), secondsSpent: 4 });
    const lvA = app.store.labelVersions.require(Number(acc.labelVersionId));
    expect(lvA).toMatchObject({ source: 'ai_accepted', modelId, voxelsChanged: 0, secondsSpent: 4 });
    expect(lvA.sha256).toBeTruthy();

    const predicted = await readNifti(await app.store.resolve(preds[1].path));
    const edited = Uint8Array.from(predicted.data);
    let changed = 0;
    for (let i = 0; i < 50; i++, changed++) edited[i] = edited[i] === 2 ? 1 : 2;
    const ed = await call('reviews:submit', { decision: 'edit', predictionId: String(preds[1].id), secondsSpent: 12.5, voxelsGzBase64: gzipSync(edited).toString('base64') });
    expect(ed.voxelsChanged).toBe(changed);
    expect(app.store.labelVersions.require(Number(ed.labelVersionId))).toMatchObject({ source: 'ai_edited', modelId, voxelsChanged: changed, secondsSpent: 12.5 });

    const versionsBefore = app.store.labelVersions.listForImage(5).length;
    const rej = await call('reviews:submit', { decision: 'reject', predictionId: String(preds[2].id), secondsSpent: 1 });
    expect(rej.labelVersionId).toBeNull();
    expect(app.store.labelVersions.listForImage(5)).toHaveLength(versionsBefore);
    expect(app.store.reviews.list().map((r) => r.decision)).toEqual(['accept', 'edit', 'reject']);

    // A second review of the same prediction, out-of-schema voxels and bad input are refused, writing nothing.
    const lvCount = app.store.labelVersions.count();
    await expect(call('reviews:submit', { decision: 'accept', predictionId: String(preds[0].id), secondsSpent: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const bad = Uint8Array.from(predicted.data);
    bad[0] = 9;
    const p4 = await app.store.addPredictionFiles({ imageId: 6, modelId, tta: false, scores: { meanEntropy: 0.9 }, bytes: new Uint8Array(readFileSync(await app.store.resolve(preds[1].path))) }).catch(() => null);
    if (p4) {
      await expect(call('reviews:submit', { decision: 'edit', predictionId: String(p4.id), secondsSpent: 1, voxelsGzBase64: gzipSync(bad).toString('base64') })).rejects.toBeTruthy();
      // Below the threshold the batch is refused as a whole.
      await expect(call('reviews:acceptBatch', { predictionIds: [String(p4.id)], minConfidence: 0.9 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(call('reviews:submit', { decision: 'edit', predictionId: String(preds[2].id), secondsSpent: 1 } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(app.store.labelVersions.count()).toBe(lvCount);

    const rows = (await call('cases:list', {})).rows;
    expect(rows.find((r) => r.imageId === '3')).toMatchObject({ labelSource: 'ai_accepted', reviewState: 'accept', lastPrediction: { modelVersion: version } });
    expect(rows.find((r) => r.imageId === '5')).toMatchObject({ labelStatus: 'unlabelled', reviewState: 'reject' });
  });
});

describe('training plan and active learning (no ML)', () => {
  it('proposes a plan with reasons, leaves AI-accepted labels out unless switched on; a random AL round becomes the queue', async () => {
    const plan = await call('training:plan', {});
    expect(plan.options.architecture).toBe('unet2d');
    expect(plan.reasons.length).toBeGreaterThan(3);
    expect(plan.data.pseudo).toBe(1);
    expect(plan.data.trainable).toBe(3);
    await expect(call('training:start', { options: { ...plan.options, bogus: 1 } } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(call('training:start', { options: { ...plan.options, patchSize: [64, 64, 64] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    const st = await call('al:strategies', {});
    expect(st.strategies.length).toBeGreaterThan(0);
    const strategy = st.strategies.find((s) => !s.needsModel)!.name;
    const job = await call('al:select', { strategy, count: 2, seed: 3 });
    await expect.poll(() => app.jobs.get(job.jobId).status, { timeout: 10_000 }).toBe('done');
    const rounds = await call('al:rounds', {});
    expect(rounds.rounds[0].picks).toHaveLength(2);
    const next = await call('cases:next', {});
    expect(next.imageId).toBe(rounds.rounds[0].picks[0].imageId);
    await expect(call('al:select', { strategy: 'no-such', count: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_STRATEGY' });
  });
});
