// Version 1 of the project schema. Never edit a released migration: add a new one.
import type { Migration } from './migration';

const ISO = "CHECK (length(created_at) >= 20)";

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE project_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        external_id TEXT NOT NULL UNIQUE CHECK (length(external_id) > 0),
        site TEXT,
        created_at TEXT NOT NULL ${ISO}
      ) STRICT;

      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
        shape TEXT NOT NULL CHECK (json_valid(shape) AND json_type(shape) = 'array'),
        spacing TEXT NOT NULL CHECK (json_valid(spacing) AND json_type(spacing) = 'array'),
        affine TEXT NOT NULL CHECK (json_valid(affine) AND json_type(affine) = 'array'),
        dtype TEXT NOT NULL,
        modality TEXT,
        site TEXT,
        split TEXT CHECK (split IN ('pool', 'train', 'val', 'test')),
        source_name TEXT,
        created_at TEXT NOT NULL ${ISO}
      ) STRICT;
      CREATE INDEX images_patient ON images(patient_id);
      CREATE INDEX images_split ON images(split);

      CREATE TABLE label_schema (
        idx INTEGER PRIMARY KEY CHECK (idx BETWEEN 0 AND 255),
        name TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
        colour TEXT NOT NULL CHECK (length(colour) = 7 AND colour GLOB '#[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]')
      ) STRICT;

      CREATE TABLE training_runs (
        id INTEGER PRIMARY KEY,
        config TEXT NOT NULL CHECK (json_valid(config)),
        backend TEXT,
        data_snapshot TEXT NOT NULL CHECK (json_valid(data_snapshot)),
        log TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        created_at TEXT NOT NULL ${ISO},
        started_at TEXT,
        ended_at TEXT,
        error TEXT
      ) STRICT;
      CREATE INDEX training_runs_status ON training_runs(status);

      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        version INTEGER NOT NULL UNIQUE CHECK (version >= 1),
        parent_id INTEGER REFERENCES models(id),
        architecture TEXT NOT NULL,
        config TEXT NOT NULL CHECK (json_valid(config)),
        weights_path TEXT UNIQUE,
        weights_sha256 TEXT CHECK (weights_sha256 IS NULL OR length(weights_sha256) = 64),
        training_run_id INTEGER REFERENCES training_runs(id),
        metrics TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
        status TEXT NOT NULL CHECK (status IN ('candidate', 'promoted', 'retired')),
        created_at TEXT NOT NULL ${ISO},
        CHECK ((weights_path IS NULL) = (weights_sha256 IS NULL))
      ) STRICT;
      CREATE INDEX models_status ON models(status);

      -- Label versions are immutable: a save creates a new row whose parent is the old one.
      -- Several versions may share one content-addressed file, hence path is not UNIQUE.
      CREATE TABLE label_versions (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images(id),
        parent_id INTEGER REFERENCES label_versions(id),
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        source TEXT NOT NULL CHECK (source IN ('manual', 'imported', 'ai_accepted', 'ai_edited', 'pseudo')),
        author TEXT NOT NULL,
        model_id INTEGER REFERENCES models(id),
        voxels_changed INTEGER CHECK (voxels_changed IS NULL OR voxels_changed >= 0),
        seconds_spent REAL CHECK (seconds_spent IS NULL OR seconds_spent >= 0),
        created_at TEXT NOT NULL ${ISO}
      ) STRICT;
      CREATE INDEX label_versions_image ON label_versions(image_id, id);
      CREATE INDEX label_versions_path ON label_versions(path);
      CREATE INDEX label_versions_source ON label_versions(source);

      CREATE TRIGGER label_versions_no_update BEFORE UPDATE ON label_versions
      BEGIN SELECT RAISE(ABORT, 'label_versions are immutable: save a new version instead'); END;
      CREATE TRIGGER label_versions_no_delete BEFORE DELETE ON label_versions
      BEGIN SELECT RAISE(ABORT, 'label_versions are immutable: they cannot be deleted'); END;
      CREATE TRIGGER label_versions_parent_same_image BEFORE INSERT ON label_versions
      WHEN NEW.parent_id IS NOT NULL
        AND (SELECT image_id FROM label_versions WHERE id = NEW.parent_id) IS NOT NEW.image_id
      BEGIN SELECT RAISE(ABORT, 'the parent label version belongs to another image'); END;

      CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images(id),
        model_id INTEGER NOT NULL REFERENCES models(id),
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        uncertainty_path TEXT,
        uncertainty_sha256 TEXT CHECK (uncertainty_sha256 IS NULL OR length(uncertainty_sha256) = 64),
        scores TEXT CHECK (scores IS NULL OR json_valid(scores)),
        tta INTEGER NOT NULL CHECK (tta IN (0, 1)),
        created_at TEXT NOT NULL ${ISO},
        CHECK ((uncertainty_path IS NULL) = (uncertainty_sha256 IS NULL))
      ) STRICT;
      CREATE INDEX predictions_image ON predictions(image_id, model_id);
      CREATE INDEX predictions_model ON predictions(model_id);
      CREATE INDEX predictions_path ON predictions(path);
      CREATE INDEX predictions_uncertainty_path ON predictions(uncertainty_path);

      CREATE TABLE al_rounds (
        id INTEGER PRIMARY KEY,
        strategy TEXT NOT NULL,
        model_id INTEGER REFERENCES models(id),
        selected TEXT NOT NULL CHECK (json_valid(selected) AND json_type(selected) = 'array'),
        scores TEXT NOT NULL CHECK (json_valid(scores)),
        created_at TEXT NOT NULL ${ISO}
      ) STRICT;

      CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        prediction_id INTEGER NOT NULL REFERENCES predictions(id),
        label_version_id INTEGER REFERENCES label_versions(id),
        decision TEXT NOT NULL CHECK (decision IN ('accept', 'edit', 'reject')),
        seconds_spent REAL CHECK (seconds_spent IS NULL OR seconds_spent >= 0),
        author TEXT NOT NULL,
        created_at TEXT NOT NULL ${ISO},
        -- accepting or editing a prediction always produces a label version; rejecting never does
        CHECK ((decision = 'reject') = (label_version_id IS NULL))
      ) STRICT;
      CREATE INDEX reviews_prediction ON reviews(prediction_id);

      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id INTEGER,
        details TEXT CHECK (details IS NULL OR json_valid(details))
      ) STRICT;
      CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `);
  },
};
