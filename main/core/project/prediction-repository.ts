import { SegloopError } from '../../../shared/errors';
import { fromJson, type RepoContext } from './db';
import type { JsonObject, MutationOptions, PredictionRow } from './types';

interface PredictionRecord {
  id: number;
  image_id: number;
  model_id: number;
  path: string;
  sha256: string;
  uncertainty_path: string | null;
  uncertainty_sha256: string | null;
  scores: string | null;
  tta: number;
  created_at: string;
}

const toRow = (r: PredictionRecord): PredictionRow => ({
  id: r.id,
  imageId: r.image_id,
  modelId: r.model_id,
  path: r.path,
  sha256: r.sha256,
  uncertaintyPath: r.uncertainty_path,
  uncertaintySha256: r.uncertainty_sha256,
  scores: fromJson<JsonObject>(r.scores),
  tta: r.tta === 1,
  createdAt: r.created_at,
});

export interface PredictionMeta {
  imageId: number;
  modelId: number;
  scores?: JsonObject | null;
  tta: boolean;
}

/** A row for files already in the project folder. Use ProjectStore.addPredictionFiles to save predictions. */
export interface NewPredictionRow extends PredictionMeta {
  path: string;
  sha256: string;
  uncertaintyPath?: string | null;
  uncertaintySha256?: string | null;
}

export class PredictionRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): PredictionRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM predictions WHERE id = ?').get(id) as PredictionRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): PredictionRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('NOT_FOUND', `Prediction ${id} does not exist in this project.`, { id });
    return row;
  }

  listForImage(imageId: number): PredictionRow[] {
    return (this.ctx.db.prepare('SELECT * FROM predictions WHERE image_id = ? ORDER BY id').all(imageId) as PredictionRecord[]).map(toRow);
  }

  listForModel(modelId: number): PredictionRow[] {
    return (this.ctx.db.prepare('SELECT * FROM predictions WHERE model_id = ? ORDER BY id').all(modelId) as PredictionRecord[]).map(toRow);
  }

  /** The newest prediction of this image (by this model when given). */
  latestForImage(imageId: number, modelId?: number): PredictionRow | null {
    const r = (
      modelId === undefined
        ? this.ctx.db.prepare('SELECT * FROM predictions WHERE image_id = ? ORDER BY id DESC LIMIT 1').get(imageId)
        : this.ctx.db.prepare('SELECT * FROM predictions WHERE image_id = ? AND model_id = ? ORDER BY id DESC LIMIT 1').get(imageId, modelId)
    ) as PredictionRecord | undefined;
    return r ? toRow(r) : null;
  }

  insertRow(input: NewPredictionRow, opts?: MutationOptions): PredictionRow {
    return this.ctx.tx(() => {
      if (!this.ctx.db.prepare('SELECT 1 FROM images WHERE id = ?').get(input.imageId)) {
        throw new SegloopError('IMAGE_NOT_FOUND', `Image ${input.imageId} does not exist.`, { imageId: input.imageId });
      }
      if (!this.ctx.db.prepare('SELECT 1 FROM models WHERE id = ?').get(input.modelId)) {
        throw new SegloopError('MODEL_NOT_FOUND', `Model ${input.modelId} does not exist.`, { modelId: input.modelId });
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare(
          `INSERT INTO predictions (image_id, model_id, path, sha256, uncertainty_path, uncertainty_sha256, scores, tta, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.imageId,
          input.modelId,
          input.path,
          input.sha256,
          input.uncertaintyPath ?? null,
          input.uncertaintySha256 ?? null,
          input.scores == null ? null : JSON.stringify(input.scores),
          input.tta ? 1 : 0,
          this.ctx.now(),
        );
      const id = Number(lastInsertRowid);
      this.ctx.audit('prediction.create', 'prediction', id, { imageId: input.imageId, modelId: input.modelId, path: input.path }, opts);
      return this.require(id);
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM predictions').get() as { n: number }).n;
  }
}
