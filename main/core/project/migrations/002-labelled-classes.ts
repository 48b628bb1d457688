// Partially labelled data (adaptive loss, label dropout) needs to know which classes a label
// version actually covers. NULL means "every class of the schema", which is what every label
// saved before this migration meant.
import type { Migration } from './migration';

export const migration002: Migration = {
  version: 2,
  name: 'labelled-classes',
  up(db) {
    db.exec(`
      ALTER TABLE label_versions ADD COLUMN labelled_classes TEXT
        CHECK (labelled_classes IS NULL OR (json_valid(labelled_classes) AND json_type(labelled_classes) = 'array'));
    `);
  },
};
