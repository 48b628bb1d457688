import { SegloopError } from '../../../shared/errors';
import type { RepoContext } from './db';
import { REVIEW_DECISIONS, type MutationOptions, type ReviewDecision, type ReviewRow } from './types';

interface ReviewRecord {
  id: number;
  prediction_id: number;
  label_version_id: number | null;
  decision: ReviewDecision;
  seconds_spent: number | null;
  author: string;
  created_at: string;
}

const toRow = (r: ReviewRecord): ReviewRow => ({
  id: r.id,
  predictionId: r.prediction_id,
  labelVersionId: r.label_version_id,
  decision: r.decision,
  secondsSpent: r.seconds_spent,
  author: r.author,
  createdAt: r.created_at,
});

export interface NewReview {
  predictionId: number;
  /** Required for accept/edit (the ai_accepted/ai_edited version that was saved), null for reject. */
  labelVersionId?: number | null;
  decision: ReviewDecision;
  secondsSpent?: number | null;
  author: string;
}

export class ReviewRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): ReviewRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM reviews WHERE id = ?').get(id) as ReviewRecord | undefined;
    return r ? toRow(r) : null;
  }

  list(): ReviewRow[] {
    return (this.ctx.db.prepare('SELECT * FROM reviews ORDER BY id').all() as ReviewRecord[]).map(toRow);
  }

  listForPrediction(predictionId: number): ReviewRow[] {
    return (this.ctx.db.prepare('SELECT * FROM reviews WHERE prediction_id = ? ORDER BY id').all(predictionId) as ReviewRecord[]).map(toRow);
  }

  create(input: NewReview, opts?: MutationOptions): ReviewRow {
    if (!(REVIEW_DECISIONS as readonly string[]).includes(input.decision)) {
      throw new SegloopError('INVALID_ARGUMENT', `Unknown review decision "${input.decision}": use accept, edit or reject.`);
    }
    const lv = input.labelVersionId ?? null;
    if ((input.decision === 'reject') !== (lv === null)) {
      throw new SegloopError(
        'INVALID_ARGUMENT',
        input.decision === 'reject' ? 'A rejected prediction does not produce a label version.' : `An "${input.decision}" review needs the label version it saved.`,
      );
    }
    return this.ctx.tx(() => {
      const prediction = this.ctx.db.prepare('SELECT image_id FROM predictions WHERE id = ?').get(input.predictionId) as { image_id: number } | undefined;
      if (!prediction) throw new SegloopError('NOT_FOUND', `Prediction ${input.predictionId} does not exist.`, { predictionId: input.predictionId });
      if (lv !== null) {
        const label = this.ctx.db.prepare('SELECT image_id FROM label_versions WHERE id = ?').get(lv) as { image_id: number } | undefined;
        if (!label) throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${lv} does not exist.`, { id: lv });
        if (label.image_id !== prediction.image_id) {
          throw new SegloopError('INVALID_ARGUMENT', `Label version ${lv} is for another image than prediction ${input.predictionId}.`);
        }
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare('INSERT INTO reviews (prediction_id, label_version_id, decision, seconds_spent, author, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(input.predictionId, lv, input.decision, input.secondsSpent ?? null, input.author, this.ctx.now());
      const id = Number(lastInsertRowid);
      this.ctx.audit('review.create', 'review', id, { predictionId: input.predictionId, decision: input.decision, labelVersionId: lv }, {
        actor: opts?.actor ?? input.author,
      });
      return toRow(this.ctx.db.prepare('SELECT * FROM reviews WHERE id = ?').get(id) as ReviewRecord);
    });
  }

  /** The newest review of every reviewed prediction. */
  latestPerPrediction(): Map<number, ReviewRow> {
    const rows = this.ctx.db
      .prepare('SELECT r.* FROM reviews r JOIN (SELECT prediction_id, max(id) AS id FROM reviews GROUP BY prediction_id) m ON m.id = r.id')
      .all() as ReviewRecord[];
    return new Map(rows.map((r) => [r.prediction_id, toRow(r)]));
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM reviews').get() as { n: number }).n;
  }
}
