// Segment status rows (migration 003): recorded once per label version, inside the transaction
// that inserts the version (LabelVersionRepository.insertRow), so a version and its statuses
// commit together or not at all. Rows are never updated or deleted (triggers): changing a status
// means saving a new version, and the old version keeps the statuses it was saved with — a
// training run's data snapshot (label version ids) therefore fixes its statuses too.
import { SegloopError } from '../../../shared/errors';
import { SEGMENT_STATUSES, type SegmentStatus } from '../../../shared/vocabulary';
import type { RepoContext } from './db';
import type { MutationOptions } from './types';

export interface SegmentStatusRow {
  id: number;
  labelVersionId: number;
  classIdx: number;
  status: SegmentStatus;
  note: string | null;
  author: string;
  createdAt: string;
}

export interface NewSegmentStatus {
  classIdx: number;
  status: SegmentStatus;
  note?: string | null;
}

interface Record_ {
  id: number;
  label_version_id: number;
  class_idx: number;
  status: SegmentStatus;
  note: string | null;
  author: string;
  created_at: string;
}

const toRow = (r: Record_): SegmentStatusRow => ({
  id: r.id,
  labelVersionId: r.label_version_id,
  classIdx: r.class_idx,
  status: r.status,
  note: r.note,
  author: r.author,
  createdAt: r.created_at,
});

export const MAX_NOTE_CHARS = 1000;

export class SegmentStatusRepository {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Checks entries against the vocabulary and the label schema (background has no status):
   * LABEL_OUT_OF_SCHEMA for a class the schema lacks, INVALID_ARGUMENT for an unknown status.
   */
  validate(entries: readonly NewSegmentStatus[]): void {
    const schema = new Set(this.ctx.db.prepare('SELECT idx FROM label_schema WHERE idx > 0').pluck().all() as number[]);
    const seen = new Set<number>();
    for (const e of entries) {
      if (!(SEGMENT_STATUSES as readonly string[]).includes(e.status)) {
        throw new SegloopError('INVALID_ARGUMENT', `Unknown segment status "${String(e.status)}" for class ${e.classIdx}: use one of ${SEGMENT_STATUSES.join(', ')}. Nothing was saved.`, {
          classIndex: e.classIdx,
          status: String(e.status),
        });
      }
      if (!Number.isInteger(e.classIdx) || !schema.has(e.classIdx)) {
        throw new SegloopError(
          'LABEL_OUT_OF_SCHEMA',
          `Segment status for class ${e.classIdx}, which is not a foreground class of the label schema (${[...schema].join(', ') || 'none'}). Nothing was saved.`,
          { values: [e.classIdx] },
        );
      }
      if (seen.has(e.classIdx)) throw new SegloopError('INVALID_ARGUMENT', `Class ${e.classIdx} has two segment statuses in one save. Nothing was saved.`, { classIndex: e.classIdx });
      seen.add(e.classIdx);
      if (e.note != null && e.note.length > MAX_NOTE_CHARS) {
        throw new SegloopError('INVALID_ARGUMENT', `The note of class ${e.classIdx} is longer than ${MAX_NOTE_CHARS} characters. Nothing was saved.`, { classIndex: e.classIdx });
      }
    }
  }

  /**
   * Records the statuses of a label version that is being inserted (call inside its
   * transaction). The audit entry keeps the parent version's statuses next to the new ones.
   */
  recordForNewVersion(labelVersionId: number, parentId: number | null, entries: readonly NewSegmentStatus[], author: string, opts?: MutationOptions): SegmentStatusRow[] {
    this.validate(entries);
    if (entries.length === 0) return [];
    return this.ctx.tx(() => {
      if (this.isTracked(labelVersionId)) {
        throw new SegloopError('INVALID_ARGUMENT', `Label version ${labelVersionId} already has its segment statuses: save a new version to change them.`);
      }
      const insert = this.ctx.db.prepare(
        'INSERT INTO segment_statuses (label_version_id, class_idx, status, note, author, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const now = this.ctx.now();
      const sorted = [...entries].sort((a, b) => a.classIdx - b.classIdx);
      for (const e of sorted) {
        const note = e.note == null || e.note.trim() === '' ? null : e.note.trim();
        insert.run(labelVersionId, e.classIdx, e.status, note, author, now);
      }
      const previous = parentId === null ? new Map<number, SegmentStatusRow>() : this.current(parentId);
      this.ctx.audit(
        'segment_status.record',
        'label_version',
        labelVersionId,
        {
          parentId,
          statuses: sorted.map((e) => ({
            classIdx: e.classIdx,
            status: e.status,
            note: e.note?.trim() || null,
            previous: previous.get(e.classIdx)?.status ?? null,
          })),
        },
        { actor: opts?.actor ?? author },
      );
      return this.listForVersion(labelVersionId);
    });
  }

  listForVersion(labelVersionId: number): SegmentStatusRow[] {
    return (this.ctx.db.prepare('SELECT * FROM segment_statuses WHERE label_version_id = ? ORDER BY class_idx, id').all(labelVersionId) as Record_[]).map(toRow);
  }

  /** The status of each class of one version (the newest row per class). */
  current(labelVersionId: number): Map<number, SegmentStatusRow> {
    const out = new Map<number, SegmentStatusRow>();
    for (const r of this.listForVersion(labelVersionId)) out.set(r.classIdx, r);
    return out;
  }

  /** current() for many versions in one query: version id -> class -> row (untracked versions absent). */
  currentForVersions(labelVersionIds: readonly number[]): Map<number, Map<number, SegmentStatusRow>> {
    const out = new Map<number, Map<number, SegmentStatusRow>>();
    if (labelVersionIds.length === 0) return out;
    const rows = this.ctx.db
      .prepare('SELECT * FROM segment_statuses WHERE label_version_id IN (SELECT value FROM json_each(?)) ORDER BY label_version_id, class_idx, id')
      .all(JSON.stringify(labelVersionIds)) as Record_[];
    for (const r of rows.map(toRow)) {
      let m = out.get(r.labelVersionId);
      if (!m) out.set(r.labelVersionId, (m = new Map()));
      m.set(r.classIdx, r);
    }
    return out;
  }

  /** Whether any status was recorded for the version (false: saved before statuses, imported...). */
  isTracked(labelVersionId: number): boolean {
    return this.ctx.db.prepare('SELECT 1 FROM segment_statuses WHERE label_version_id = ? LIMIT 1').get(labelVersionId) !== undefined;
  }

  /** Every status of every version of one image, oldest first. */
  historyForImage(imageId: number): SegmentStatusRow[] {
    const sql = `SELECT s.* FROM segment_statuses s JOIN label_versions lv ON lv.id = s.label_version_id
      WHERE lv.image_id = ? ORDER BY s.id`;
    return (this.ctx.db.prepare(sql).all(imageId) as Record_[]).map(toRow);
  }
}

/**
 * The classes training may count as labelled for one version: with statuses, exactly the classes
 * marked done (in progress, flagged, not started and classes without a row are unlabelled);
 * without any status, the older rule — the version's labelled_classes (null = every class).
 * Returns null for "every class", as TrainCase.labelledClasses expects.
 */
export function completeClasses(statuses: Map<number, SegmentStatusRow> | undefined, labelledClasses: number[] | null): number[] | null {
  if (!statuses || statuses.size === 0) return labelledClasses;
  const done = [...statuses.values()].filter((s) => s.status === 'done').map((s) => s.classIdx);
  const allowed = labelledClasses === null ? done : done.filter((k) => labelledClasses.includes(k));
  return allowed.sort((a, b) => a - b);
}
