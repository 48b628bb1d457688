import { SegloopError } from '../../../shared/errors';
import { fromJson, type RepoContext } from './db';
import { SegmentStatusRepository, type NewSegmentStatus } from './segment-status-repository';
import { LABEL_SOURCES, type LabelSource, type LabelVersionRow, type MutationOptions } from './types';

interface LabelVersionRecord {
  id: number;
  image_id: number;
  parent_id: number | null;
  path: string;
  sha256: string;
  source: LabelSource;
  author: string;
  model_id: number | null;
  voxels_changed: number | null;
  seconds_spent: number | null;
  labelled_classes: string | null;
  created_at: string;
}

const toRow = (r: LabelVersionRecord): LabelVersionRow => ({
  id: r.id,
  imageId: r.image_id,
  parentId: r.parent_id,
  path: r.path,
  sha256: r.sha256,
  source: r.source,
  author: r.author,
  modelId: r.model_id,
  voxelsChanged: r.voxels_changed,
  secondsSpent: r.seconds_spent,
  labelledClasses: fromJson<number[]>(r.labelled_classes),
  createdAt: r.created_at,
});

/** Everything about a label version except its file. */
export interface LabelVersionMeta {
  imageId: number;
  parentId?: number | null;
  source: LabelSource;
  author: string;
  modelId?: number | null;
  voxelsChanged?: number | null;
  secondsSpent?: number | null;
  labelledClasses?: number[] | null;
  /** Per-class segment status, recorded in the same transaction as the version (none: untracked). */
  segmentStatus?: readonly NewSegmentStatus[] | null;
}

/** A row for a file already in the project folder. Use ProjectStore.addLabelVersionFile to save labels. */
export interface NewLabelVersionRow extends LabelVersionMeta {
  path: string;
  sha256: string;
}

/** Label versions are immutable (enforced by triggers): this repository only inserts and reads. */
export class LabelVersionRepository {
  /** The segment statuses of these versions (written only through insertRow). */
  readonly statuses: SegmentStatusRepository;

  constructor(private readonly ctx: RepoContext) {
    this.statuses = new SegmentStatusRepository(ctx);
  }

  get(id: number): LabelVersionRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM label_versions WHERE id = ?').get(id) as LabelVersionRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): LabelVersionRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${id} does not exist in this project.`, { id });
    return row;
  }

  /** All versions of one image, oldest first. */
  listForImage(imageId: number): LabelVersionRow[] {
    return (this.ctx.db.prepare('SELECT * FROM label_versions WHERE image_id = ? ORDER BY id').all(imageId) as LabelVersionRecord[]).map(toRow);
  }

  latestForImage(imageId: number): LabelVersionRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM label_versions WHERE image_id = ? ORDER BY id DESC LIMIT 1').get(imageId) as
      | LabelVersionRecord
      | undefined;
    return r ? toRow(r) : null;
  }

  /** The newest version of every labelled image (what a training run snapshots), by image id. */
  latestPerImage(): LabelVersionRow[] {
    const sql = `SELECT lv.* FROM label_versions lv
      JOIN (SELECT image_id, max(id) AS id FROM label_versions GROUP BY image_id) latest ON latest.id = lv.id
      ORDER BY lv.image_id`;
    return (this.ctx.db.prepare(sql).all() as LabelVersionRecord[]).map(toRow);
  }

  /**
   * LABEL_CONFLICT unless `parentId` is the newest version of the image (null: it has none).
   * The details name the newer version (id, author, when) so the editor can offer a choice.
   * Call inside the write transaction of the save for the check to hold.
   */
  assertParentIsLatest(imageId: number, parentId: number | null): void {
    const latest = this.latestForImage(imageId);
    if ((latest?.id ?? null) === parentId || latest === null) return;
    throw new SegloopError(
      'LABEL_CONFLICT',
      `Image ${imageId} has a newer label version (${latest.id}, saved by ${latest.author} at ${latest.createdAt}) than the one you edited (${parentId ?? 'none'}). Nothing was saved: keep yours as a new version on top, or open theirs.`,
      {
        imageId: String(imageId),
        parentVersionId: parentId === null ? null : String(parentId),
        latest: { id: String(latest.id), author: latest.author, createdAt: latest.createdAt, source: latest.source },
      },
    );
  }

  /** A version of this image with exactly this content and source, if any (for idempotent import). */
  findSame(imageId: number, sha256: string, source: LabelSource): LabelVersionRow | null {
    const r = this.ctx.db
      .prepare('SELECT * FROM label_versions WHERE image_id = ? AND sha256 = ? AND source = ? ORDER BY id LIMIT 1')
      .get(imageId, sha256, source) as LabelVersionRecord | undefined;
    return r ? toRow(r) : null;
  }

  insertRow(input: NewLabelVersionRow, opts?: MutationOptions): LabelVersionRow {
    if (!(LABEL_SOURCES as readonly string[]).includes(input.source)) {
      throw new SegloopError('INVALID_ARGUMENT', `Unknown label source "${input.source}": use one of ${LABEL_SOURCES.join(', ')}.`);
    }
    if (!input.author.trim()) throw new SegloopError('INVALID_ARGUMENT', 'A label version needs an author.');
    if (input.segmentStatus) this.statuses.validate(input.segmentStatus);
    return this.ctx.tx(() => {
      const image = this.ctx.db.prepare('SELECT id FROM images WHERE id = ?').get(input.imageId);
      if (!image) throw new SegloopError('IMAGE_NOT_FOUND', `Image ${input.imageId} does not exist: cannot save its label.`, { imageId: input.imageId });
      if (input.parentId != null) {
        const parent = this.require(input.parentId);
        if (parent.imageId !== input.imageId) {
          throw new SegloopError('INVALID_ARGUMENT', `Label version ${parent.id} belongs to image ${parent.imageId}, not ${input.imageId}.`);
        }
      }
      if (input.modelId != null && !this.ctx.db.prepare('SELECT id FROM models WHERE id = ?').get(input.modelId)) {
        throw new SegloopError('MODEL_NOT_FOUND', `Model ${input.modelId} does not exist.`, { modelId: input.modelId });
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare(
          `INSERT INTO label_versions (image_id, parent_id, path, sha256, source, author, model_id, voxels_changed, seconds_spent, labelled_classes, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.imageId,
          input.parentId ?? null,
          input.path,
          input.sha256,
          input.source,
          input.author,
          input.modelId ?? null,
          input.voxelsChanged ?? null,
          input.secondsSpent ?? null,
          input.labelledClasses == null ? null : JSON.stringify(input.labelledClasses),
          this.ctx.now(),
        );
      const id = Number(lastInsertRowid);
      this.ctx.audit(
        'label_version.create',
        'label_version',
        id,
        { imageId: input.imageId, parentId: input.parentId ?? null, source: input.source, sha256: input.sha256, path: input.path },
        { actor: opts?.actor ?? input.author },
      );
      if (input.segmentStatus?.length) this.statuses.recordForNewVersion(id, input.parentId ?? null, input.segmentStatus, input.author, opts);
      return this.require(id);
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM label_versions').get() as { n: number }).n;
  }

  countBySource(): Record<LabelSource, number> {
    const out = Object.fromEntries(LABEL_SOURCES.map((s) => [s, 0])) as Record<LabelSource, number>;
    for (const r of this.ctx.db.prepare('SELECT source, count(*) AS n FROM label_versions GROUP BY source').all() as { source: LabelSource; n: number }[]) {
      out[r.source] = r.n;
    }
    return out;
  }

  /** Label versions per image id (images without any are absent). */
  countPerImage(): Map<number, number> {
    const rows = this.ctx.db.prepare('SELECT image_id AS imageId, count(*) AS n FROM label_versions GROUP BY image_id').all() as { imageId: number; n: number }[];
    return new Map(rows.map((r) => [r.imageId, r.n]));
  }

  countLabelledImages(): number {
    return (this.ctx.db.prepare('SELECT count(DISTINCT image_id) AS n FROM label_versions').get() as { n: number }).n;
  }
}
