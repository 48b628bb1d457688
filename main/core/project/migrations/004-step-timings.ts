// Step timings (issue 14): what a training run measured per step, so the next plan can say
// "measured on this machine" instead of estimating. One row per run and measured epoch,
// append-only (the measurement is a record like the audit log; a new run adds a row, nothing
// is ever rewritten). The shape columns are what the plan matches a new step against.
import type { Migration } from './migration';

export const migration004: Migration = {
  version: 4,
  name: 'step-timings',
  up(db) {
    db.exec(`
      CREATE TABLE training_step_timings (
        id INTEGER PRIMARY KEY,
        training_run_id INTEGER NOT NULL REFERENCES training_runs(id),
        epoch INTEGER NOT NULL CHECK (epoch >= 1),
        dims INTEGER NOT NULL CHECK (dims IN (2, 3)),
        patch_size TEXT NOT NULL CHECK (json_valid(patch_size)),
        batch_size INTEGER NOT NULL CHECK (batch_size >= 1),
        base_width INTEGER NOT NULL CHECK (base_width >= 1),
        depth INTEGER NOT NULL CHECK (depth >= 1),
        threads INTEGER NOT NULL CHECK (threads >= 1),
        backend TEXT NOT NULL CHECK (length(backend) > 0),
        native_conv INTEGER NOT NULL CHECK (native_conv IN (0, 1)),
        steps INTEGER NOT NULL CHECK (steps >= 1),
        first_step_seconds REAL NOT NULL CHECK (first_step_seconds > 0),
        median_step_seconds REAL NOT NULL CHECK (median_step_seconds > 0),
        mean_step_seconds REAL NOT NULL CHECK (mean_step_seconds > 0),
        cores_used REAL NOT NULL CHECK (cores_used >= 0),
        load_average REAL NOT NULL CHECK (load_average >= 0),
        cores INTEGER NOT NULL CHECK (cores >= 1),
        machine TEXT NOT NULL CHECK (length(machine) > 0),
        created_at TEXT NOT NULL CHECK (length(created_at) >= 20),
        UNIQUE (training_run_id, epoch)
      ) STRICT;
      CREATE TRIGGER training_step_timings_no_update BEFORE UPDATE ON training_step_timings
      BEGIN SELECT RAISE(ABORT, 'training_step_timings are append-only: a new run records a new row'); END;
      CREATE TRIGGER training_step_timings_no_delete BEFORE DELETE ON training_step_timings
      BEGIN SELECT RAISE(ABORT, 'training_step_timings are append-only: they cannot be deleted'); END;
    `);
  },
};
