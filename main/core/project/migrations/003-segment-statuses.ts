// Segment status (issue 16): per label version and class, how far the annotator got. Rows are
// append-only like the audit log: a status change is a new row (the newest row of a version and
// class is its status), so the history of every decision stays. A label version without rows was
// saved before this feature (or imported, or by a tool that does not track status): training
// treats it by the older rule (label_versions.labelled_classes, NULL = every class).
// class_idx is not a foreign key: label_schema is replaced wholesale by LabelSchemaRepository.set.
import type { Migration } from './migration';

export const migration003: Migration = {
  version: 3,
  name: 'segment-statuses',
  up(db) {
    db.exec(`
      CREATE TABLE segment_statuses (
        id INTEGER PRIMARY KEY,
        label_version_id INTEGER NOT NULL REFERENCES label_versions(id),
        class_idx INTEGER NOT NULL CHECK (class_idx BETWEEN 1 AND 255),
        status TEXT NOT NULL CHECK (status IN ('not_started', 'in_progress', 'done', 'flagged')),
        note TEXT CHECK (note IS NULL OR (length(note) BETWEEN 1 AND 1000)),
        author TEXT NOT NULL CHECK (length(author) > 0),
        created_at TEXT NOT NULL CHECK (length(created_at) >= 20)
      ) STRICT;
      CREATE INDEX segment_statuses_version ON segment_statuses(label_version_id, class_idx, id);
      CREATE TRIGGER segment_statuses_no_update BEFORE UPDATE ON segment_statuses
      BEGIN SELECT RAISE(ABORT, 'segment_statuses are append-only: record a new status instead'); END;
      CREATE TRIGGER segment_statuses_no_delete BEFORE DELETE ON segment_statuses
      BEGIN SELECT RAISE(ABORT, 'segment_statuses are append-only: they cannot be deleted'); END;
    `);
  },
};
