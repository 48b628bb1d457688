import { SegloopError } from '../../../shared/errors';
import { fromJsonRequired, type RepoContext } from './db';
import { SPLITS, type ImageMeta, type ImageRow, type MutationOptions, type Split } from './types';

interface ImageRecord {
  id: number;
  patient_id: number;
  path: string;
  sha256: string;
  shape: string;
  spacing: string;
  affine: string;
  dtype: string;
  modality: string | null;
  site: string | null;
  split: Split | null;
  source_name: string | null;
  created_at: string;
}

const toRow = (r: ImageRecord): ImageRow => ({
  id: r.id,
  patientId: r.patient_id,
  path: r.path,
  sha256: r.sha256,
  shape: fromJsonRequired<number[]>(r.shape),
  spacing: fromJsonRequired<number[]>(r.spacing),
  affine: fromJsonRequired<number[][]>(r.affine),
  dtype: r.dtype,
  modality: r.modality,
  site: r.site,
  split: r.split,
  sourceName: r.source_name,
  createdAt: r.created_at,
});

/** A row for a file that is already in the project folder. Use ProjectStore.addImageFile to add files. */
export interface NewImageRow extends ImageMeta {
  patientId: number;
  path: string;
  sha256: string;
  site?: string | null;
  split?: Split | null;
  sourceName?: string | null;
}

export interface ImageFilter {
  split?: Split | null;
  patientId?: number;
}

export class ImageRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): ImageRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): ImageRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('IMAGE_NOT_FOUND', `Image ${id} does not exist in this project.`, { id });
    return row;
  }

  getBySha256(sha256: string): ImageRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM images WHERE sha256 = ?').get(sha256) as ImageRecord | undefined;
    return r ? toRow(r) : null;
  }

  list(filter: ImageFilter = {}): ImageRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.split !== undefined) {
      if (filter.split === null) where.push('split IS NULL');
      else { where.push('split = ?'); args.push(filter.split); }
    }
    if (filter.patientId !== undefined) { where.push('patient_id = ?'); args.push(filter.patientId); }
    const sql = `SELECT * FROM images${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.ctx.db.prepare(sql).all(...args) as ImageRecord[]).map(toRow);
  }

  insertRow(input: NewImageRow, opts?: MutationOptions): ImageRow {
    assertSplit(input.split ?? null);
    return this.ctx.tx(() => {
      const { lastInsertRowid } = this.ctx.db
        .prepare(
          `INSERT INTO images (patient_id, path, sha256, shape, spacing, affine, dtype, modality, site, split, source_name, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.patientId,
          input.path,
          input.sha256,
          JSON.stringify(input.shape),
          JSON.stringify(input.spacing),
          JSON.stringify(input.affine),
          input.dtype,
          input.modality ?? null,
          input.site ?? null,
          input.split ?? null,
          input.sourceName ?? null,
          this.ctx.now(),
        );
      const id = Number(lastInsertRowid);
      this.ctx.audit(
        'image.create',
        'image',
        id,
        { patientId: input.patientId, path: input.path, sha256: input.sha256, split: input.split ?? null, sourceName: input.sourceName ?? null },
        opts,
      );
      return this.require(id);
    });
  }

  /** Moves images between splits (pool/train/val/test or none). Returns the number changed. */
  setSplit(ids: readonly number[], split: Split | null, opts?: MutationOptions): number {
    assertSplit(split);
    return this.ctx.tx(() => {
      let changed = 0;
      for (const id of ids) {
        const before = this.require(id);
        if (before.split === split) continue;
        this.ctx.db.prepare('UPDATE images SET split = ? WHERE id = ?').run(split, id);
        this.ctx.audit('image.split', 'image', id, { from: before.split, to: split }, opts);
        changed++;
      }
      return changed;
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
  }
}

function assertSplit(split: Split | null): void {
  if (split !== null && !(SPLITS as readonly string[]).includes(split)) {
    throw new SegloopError('INVALID_ARGUMENT', `Unknown split "${String(split)}": use one of ${SPLITS.join(', ')} or none.`, { split });
  }
}
