// Review decisions that would silently replace newer work are refused with a clear code and write
// nothing: a prediction superseded by a newer one (PREDICTION_STALE), a label saved after the
// prediction (LABEL_CONFLICT unless the reviewer names it as the label on screen), a batch that
// contains either. Real dispatcher, real project files; the "prediction" is a filed label map.
import { rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationName, OpInput, OpOutput } from '../../shared/contract';
import { encodeNifti } from '../core/imaging/nifti';
import type { Mat4 } from '../core/imaging/volume';
import type { PredictionRow } from '../core/project/types';
import { makeTestProject } from '../../tests/e2e/test-project';
import { dispatch } from './dispatch';
import { openProjectApp, type ProjectApp } from './project-app';

let dir = '';
let app: ProjectApp;
let modelId = 0;

async function call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
  const r = await dispatch(app.handlers, name, input);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as OpOutput<N>;
}

function labelBytes(imageId: number, value: number): { voxels: Uint8Array; file: Uint8Array } {
  const img = app.store.images.require(imageId);
  const [X, Y, Z] = img.shape as [number, number, number];
  const voxels = new Uint8Array(X * Y * Z);
  for (let i = 0; i < voxels.length; i += 5) voxels[i] = value;
  return { voxels, file: new Uint8Array(gzipSync(encodeNifti({ data: voxels, shape: [X, Y, Z], affine: img.affine as Mat4 }, { dtype: 'uint8' }))) };
}

async function predict(imageId: number, meanEntropy = 0.01): Promise<PredictionRow> {
  return app.store.addPredictionFiles({ imageId, modelId, tta: false, scores: { meanEntropy, foregroundVoxels: 10 }, bytes: labelBytes(imageId, 1).file });
}

const later = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

beforeAll(async () => {
  ({ dir } = await makeTestProject({ labelled: 0 }));
  app = await openProjectApp(dir, { transport: 'http', author: 'dr-review' });
  const m = app.store.models.create({ architecture: 'unet2d', config: {}, metrics: {} });
  await app.store.addModelWeightsFile(m.id, new Uint8Array([1, 2, 3]));
  modelId = m.id;
}, 120_000);

afterAll(() => {
  app?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reviews refuse stale input and lose nothing', () => {
  it('a prediction superseded by a newer one of the same image is PREDICTION_STALE; the newer one is accepted', async () => {
    const old = await predict(1);
    await later();
    const newer = await predict(1);
    const before = app.store.labelVersions.count();
    await expect(call('reviews:submit', { decision: 'accept', predictionId: String(old.id), secondsSpent: 2 })).rejects.toMatchObject({
      code: 'PREDICTION_STALE',
      details: { newerPredictionId: String(newer.id) },
    });
    await expect(call('reviews:acceptBatch', { predictionIds: [String(old.id)], minConfidence: 0 })).rejects.toMatchObject({ code: 'PREDICTION_STALE' });
    expect(app.store.labelVersions.count()).toBe(before);
    expect(app.store.reviews.listForPrediction(old.id)).toHaveLength(0);
    const ok = await call('reviews:submit', { decision: 'accept', predictionId: String(newer.id), secondsSpent: 2, baseLabelVersionId: null });
    expect(app.store.labelVersions.require(Number(ok.labelVersionId))).toMatchObject({ source: 'ai_accepted', modelId });
  });

  it('a label saved after the prediction is LABEL_CONFLICT unless named as the one on screen; the edit is then kept on top of it', async () => {
    const p = await predict(2);
    await later();
    const manual = await app.store.addLabelVersionFile({ imageId: 2, source: 'manual', author: 'someone', bytes: labelBytes(2, 2).file });
    const edited = labelBytes(2, 1).voxels;
    edited[1] = 2;
    const voxelsGzBase64 = gzipSync(edited).toString('base64');
    const before = app.store.labelVersions.count();

    await expect(call('reviews:submit', { decision: 'edit', predictionId: String(p.id), secondsSpent: 9, voxelsGzBase64 })).rejects.toMatchObject({
      code: 'LABEL_CONFLICT',
      details: { latest: { id: String(manual.row.id), source: 'manual' } },
    });
    // The reviewer's screen showed no label (or an older one): refused too.
    await expect(call('reviews:submit', { decision: 'edit', predictionId: String(p.id), secondsSpent: 9, voxelsGzBase64, baseLabelVersionId: null })).rejects.toMatchObject({
      code: 'LABEL_CONFLICT',
    });
    await expect(call('reviews:acceptBatch', { predictionIds: [String(p.id)], minConfidence: 0 })).rejects.toMatchObject({ code: 'LABEL_CONFLICT' });
    expect(app.store.labelVersions.count()).toBe(before);
    expect(app.store.reviews.count()).toBe(1);

    // Having compared it, the reviewer keeps the edit as a new version on top; the manual one stays.
    const r = await call('reviews:submit', { decision: 'edit', predictionId: String(p.id), secondsSpent: 9, voxelsGzBase64, baseLabelVersionId: String(manual.row.id) });
    const lv = app.store.labelVersions.require(Number(r.labelVersionId));
    expect(lv).toMatchObject({ source: 'ai_edited', parentId: manual.row.id, modelId, voxelsChanged: 1, secondsSpent: 9 });
    expect(app.store.labelVersions.require(manual.row.id).sha256).toBe(manual.row.sha256);
  });

  it('a prediction of a test-split image never becomes its label (SPLIT_FROZEN), alone or in a batch', async () => {
    app.store.images.setSplit([4], 'test');
    const p = await predict(4);
    const before = app.store.labelVersions.count();
    await expect(call('reviews:submit', { decision: 'accept', predictionId: String(p.id), secondsSpent: 1, baseLabelVersionId: null })).rejects.toMatchObject({ code: 'SPLIT_FROZEN' });
    const edited = labelBytes(4, 2).voxels;
    await expect(call('reviews:submit', { decision: 'edit', predictionId: String(p.id), secondsSpent: 1, voxelsGzBase64: gzipSync(edited).toString('base64') })).rejects.toMatchObject({
      code: 'SPLIT_FROZEN',
    });
    const other = await predict(5);
    await expect(call('reviews:acceptBatch', { predictionIds: [String(other.id), String(p.id)], minConfidence: 0 })).rejects.toMatchObject({ code: 'SPLIT_FROZEN' });
    expect(app.store.labelVersions.count()).toBe(before);
    expect(app.store.reviews.listForPrediction(other.id)).toHaveLength(0);
  });

  it('reject is always possible and writes no label version', async () => {
    const p = await predict(3);
    await later();
    await app.store.addLabelVersionFile({ imageId: 3, source: 'manual', author: 'someone', bytes: labelBytes(3, 2).file });
    const before = app.store.labelVersions.count();
    const r = await call('reviews:submit', { decision: 'reject', predictionId: String(p.id), secondsSpent: 1.5 });
    expect(r).toMatchObject({ decision: 'reject', labelVersionId: null, voxelsChanged: null });
    expect(app.store.labelVersions.count()).toBe(before);
    expect(app.store.reviews.listForPrediction(p.id)[0]).toMatchObject({ decision: 'reject', secondsSpent: 1.5, author: 'dr-review' });
  });
});
