import { SegloopError } from '../../../shared/errors';
import type { RepoContext } from './db';
import type { LabelClass, MutationOptions } from './types';

const COLOUR = /^#[0-9a-fA-F]{6}$/;

export class LabelSchemaRepository {
  constructor(private readonly ctx: RepoContext) {}

  list(): LabelClass[] {
    return this.ctx.db.prepare('SELECT idx, name, colour FROM label_schema ORDER BY idx').all() as LabelClass[];
  }

  /** Replaces the whole schema (the previous one is kept in the audit log). */
  set(classes: readonly LabelClass[], opts?: MutationOptions): LabelClass[] {
    const seenIdx = new Set<number>();
    const seenName = new Set<string>();
    for (const c of classes) {
      if (!Number.isInteger(c.idx) || c.idx < 0 || c.idx > 255) {
        throw new SegloopError('INVALID_ARGUMENT', `Label index ${c.idx} of "${c.name}" must be an integer from 0 to 255.`, { class: { ...c } });
      }
      if (!c.name.trim()) throw new SegloopError('INVALID_ARGUMENT', `Label ${c.idx} needs a name.`, { class: { ...c } });
      if (!COLOUR.test(c.colour)) {
        throw new SegloopError('INVALID_ARGUMENT', `Colour "${c.colour}" of label "${c.name}" must look like #rrggbb.`, { class: { ...c } });
      }
      if (seenIdx.has(c.idx) || seenName.has(c.name)) {
        throw new SegloopError('INVALID_ARGUMENT', `Label index ${c.idx} or name "${c.name}" appears twice in the schema.`, { class: { ...c } });
      }
      seenIdx.add(c.idx);
      seenName.add(c.name);
    }
    return this.ctx.tx(() => {
      const before = this.list();
      this.ctx.db.prepare('DELETE FROM label_schema').run();
      const insert = this.ctx.db.prepare('INSERT INTO label_schema (idx, name, colour) VALUES (?, ?, ?)');
      for (const c of classes) insert.run(c.idx, c.name, c.colour.toLowerCase());
      const after = this.list();
      this.ctx.audit('label_schema.set', 'label_schema', null, { before: before.map((c) => ({ ...c })), after: after.map((c) => ({ ...c })) }, opts);
      return after;
    });
  }
}
