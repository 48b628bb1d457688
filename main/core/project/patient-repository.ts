import { SegloopError } from '../../../shared/errors';
import type { RepoContext } from './db';
import type { MutationOptions, PatientRow } from './types';

interface PatientRecord {
  id: number;
  external_id: string;
  site: string | null;
  created_at: string;
}

const toRow = (r: PatientRecord): PatientRow => ({ id: r.id, externalId: r.external_id, site: r.site, createdAt: r.created_at });

export interface NewPatient {
  externalId: string;
  site?: string | null;
}

export class PatientRepository {
  constructor(private readonly ctx: RepoContext) {}

  get(id: number): PatientRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM patients WHERE id = ?').get(id) as PatientRecord | undefined;
    return r ? toRow(r) : null;
  }

  require(id: number): PatientRow {
    const row = this.get(id);
    if (!row) throw new SegloopError('PATIENT_NOT_FOUND', `Patient ${id} does not exist in this project.`, { id });
    return row;
  }

  getByExternalId(externalId: string): PatientRow | null {
    const r = this.ctx.db.prepare('SELECT * FROM patients WHERE external_id = ?').get(externalId) as PatientRecord | undefined;
    return r ? toRow(r) : null;
  }

  list(): PatientRow[] {
    return (this.ctx.db.prepare('SELECT * FROM patients ORDER BY id').all() as PatientRecord[]).map(toRow);
  }

  create(input: NewPatient, opts?: MutationOptions): PatientRow {
    if (!input.externalId.trim()) throw new SegloopError('INVALID_ARGUMENT', 'A patient needs a non-empty external id.');
    return this.ctx.tx(() => {
      const existing = this.getByExternalId(input.externalId);
      if (existing) {
        throw new SegloopError('INVALID_ARGUMENT', `A patient with external id "${input.externalId}" already exists (id ${existing.id}).`, {
          externalId: input.externalId,
        });
      }
      const { lastInsertRowid } = this.ctx.db
        .prepare('INSERT INTO patients (external_id, site, created_at) VALUES (?, ?, ?)')
        .run(input.externalId, input.site ?? null, this.ctx.now());
      const id = Number(lastInsertRowid);
      this.ctx.audit('patient.create', 'patient', id, { externalId: input.externalId, site: input.site ?? null }, opts);
      return this.require(id);
    });
  }

  /** The patient with this external id, created if missing (import is idempotent). */
  getOrCreate(input: NewPatient, opts?: MutationOptions): { row: PatientRow; created: boolean } {
    return this.ctx.tx(() => {
      const existing = this.getByExternalId(input.externalId);
      return existing ? { row: existing, created: false } : { row: this.create(input, opts), created: true };
    });
  }

  count(): number {
    return (this.ctx.db.prepare('SELECT count(*) AS n FROM patients').get() as { n: number }).n;
  }
}
