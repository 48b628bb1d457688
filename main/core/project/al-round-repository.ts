import { SegloopError } from '../../../shared/errors';
import { fromJsonRequired, type RepoContext } from './db';
import type { AlRoundRow, JsonObject, MutationOptions } from './types';

interface AlRoundRecord {
  id: number;
  strategy: string;
  model_id: number | null;
  selected: string;
  scores: string;
  created_at: string;
}

const toRow = (r: AlRoundRecord): AlRoundRow => ({
  id: r.id,
  strategy: r.strategy,
  modelId: r.model_id,
  selected: fromJsonRequired<number[]>(r.selected),
  scores: fromJsonRequired<JsonObject>(r.scores),
  createdAt: r.created_at,
});

export interface NewAlRound {
  strategy: string;
  modelId?: number | null;
  selected: number[];
  scores: JsonObject;
}

export class AlRoundRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): AlRoundRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM al_rounds WHERE id = ?').get(id) as AlRoundRecord | undefined;
    return r ? toRow(r) : null;
  }

  list(): AlRoundRow[] {
    return (this.ctx.db.prepare('SELECT * FROM al_rounds ORDER BY id').all() as AlRoundRecord[]).map(toRow);
  }

  create(input: NewAlRound, opts?: MutationOptions): AlRoundRow {
    return this.ctx.tx(() => {
      if (input.modelId != null && !this.ctx.db.prepare('SELECT 1 FROM models WHERE id = ?').get(input.modelId)) {
        throw new SegloopError('MODEL_NOT_FOUND', `Model ${input.modelId} does not exist.`, { modelId: input.modelId });
      }
      const exists = this.ctx.db.prepare('SELECT 1 FROM images WHERE id = ?');
      for (const imageId of input.selected) {
        if (!exists.get(imageId)) throw new SegloopError('IMAGE_NOT_FOUND', `Selected image ${imageId} does not exist.`, { imageId });
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare('INSERT INTO al_rounds (strategy, model_id, selected, scores, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(input.strategy, input.modelId ?? null, JSON.stringify(input.selected), JSON.stringify(input.scores), this.ctx.now());
      const id = Number(lastInsertRowid);
      this.ctx.audit('al_round.create', 'al_round', id, { strategy: input.strategy, modelId: input.modelId ?? null, selected: input.selected }, opts);
      return toRow(this.ctx.db.prepare('SELECT * FROM al_rounds WHERE id = ?').get(id) as AlRoundRecord);
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM al_rounds').get() as { n: number }).n;
  }
}
