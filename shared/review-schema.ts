// Wire schemas of 'predictions:run' / 'predictions:list' and 'reviews:submit': predictions as a job
// over chosen images or the unlabelled pool, and the review decision on one prediction. Accept
// saves the prediction unchanged as an `ai_accepted` label version; edit saves the reviewer's
// labelmap as `ai_edited`; both carry the model version. Reject records the review only.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
const Base64 = z.string().min(1).max(64 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'voxelsGzBase64 must be base64');

export const PredictionsRunInput = z
  .object({
    target: z.enum(['images', 'unlabelled', 'test']),
    /** Required with target 'images'. */
    imageIds: z.array(Id).max(10_000).optional(),
    tta: z.boolean().default(true),
    /** Default: the promoted model, else the newest with weights. */
    modelId: Id.optional(),
  })
  .strict()
  .refine((v) => v.target !== 'images' || (v.imageIds?.length ?? 0) > 0, { message: 'target "images" needs imageIds', path: ['imageIds'] });

export const REVIEW_DECISIONS = ['accept', 'edit', 'reject'] as const;

export const PredictionView = z.object({
  id: Id,
  imageId: Id,
  image: z.string(),
  patient: z.string(),
  split: z.string().nullable(),
  modelId: Id,
  modelVersion: z.number().int(),
  tta: z.boolean(),
  hasUncertainty: z.boolean(),
  createdAt: z.string(),
  /** 1 - mean voxel entropy / ln(classes): 1 = certain everywhere. */
  confidence: z.number().nullable(),
  meanTtaVariance: z.number().nullable(),
  foregroundVoxels: z.number().int().nullable(),
  /** The newest review of this prediction. */
  review: z.object({ decision: z.enum(REVIEW_DECISIONS), at: z.string(), labelVersionId: Id.nullable() }).nullable(),
  /** The image's newest label version when the prediction was listed. */
  currentLabelVersionId: Id.nullable(),
  currentLabelSource: z.string().nullable(),
});
export type PredictionView = z.infer<typeof PredictionView>;

export const PredictionsListInput = z
  .object({ imageId: Id.optional(), modelId: Id.optional(), latestOnly: z.boolean().default(true), unreviewedOnly: z.boolean().default(false) })
  .strict();
export const PredictionsListOutput = z.object({ predictions: z.array(PredictionView) });

const Seconds = z.number().nonnegative().max(7 * 24 * 3600);
/**
 * The image's newest label version the reviewer had on screen (null: it had none). When given, the
 * save is refused with LABEL_CONFLICT if the image has another newest version now; giving the id of
 * a label saved after the prediction is how a reviewer who compared it says "build on top of it".
 */
const BaseLabel = Id.nullable().optional();

export const ReviewSubmitInput = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('accept'), predictionId: Id, secondsSpent: Seconds, baseLabelVersionId: BaseLabel }).strict(),
  z.object({ decision: z.literal('reject'), predictionId: Id, secondsSpent: Seconds }).strict(),
  z.object({ decision: z.literal('edit'), predictionId: Id, secondsSpent: Seconds, voxelsGzBase64: Base64, baseLabelVersionId: BaseLabel }).strict(),
]);
export const ReviewSubmitOutput = z.object({
  reviewId: Id,
  decision: z.enum(REVIEW_DECISIONS),
  labelVersionId: Id.nullable(),
  /** Voxels that differ from the prediction (edit) — 0 for accept, null for reject. */
  voxelsChanged: z.number().int().nonnegative().nullable(),
});

export const ReviewBatchAcceptInput = z
  .object({
    predictionIds: z.array(Id).min(1).max(1000),
    /** The threshold the user saw: every prediction must still be at or above it. */
    minConfidence: z.number().min(0).max(1),
  })
  .strict();
export const ReviewBatchAcceptOutput = z.object({ accepted: z.array(z.object({ predictionId: Id, reviewId: Id, labelVersionId: Id })) });
