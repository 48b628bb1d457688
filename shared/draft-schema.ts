// Unsaved-stroke recovery: the Labelling screen keeps a draft of its unsaved labelmap in the
// project (debounced, after each edit), so a crashed window, a killed app or a power cut loses at
// most the last few seconds of painting. The draft is offered back when the case is opened again.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
/** Same bound as labels:save (gzip + base64 of a uint8 labelmap). */
const MAX_DRAFT_BASE64_CHARS = 64 * 1024 * 1024;

export const DraftSaveInput = z
  .object({
    imageId: Id,
    /** the label version the strokes were painted on (null: on an empty label) */
    parentVersionId: Id.nullable(),
    voxelsGzBase64: z.string().min(1).max(MAX_DRAFT_BASE64_CHARS).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'voxelsGzBase64 must be base64'),
    changedVoxels: z.number().int().nonnegative(),
    secondsSpent: z.number().nonnegative().max(7 * 24 * 3600),
  })
  .strict();
export type DraftSaveInput = z.infer<typeof DraftSaveInput>;

export const DraftView = z.object({
  imageId: Id,
  parentVersionId: Id.nullable(),
  savedAt: z.string(),
  author: z.string(),
  changedVoxels: z.number().int().nonnegative(),
  secondsSpent: z.number().nonnegative(),
  /** a newer label version exists than the one the strokes were painted on */
  stale: z.boolean(),
});
export type DraftView = z.infer<typeof DraftView>;

export const DraftGetInput = z.object({ imageId: Id }).strict();
export const DraftGetOutput = z.object({ draft: DraftView.nullable(), voxelsGzBase64: z.string().nullable() });
export const DraftDiscardInput = z.object({ imageId: Id }).strict();
export const DraftDiscardOutput = z.object({ discarded: z.boolean() });
