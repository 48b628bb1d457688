// Segment status (issue 16): for each label version and foreground class, how far the annotator
// got — not started, in progress, done, or flagged (with a note: "ask a radiologist"). Saved with
// the label (labels:save carries it, one transaction), shown in Labelling and Cases, and used by
// training: only a class marked done counts as labelled; a version without any status (saved
// before this feature, imported, a review edit) keeps the older rule (labelled_classes).
import { z } from 'zod';
import { SEGMENT_STATUSES, type SegmentStatus } from './vocabulary';

export { SEGMENT_STATUSES, type SegmentStatus } from './vocabulary';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);

export const SegmentStatusValue = z.enum(SEGMENT_STATUSES, {
  error: (iss) => `Unknown segment status ${JSON.stringify(iss.input)}: use one of ${SEGMENT_STATUSES.join(', ')}`,
});

export const MAX_SEGMENT_NOTE_CHARS = 1000;

export const SegmentStatusEntry = z
  .object({
    /** The label schema's index of a foreground class (background has no status). */
    classIndex: z.number().int().min(1).max(255),
    status: SegmentStatusValue,
    /** Why it is flagged (or any remark); blank means none. */
    note: z
      .string()
      .max(MAX_SEGMENT_NOTE_CHARS)
      .nullable()
      .optional()
      .transform((s) => (s == null || s.trim() === '' ? null : s.trim())),
  })
  .strict();
export type SegmentStatusEntry = z.output<typeof SegmentStatusEntry>;
export type SegmentStatusEntryInput = z.input<typeof SegmentStatusEntry>;

export const SegmentStatusEntries = z
  .array(SegmentStatusEntry)
  .max(255)
  .refine((list) => new Set(list.map((e) => e.classIndex)).size === list.length, { message: 'each class may have one segment status per save' });

/** The status of one class of one label version as stored (explicit) or derived (default). */
export const SegmentStatusView = z.object({
  classIndex: z.number().int().min(1).max(255),
  name: z.string(),
  status: SegmentStatusValue,
  note: z.string().nullable(),
  /** false: no row was recorded for this class; the status is the default (painted = in progress). */
  explicit: z.boolean(),
  author: z.string().nullable(),
  at: z.string().nullable(),
});
export type SegmentStatusView = z.infer<typeof SegmentStatusView>;

export const SegmentStatusHistoryRow = z.object({
  labelVersionId: Id,
  classIndex: z.number().int(),
  status: SegmentStatusValue,
  note: z.string().nullable(),
  author: z.string(),
  at: z.string(),
});

export const SegmentStatusGetInput = z
  .object({
    imageId: Id,
    /** Default: the image's newest label version. */
    labelVersionId: Id.optional(),
  })
  .strict();

export const SegmentStatusGetOutput = z.object({
  /** null: the image has no label yet (every class is not started). */
  labelVersionId: Id.nullable(),
  /** false: nothing recorded for this version (training uses its labelled classes as before). */
  tracked: z.boolean(),
  classes: z.array(SegmentStatusView),
  /** Every status ever recorded for this image's versions, oldest first. */
  history: z.array(SegmentStatusHistoryRow),
});
export type SegmentStatusGetOutput = z.infer<typeof SegmentStatusGetOutput>;

export const SegmentStatusListOutput = z.object({
  rows: z.array(
    z.object({
      imageId: Id,
      labelVersionId: Id.nullable(),
      tracked: z.boolean(),
      classes: z.array(z.object({ classIndex: z.number().int(), status: SegmentStatusValue, note: z.string().nullable(), explicit: z.boolean() })),
    }),
  ),
});
export type SegmentStatusListOutput = z.infer<typeof SegmentStatusListOutput>;

/** A class without a recorded status: in progress once it has painted voxels, else not started. */
export function defaultSegmentStatus(painted: boolean): SegmentStatus {
  return painted ? 'in_progress' : 'not_started';
}

/** What training may trust as fully labelled: only done (flagged and in progress are not). */
export function isSegmentComplete(status: SegmentStatus): boolean {
  return status === 'done';
}

/** How the screens name each status. */
export const SEGMENT_STATUS_LABELS: Record<SegmentStatus, string> = {
  not_started: 'not started',
  in_progress: 'in progress',
  done: 'done',
  flagged: 'flagged',
};
