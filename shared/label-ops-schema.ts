// One editing operation on a segment of the labelmap on screen (Segment Editor-style islands,
// margins, smoothing, holes, merge/clear). The renderer sends its current labelmap and gets the
// result back; it applies the difference as one undoable edit, so it is counted in the saved
// version's voxels changed and seconds spent like any stroke.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
const Segment = z.number().int().min(1).max(255);
const Mm = z.number().positive().max(100);
const Connectivity = z.union([z.literal(6), z.literal(18), z.literal(26)]).default(6);

export const LabelOp = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('keepLargest'), segment: Segment, connectivity: Connectivity }).strict(),
  z.object({ kind: z.literal('removeSmall'), segment: Segment, minVoxels: z.number().int().min(1).max(1e9), connectivity: Connectivity }).strict(),
  z.object({ kind: z.literal('keepAt'), segment: Segment, voxelIndex: z.number().int().nonnegative(), connectivity: Connectivity }).strict(),
  z.object({ kind: z.literal('grow'), segment: Segment, mm: Mm, overwrite: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal('shrink'), segment: Segment, mm: Mm }).strict(),
  z.object({ kind: z.literal('open'), segment: Segment, mm: Mm }).strict(),
  z.object({ kind: z.literal('close'), segment: Segment, mm: Mm }).strict(),
  z.object({ kind: z.literal('median'), segment: Segment, mm: Mm }).strict(),
  z.object({ kind: z.literal('fillHoles'), segment: Segment }).strict(),
  z.object({ kind: z.literal('merge'), segment: Segment, from: Segment }).strict(),
  z.object({ kind: z.literal('clear'), segment: Segment }).strict(),
  /** fill between slices along a voxel axis (0 i, 1 j, 2 k) or the axis with the most gaps */
  z.object({ kind: z.literal('interpolate'), segment: Segment, axis: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal('auto')]).default('auto') }).strict(),
  /** region growing from seed voxels (x-fastest indices): connected voxels within ± tolerance of the seed's intensity; 'auto' derives it from the seed's neighbourhood */
  z
    .object({
      kind: z.literal('regionGrow'),
      segment: Segment,
      seeds: z.array(z.number().int().nonnegative()).min(1).max(64),
      tolerance: z.union([z.number().nonnegative().finite().max(1e9), z.literal('auto')]).default('auto'),
      connectivity: Connectivity,
      overwrite: z.boolean().default(false),
    })
    .strict(),
]);
export type LabelOp = z.infer<typeof LabelOp>;
export type LabelOpInput = z.input<typeof LabelOp>;

export const LabelTransformInput = z
  .object({
    imageId: Id,
    voxelsGzBase64: z.string().min(1).max(64 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'voxelsGzBase64 must be base64'),
    op: LabelOp,
  })
  .strict();
export const LabelTransformOutput = z.object({
  voxelsGzBase64: z.string(),
  changedVoxels: z.number().int().nonnegative(),
  /** region growing: the intensity tolerance used for each seed (image units) */
  tolerances: z.array(z.number()).optional(),
});

/** Measurements of every segment of the labelmap on screen, in mm (2D images add the in-plane shape). */
export const LabelMeasureInput = z
  .object({
    imageId: Id,
    voxelsGzBase64: z.string().min(1).max(64 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'voxelsGzBase64 must be base64'),
  })
  .strict();
export const SegmentMeasures = z.object({
  segment: z.number().int(),
  name: z.string(),
  voxels: z.number().int().nonnegative(),
  volumeMm3: z.number().nonnegative(),
  extentMm: z.tuple([z.number(), z.number(), z.number()]),
  /** W x H x 1 images: area, contour perimeter, the moments ellipse and the largest diameter */
  plane: z
    .object({
      areaMm2: z.number(),
      perimeterMm: z.number(),
      semiMajorMm: z.number(),
      semiMinorMm: z.number(),
      ellipseCircumferenceMm: z.number(),
      maxDiameterMm: z.number(),
    })
    .nullable(),
});
export type SegmentMeasures = z.infer<typeof SegmentMeasures>;
export const LabelMeasureOutput = z.object({ segments: z.array(SegmentMeasures) });
