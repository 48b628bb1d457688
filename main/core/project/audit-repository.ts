import { fromJson, type RepoContext } from './db';
import type { AuditRow, JsonObject } from './types';

interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: number | null;
  details: string | null;
}

const toRow = (r: AuditRecord): AuditRow => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  entity: r.entity,
  entityId: r.entity_id,
  details: fromJson<JsonObject>(r.details),
});

export interface AuditFilter {
  entity?: string;
  entityId?: number;
  action?: string;
  /** Newest first when set; default returns everything oldest first. */
  limit?: number;
}

/** Read side of audit_log. Writes happen through RepoContext.audit inside each mutation. */
export class AuditRepository {
  constructor(private readonly ctx: RepoContext) {}

  list(filter: AuditFilter = {}): AuditRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.entity !== undefined) { where.push('entity = ?'); args.push(filter.entity); }
    if (filter.entityId !== undefined) { where.push('entity_id = ?'); args.push(filter.entityId); }
    if (filter.action !== undefined) { where.push('action = ?'); args.push(filter.action); }
    const sql =
      'SELECT * FROM audit_log' +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      (filter.limit !== undefined ? ' ORDER BY id DESC LIMIT ?' : ' ORDER BY id');
    if (filter.limit !== undefined) args.push(filter.limit);
    return (this.ctx.db.prepare(sql).all(...args) as AuditRecord[]).map(toRow);
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
  }
}
