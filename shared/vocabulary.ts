// The project's words, declared once: core's row types (main/core/project/types.ts) and the wire
// schemas take these lists. The database's CHECK constraints (migrations 001, 003) spell the same words;
// main/core/project/types.test.ts fails if they drift, since adding a word also needs a migration.

/** How a label version came to be (label_versions.source). */
export const LABEL_SOURCES = ['manual', 'imported', 'ai_accepted', 'ai_edited', 'pseudo'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

/** Where a model is in the registry (models.status). */
export const MODEL_STATUSES = ['candidate', 'promoted', 'retired'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

/** How far the annotator got with one class of one label version (segment_statuses.status, migration 003). */
export const SEGMENT_STATUSES = ['not_started', 'in_progress', 'done', 'flagged'] as const;
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number];
