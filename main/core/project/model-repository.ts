import { SegloopError } from '../../../shared/errors';
import { fromJson, fromJsonRequired, type RepoContext } from './db';
import { MODEL_STATUSES, type JsonObject, type ModelRow, type ModelStatus, type MutationOptions } from './types';

interface ModelRecord {
  id: number;
  version: number;
  parent_id: number | null;
  architecture: string;
  config: string;
  weights_path: string | null;
  weights_sha256: string | null;
  training_run_id: number | null;
  metrics: string | null;
  status: ModelStatus;
  created_at: string;
}

const toRow = (r: ModelRecord): ModelRow => ({
  id: r.id,
  version: r.version,
  parentId: r.parent_id,
  architecture: r.architecture,
  config: fromJsonRequired<JsonObject>(r.config),
  weightsPath: r.weights_path,
  weightsSha256: r.weights_sha256,
  trainingRunId: r.training_run_id,
  metrics: fromJson<JsonObject>(r.metrics),
  status: r.status,
  createdAt: r.created_at,
});

export interface NewModel {
  architecture: string;
  config: JsonObject;
  parentId?: number | null;
  trainingRunId?: number | null;
  metrics?: JsonObject | null;
}

export class ModelRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): ModelRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): ModelRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('MODEL_NOT_FOUND', `Model ${id} does not exist in this project.`, { id });
    return row;
  }

  list(): ModelRow[] {
    return (this.ctx.db.prepare('SELECT * FROM models ORDER BY version').all() as ModelRecord[]).map(toRow);
  }

  /** The model currently in use, if one was promoted. */
  promoted(): ModelRow | null {
    const r = this.ctx.db.prepare("SELECT * FROM models WHERE status = 'promoted'").get() as ModelRecord | undefined;
    return r ? toRow(r) : null;
  }

  /** A new candidate with the next version number; weights are attached later (setWeights). */
  create(input: NewModel, opts?: MutationOptions): ModelRow {
    return this.ctx.tx(() => {
      if (input.parentId != null) this.require(input.parentId);
      if (input.trainingRunId != null && !this.ctx.db.prepare('SELECT id FROM training_runs WHERE id = ?').get(input.trainingRunId)) {
        throw new SegloopError('INVALID_ARGUMENT', `Training run ${input.trainingRunId} does not exist.`, { trainingRunId: input.trainingRunId });
      }
      const { v } = this.ctx.db.prepare('SELECT coalesce(max(version), 0) + 1 AS v FROM models').get() as { v: number };
      const { lastInsertRowid } = this.ctx.db
        .prepare(
          `INSERT INTO models (version, parent_id, architecture, config, training_run_id, metrics, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'candidate', ?)`,
        )
        .run(
          v,
          input.parentId ?? null,
          input.architecture,
          JSON.stringify(input.config),
          input.trainingRunId ?? null,
          input.metrics == null ? null : JSON.stringify(input.metrics),
          this.ctx.now(),
        );
      const id = Number(lastInsertRowid);
      this.ctx.audit('model.create', 'model', id, { version: v, architecture: input.architecture, parentId: input.parentId ?? null }, opts);
      return this.require(id);
    });
  }

  /** Records the weights file (already written inside the project). Weights are set once, never replaced. */
  setWeights(id: number, weightsPath: string, weightsSha256: string, opts?: MutationOptions): ModelRow {
    return this.ctx.tx(() => {
      const before = this.require(id);
      if (before.weightsPath !== null) {
        throw new SegloopError('INVALID_ARGUMENT', `Model v${before.version} already has weights (${before.weightsPath}); save a new model version instead.`);
      }
      this.ctx.db.prepare('UPDATE models SET weights_path = ?, weights_sha256 = ? WHERE id = ?').run(weightsPath, weightsSha256, id);
      this.ctx.audit('model.weights', 'model', id, { weightsPath, weightsSha256 }, opts);
      return this.require(id);
    });
  }

  setMetrics(id: number, metrics: JsonObject, opts?: MutationOptions): ModelRow {
    return this.ctx.tx(() => {
      const before = this.require(id);
      this.ctx.db.prepare('UPDATE models SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics), id);
      this.ctx.audit('model.metrics', 'model', id, { before: before.metrics, after: metrics }, opts);
      return this.require(id);
    });
  }

  /** Promoting a model retires the previously promoted one: at most one model is in use. */
  setStatus(id: number, status: ModelStatus, opts?: MutationOptions): ModelRow {
    if (!(MODEL_STATUSES as readonly string[]).includes(status)) {
      throw new SegloopError('INVALID_ARGUMENT', `Unknown model status "${status}": use one of ${MODEL_STATUSES.join(', ')}.`);
    }
    return this.ctx.tx(() => {
      const before = this.require(id);
      if (before.status === status) return before;
      if (status === 'promoted') {
        if (before.weightsPath === null) {
          throw new SegloopError('INVALID_ARGUMENT', `Model v${before.version} has no weights yet and cannot be promoted.`);
        }
        const current = this.promoted();
        if (current) {
          this.ctx.db.prepare("UPDATE models SET status = 'retired' WHERE id = ?").run(current.id);
          this.ctx.audit('model.status', 'model', current.id, { from: 'promoted', to: 'retired', replacedBy: id }, opts);
        }
      }
      this.ctx.db.prepare('UPDATE models SET status = ? WHERE id = ?').run(status, id);
      this.ctx.audit('model.status', 'model', id, { from: before.status, to: status }, opts);
      return this.require(id);
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM models').get() as { n: number }).n;
  }
}
