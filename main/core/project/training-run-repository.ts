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

/** What a run measured per step in one epoch (migration 004; the plan reads these back). */
export interface NewStepTiming {
  epoch: number;
  dims: 2 | 3;
  patchSize: number[];
  batchSize: number;
  baseWidth: number;
  depth: number;
  threads: number;
  backend: string;
  nativeConv: boolean;
  steps: number;
  firstStepSeconds: number;
  /** Median of steps 2..N (step 1 builds kernels); equals step 1 when the epoch had one step. */
  medianStepSeconds: number;
  meanStepSeconds: number;
  /** Process CPU time / wall time during those steps (2.0 = both cores busy). */
  coresUsed: number;
  loadAverage: number;
  cores: number;
  /** Which machine measured it (a project folder can move to another computer). */
  machine: string;
}

export interface StepTimingRow extends NewStepTiming {
  id: number;
  trainingRunId: number;
  createdAt: string;
}

interface StepTimingRecord {
  id: number;
  training_run_id: number;
  epoch: number;
  dims: number;
  patch_size: string;
  batch_size: number;
  base_width: number;
  depth: number;
  threads: number;
  backend: string;
  native_conv: number;
  steps: number;
  first_step_seconds: number;
  median_step_seconds: number;
  mean_step_seconds: number;
  cores_used: number;
  load_average: number;
  cores: number;
  machine: string;
  created_at: string;
}

const toTiming = (r: StepTimingRecord): StepTimingRow => ({
  id: r.id,
  trainingRunId: r.training_run_id,
  epoch: r.epoch,
  dims: r.dims === 3 ? 3 : 2,
  patchSize: fromJsonRequired<number[]>(r.patch_size),
  batchSize: r.batch_size,
  baseWidth: r.base_width,
  depth: r.depth,
  threads: r.threads,
  backend: r.backend,
  nativeConv: r.native_conv === 1,
  steps: r.steps,
  firstStepSeconds: r.first_step_seconds,
  medianStepSeconds: r.median_step_seconds,
  meanStepSeconds: r.mean_step_seconds,
  coresUsed: r.cores_used,
  loadAverage: r.load_average,
  cores: r.cores,
  machine: r.machine,
  createdAt: r.created_at,
});

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

  /**
   * Records what a run measured (append-only: a second record of the same run and epoch is refused,
   * the first one is kept). The log is not repeated in audit_log: the row is itself the record.
   */
  recordStepTiming(runId: number, t: NewStepTiming): StepTimingRow {
    return this.ctx.tx(() => {
      this.require(runId);
      if (!Number.isInteger(t.epoch) || t.epoch < 1 || !t.patchSize.length || t.patchSize.some((p) => !Number.isInteger(p) || p < 1)) {
        throw new SegloopError('INVALID_ARGUMENT', `Step timing of run ${runId}: epoch must be >= 1 and the patch positive integers, got epoch ${t.epoch}, patch ${t.patchSize.join('x')}.`);
      }
      const dup = this.ctx.db.prepare('SELECT id FROM training_step_timings WHERE training_run_id = ? AND epoch = ?').get(runId, t.epoch);
      if (dup) throw new SegloopError('INVALID_ARGUMENT', `Training run ${runId} already has a step timing for epoch ${t.epoch}; timings are never rewritten.`);
      const { lastInsertRowid } = this.ctx.db
        .prepare(
          `INSERT INTO training_step_timings (training_run_id, epoch, dims, patch_size, batch_size, base_width, depth, threads, backend, native_conv, steps,
             first_step_seconds, median_step_seconds, mean_step_seconds, cores_used, load_average, cores, machine, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          runId, t.epoch, t.dims, JSON.stringify(t.patchSize), t.batchSize, t.baseWidth, t.depth, t.threads, t.backend, t.nativeConv ? 1 : 0, t.steps,
          t.firstStepSeconds, t.medianStepSeconds, t.meanStepSeconds, t.coresUsed, t.loadAverage, t.cores, t.machine, this.ctx.now(),
        );
      return toTiming(this.ctx.db.prepare('SELECT * FROM training_step_timings WHERE id = ?').get(Number(lastInsertRowid)) as StepTimingRecord);
    });
  }

  /** Every recorded step timing, oldest first; of one run when runId is given. */
  stepTimings(runId?: number): StepTimingRow[] {
    const rows = (runId === undefined
      ? this.ctx.db.prepare('SELECT * FROM training_step_timings ORDER BY id').all()
      : this.ctx.db.prepare('SELECT * FROM training_step_timings WHERE training_run_id = ? ORDER BY id').all(runId)) as StepTimingRecord[];
    return rows.map(toTiming);
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number }).n;
  }
}
