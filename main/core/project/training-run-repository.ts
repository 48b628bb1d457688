import { SegloopError } from '../../../shared/errors';
import { fromJsonRequired, type RepoContext } from './db';
import type { JsonObject, MutationOptions, TrainingDataSnapshot, TrainingRunRow, TrainingRunStatus } from './types';

interface TrainingRunRecord {
  id: number;
  config: string;
  backend: string | null;
  data_snapshot: string;
  log: string;
  status: TrainingRunStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
}

const toRow = (r: TrainingRunRecord): TrainingRunRow => ({
  id: r.id,
  config: fromJsonRequired<JsonObject>(r.config),
  backend: r.backend,
  dataSnapshot: fromJsonRequired<TrainingDataSnapshot>(r.data_snapshot),
  log: r.log,
  status: r.status,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  error: r.error,
});

export interface NewTrainingRun {
  config: JsonObject;
  dataSnapshot: TrainingDataSnapshot;
}

export type FinalTrainingStatus = 'completed' | 'failed' | 'cancelled';

export class TrainingRunRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): TrainingRunRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as TrainingRunRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): TrainingRunRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('INVALID_ARGUMENT', `Training run ${id} does not exist in this project.`, { id });
    return row;
  }

  list(): TrainingRunRow[] {
    return (this.ctx.db.prepare('SELECT * FROM training_runs ORDER BY id').all() as TrainingRunRecord[]).map(toRow);
  }

  /** A queued run. Every label version of the snapshot must exist (the run must be reproducible). */
  create(input: NewTrainingRun, opts?: MutationOptions): TrainingRunRow {
    return this.ctx.tx(() => {
      const exists = this.ctx.db.prepare('SELECT 1 FROM label_versions WHERE id = ?');
      for (const id of input.dataSnapshot.labelVersionIds) {
        if (!exists.get(id)) throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${id} in the training snapshot does not exist.`, { id });
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare("INSERT INTO training_runs (config, data_snapshot, status, created_at) VALUES (?, ?, 'queued', ?)")
        .run(JSON.stringify(input.config), JSON.stringify(input.dataSnapshot), this.ctx.now());
      const id = Number(lastInsertRowid);
      this.ctx.audit('training_run.create', 'training_run', id, { labelVersions: input.dataSnapshot.labelVersionIds.length }, opts);
      return this.require(id);
    });
  }

  markRunning(id: number, backend: string, opts?: MutationOptions): TrainingRunRow {
    return this.ctx.tx(() => {
      const before = this.require(id);
      if (before.status !== 'queued') throw new SegloopError('INVALID_ARGUMENT', `Training run ${id} is ${before.status}, not queued.`);
      this.ctx.db.prepare("UPDATE training_runs SET status = 'running', backend = ?, started_at = ? WHERE id = ?").run(backend, this.ctx.now(), id);
      this.ctx.audit('training_run.status', 'training_run', id, { from: 'queued', to: 'running', backend }, opts);
      return this.require(id);
    });
  }

  /** Appends text to the run's log. The log is itself a record, so this is not repeated in audit_log. */
  appendLog(id: number, text: string): void {
    this.ctx.tx(() => {
      const { changes } = this.ctx.db.prepare('UPDATE training_runs SET log = log || ? WHERE id = ?').run(text, id);
      if (changes === 0) this.require(id);
    });
  }

  finish(id: number, status: FinalTrainingStatus, error: string | null = null, opts?: MutationOptions): TrainingRunRow {
    if (!['completed', 'failed', 'cancelled'].includes(status)) {
      throw new SegloopError('INVALID_ARGUMENT', `A training run cannot finish as "${status}".`);
    }
    return this.ctx.tx(() => {
      const before = this.require(id);
      if (before.status !== 'queued' && before.status !== 'running') {
        throw new SegloopError('INVALID_ARGUMENT', `Training run ${id} has already ended (${before.status}).`);
      }
      this.ctx.db.prepare('UPDATE training_runs SET status = ?, error = ?, ended_at = ? WHERE id = ?').run(status, error, this.ctx.now(), id);
      this.ctx.audit('training_run.status', 'training_run', id, { from: before.status, to: status, error }, opts);
      return this.require(id);
    });
  }

  /**
   * Marks queued/running runs as failed after the process that ran them died (call at start-up
   * from the owning process, before starting new runs). Returns the ids it changed.
   */
  markInterrupted(opts?: MutationOptions): number[] {
    return this.ctx.tx(() => {
      const ids = (this.ctx.db.prepare("SELECT id FROM training_runs WHERE status IN ('queued', 'running') ORDER BY id").all() as { id: number }[]).map(
        (r) => r.id,
      );
      for (const id of ids) this.finish(id, 'failed', 'interrupted: Segloop stopped before the run finished', opts);
      return ids;
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number }).n;
  }
}
