// The project's words, declared once: core's row types (main/core/project/types.ts) and the wire
// schemas take these lists. The database's CHECK constraints (migration 001) spell the same words;
// main/core/project/types.test.ts fails if they drift, since adding a word also needs a migration.

/** How a label version came to be (label_versions.source). */
export const LABEL_SOURCES = ['manual', 'imported', 'ai_accepted', 'ai_edited', 'pseudo'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

/** Where a model is in the registry (models.status). */
export const MODEL_STATUSES = ['candidate', 'promoted', 'retired'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];
