// Handlers of 'predictions:*' and 'reviews:*'. Predictions run as an exclusive job (queued behind
// training when training owns the compute). A review turns a prediction into a label version:
// accept -> `ai_accepted` (the prediction's voxels, unchanged), edit -> `ai_edited` (the reviewer's
// labelmap; voxels changed = voxels that differ from the prediction, i.e. the correction effort),
// both carrying the model that predicted; reject -> a review row and no label version.
import type { PredictionView } from '../../shared/review-schema';
import { SegloopError } from '../../shared/errors';
import { submitPrediction } from '../core/jobs/ml-jobs';
import { resolveModels } from '../core/jobs/predict-job';
import type { ProjectStore } from '../core/project';
import type { ImageRow, LabelVersionRow, PredictionRow } from '../core/project/types';
import type { Handlers } from './dispatch';
import { checkInSchema, countDifferent, decodeLabelVoxels, encodeLabelFile, readStoredLabel } from '../core/project/label-voxels';
import { dbId, idOrNull, queuedBehind, reportResult, type LoopDeps } from './loop-context';

export type ReviewOps = Pick<Handlers, 'predictions:run' | 'predictions:list' | 'reviews:submit' | 'reviews:acceptBatch'>;

/** 1 - mean voxel entropy / ln(K): 1 when the model is certain of every voxel. */
export function confidenceOf(scores: Record<string, unknown> | null, numClasses: number): number | null {
  const e = scores?.meanEntropy;
  if (typeof e !== 'number' || !Number.isFinite(e) || numClasses < 2) return null;
  return Math.min(1, Math.max(0, 1 - e / Math.log(numClasses)));
}

function imageName(row: ImageRow): string {
  return (row.sourceName ?? row.path.split('/').pop() ?? String(row.id)).replace(/\.nii(\.gz)?$/i, '');
}

export function reviewOps(deps: LoopDeps): ReviewOps {
  const { store, jobs, author } = deps;
  const numClasses = (): number => Math.max(2, ...store.labelSchema.list().map((c) => c.idx + 1));
  const prediction = (id: string): PredictionRow => store.predictions.require(dbId(id, 'NOT_FOUND', 'prediction'));

  const view = (p: PredictionRow, reviews: ReturnType<ProjectStore['reviews']['latestPerPrediction']>, latest: Map<number, { id: number; source: string }>): PredictionView => {
    const img = store.images.require(p.imageId);
    const model = store.models.require(p.modelId);
    const r = reviews.get(p.id) ?? null;
    const s = p.scores as Record<string, unknown> | null;
    const num = (k: string): number | null => (typeof s?.[k] === 'number' && Number.isFinite(s[k]) ? (s[k] as number) : null);
    const lv = latest.get(img.id) ?? null;
    return {
      id: String(p.id),
      imageId: String(img.id),
      image: imageName(img),
      patient: store.patients.get(img.patientId)?.externalId ?? String(img.patientId),
      split: img.split,
      modelId: String(model.id),
      modelVersion: model.version,
      tta: p.tta,
      hasUncertainty: p.uncertaintyPath !== null,
      createdAt: p.createdAt,
      confidence: confidenceOf(s, numClasses()),
      meanTtaVariance: num('meanTtaVariance'),
      foregroundVoxels: num('foregroundVoxels') === null ? null : Math.round(num('foregroundVoxels')!),
      review: r ? { decision: r.decision, at: r.createdAt, labelVersionId: idOrNull(r.labelVersionId) } : null,
      currentLabelVersionId: lv ? String(lv.id) : null,
      currentLabelSource: lv?.source ?? null,
    };
  };

  /**
   * Refuses a save that would silently replace newer work: a prediction superseded by a newer one
   * of the same image (PREDICTION_STALE), or a label saved after the prediction that the reviewer
   * did not have on screen (LABEL_CONFLICT). `base` undefined = the caller named no label.
   */
  const assertCurrent = (p: PredictionRow, base: string | null | undefined): LabelVersionRow | null => {
    const newest = store.predictions.latestForImage(p.imageId);
    if (newest && newest.id !== p.id) {
      const m = store.models.get(newest.modelId);
      throw new SegloopError(
        'PREDICTION_STALE',
        `Prediction ${p.id} is out of date: image ${p.imageId} has a newer prediction (${newest.id}${m ? `, model v${m.version}` : ''}, ${newest.createdAt}). Nothing was saved: review the newer one.`,
        { predictionId: String(p.id), newerPredictionId: String(newest.id) },
      );
    }
    const parent = store.labelVersions.listForImage(p.imageId).at(-1) ?? null;
    const details = {
      predictionId: String(p.id),
      imageId: String(p.imageId),
      latest: parent ? { id: String(parent.id), source: parent.source, author: parent.author, createdAt: parent.createdAt } : null,
    };
    if (base !== undefined && (parent ? String(parent.id) : null) !== base) {
      throw new SegloopError(
        'LABEL_CONFLICT',
        `Image ${p.imageId} has ${parent ? `label version ${parent.id} (${parent.source}, by ${parent.author} at ${parent.createdAt})` : 'no label'} now, not ${base === null ? 'none' : `version ${base}`} as on your screen. Nothing was saved: reload the current label and decide again.`,
        details,
      );
    }
    if (base === undefined && parent && parent.createdAt > p.createdAt) {
      throw new SegloopError(
        'LABEL_CONFLICT',
        `Image ${p.imageId} got label version ${parent.id} (${parent.source}, by ${parent.author} at ${parent.createdAt}) after prediction ${p.id} was made. Nothing was saved: compare them and confirm, reject the prediction, or run a new one.`,
        details,
      );
    }
    return parent;
  };

  /** The test split's reference labels are what every model is measured against: a model's own prediction never becomes one. */
  const assertNotTest = (p: PredictionRow): void => {
    const img = store.images.require(p.imageId);
    if (img.split !== 'test') return;
    throw new SegloopError('SPLIT_FROZEN', `Image ${img.id} is in the frozen test split: its prediction is for measuring the model and cannot become its label. Nothing was saved.`, {
      imageId: String(img.id),
      predictionId: String(p.id),
    });
  };

  const saveFromPrediction = async (p: PredictionRow, decision: 'accept' | 'edit', voxels: Uint8Array, predicted: Uint8Array, secondsSpent: number, base: string | null | undefined) => {
    const img = store.images.require(p.imageId);
    if (store.reviews.listForPrediction(p.id).length > 0) {
      throw new SegloopError('INVALID_ARGUMENT', `Prediction ${p.id} was already reviewed: run a new prediction to review this case again.`, { predictionId: p.id });
    }
    assertNotTest(p);
    const parent = assertCurrent(p, base);
    const added = await store.addLabelVersionFile(
      {
        imageId: img.id,
        parentId: parent?.id ?? null,
        source: decision === 'accept' ? 'ai_accepted' : 'ai_edited',
        author,
        modelId: p.modelId,
        voxelsChanged: countDifferent(voxels, predicted),
        secondsSpent,
        bytes: await encodeLabelFile(img, voxels),
        // The parent was checked above; the store re-checks it inside the write transaction.
        checkConflict: true,
      },
      { actor: author },
    );
    const review = store.reviews.create({ predictionId: p.id, labelVersionId: added.row.id, decision, secondsSpent, author }, { actor: author });
    return { reviewId: String(review.id), decision, labelVersionId: String(added.row.id), voxelsChanged: added.row.voxelsChanged };
  };

  return {
    async 'predictions:run'(input) {
      const models = resolveModels(store, input.modelId ? [dbId(input.modelId, 'MODEL_NOT_FOUND', 'model')] : undefined);
      let imageIds: number[];
      if (input.target === 'images') imageIds = (input.imageIds ?? []).map((id) => store.images.require(dbId(id, 'IMAGE_NOT_FOUND', 'image')).id);
      else if (input.target === 'test') imageIds = store.images.list({ split: 'test' }).map((i) => i.id);
      else {
        const labelled = new Set(store.labelVersions.latestPerImage().map((v) => v.imageId));
        imageIds = store.images.list().filter((i) => i.split !== 'test' && !labelled.has(i.id)).map((i) => i.id);
      }
      if (!imageIds.length) {
        throw new SegloopError('NO_UNLABELLED_IMAGES', input.target === 'unlabelled' ? 'Every image outside the test split has a label: nothing to predict.' : 'No images to predict.');
      }
      const handle = submitPrediction(jobs, store, { modelIds: models.map((m) => m.id), imageIds, tta: input.tta, actor: author });
      reportResult(deps, 'predict', handle, (v) => ({ predictions: v.predictions.length, modelId: String(v.models[0].id), modelVersion: v.models[0].version, backend: v.backend }));
      return { jobId: handle.id, queuedBehind: queuedBehind(jobs, handle.id) };
    },

    async 'predictions:list'(input) {
      let rows: PredictionRow[];
      if (input.imageId) rows = store.predictions.listForImage(dbId(input.imageId, 'IMAGE_NOT_FOUND', 'image'));
      else if (input.modelId) rows = store.predictions.listForModel(dbId(input.modelId, 'MODEL_NOT_FOUND', 'model'));
      else rows = store.images.list().flatMap((i) => store.predictions.listForImage(i.id));
      if (input.modelId && input.imageId) rows = rows.filter((p) => String(p.modelId) === input.modelId);
      if (input.latestOnly) {
        const newest = new Map<number, PredictionRow>();
        for (const p of rows) if ((newest.get(p.imageId)?.id ?? 0) < p.id) newest.set(p.imageId, p);
        rows = [...newest.values()];
      }
      const reviews = store.reviews.latestPerPrediction();
      if (input.unreviewedOnly) rows = rows.filter((p) => !reviews.has(p.id));
      const latest = new Map(store.labelVersions.latestPerImage().map((v) => [v.imageId, { id: v.id, source: v.source }]));
      return { predictions: rows.sort((a, b) => a.imageId - b.imageId || a.id - b.id).map((p) => view(p, reviews, latest)) };
    },

    async 'reviews:submit'(input) {
      const p = prediction(input.predictionId);
      if (input.decision === 'reject') {
        if (store.reviews.listForPrediction(p.id).length > 0) {
          throw new SegloopError('INVALID_ARGUMENT', `Prediction ${p.id} was already reviewed.`, { predictionId: p.id });
        }
        const review = store.reviews.create({ predictionId: p.id, labelVersionId: null, decision: 'reject', secondsSpent: input.secondsSpent, author }, { actor: author });
        return { reviewId: String(review.id), decision: 'reject', labelVersionId: null, voxelsChanged: null };
      }
      const predicted = await readStoredLabel(store, p.path);
      checkInSchema(store, predicted);
      if (input.decision === 'accept') return saveFromPrediction(p, 'accept', predicted, predicted, input.secondsSpent, input.baseLabelVersionId);
      const img = store.images.require(p.imageId);
      const edited = await decodeLabelVoxels(store, img, input.voxelsGzBase64);
      return saveFromPrediction(p, 'edit', edited, predicted, input.secondsSpent, input.baseLabelVersionId);
    },

    async 'reviews:acceptBatch'(input) {
      // Check everything before saving anything: a batch either is as shown or is refused.
      const reviews = store.reviews.latestPerPrediction();
      const rows = input.predictionIds.map(prediction);
      for (const p of rows) {
        if (reviews.has(p.id)) throw new SegloopError('INVALID_ARGUMENT', `Prediction ${p.id} was already reviewed: reload the batch.`, { predictionId: p.id });
        assertNotTest(p);
        assertCurrent(p, undefined);
        const c = confidenceOf(p.scores as Record<string, unknown> | null, numClasses());
        if (c === null || c < input.minConfidence) {
          throw new SegloopError('INVALID_ARGUMENT', `Prediction ${p.id} has confidence ${c === null ? 'unknown' : c.toFixed(3)}, below the threshold ${input.minConfidence}: nothing was accepted.`, {
            predictionId: p.id,
          });
        }
      }
      const accepted = [];
      for (const p of rows) {
        const predicted = await readStoredLabel(store, p.path);
        checkInSchema(store, predicted);
        const r = await saveFromPrediction(p, 'accept', predicted, predicted, 0, undefined);
        accepted.push({ predictionId: String(p.id), reviewId: r.reviewId, labelVersionId: r.labelVersionId });
      }
      return { accepted };
    },
  };
}
