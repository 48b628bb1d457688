// Model versions and the model registry: which version is in use (promoted), the promotion gate
// that keeps a worse candidate from replacing it, and rollback. Every decision is audited with
// why (model.promote / model.rollback / model.gate), next to the status flips (model.status).
import { SegloopError } from '../../../shared/errors';
import { fromJson, fromJsonRequired, type RepoContext } from './db';
import { MODEL_STATUSES, type JsonObject, type ModelRow, type ModelStatus, type MutationOptions } from './types';

/** Test-split metrics stored under metrics.test after training (see main/app/training-ops.ts). */
export interface StoredTestEvaluation {
  cases: number;
  meanDice: number | null;
  meanHd95: number | null;
  classes: { name: string; dice: number | null; hd95: number | null }[];
  evaluatedAt: string;
}

export interface GateSettings {
  tolerance: number;
  margin: number;
  autoPromote: boolean;
}

export const DEFAULT_GATE_SETTINGS: GateSettings = { tolerance: 0.01, margin: 0.05, autoPromote: true };

export interface GateDecision {
  allowed: boolean;
  reasons: string[];
  candidateId: number;
  promotedId: number | null;
  tolerance: number;
  margin: number;
  meanDiff: number | null;
  classDrops: { name: string; candidate: number | null; promoted: number | null; drop: number | null }[];
  decidedAt: string;
}

export interface PromoteOptions extends MutationOptions {
  reason?: string;
  /** Promote although the gate refuses: needs a reason, audited as an override. */
  override?: boolean;
  evidence?: JsonObject;
}

export interface ModelActionResult {
  promoted: ModelRow;
  retired: ModelRow | null;
  gate: GateDecision | null;
}

export function testEvaluationOf(m: ModelRow): StoredTestEvaluation | null {
  const t = m.metrics?.test as unknown;
  if (!t || typeof t !== 'object' || !Array.isArray((t as StoredTestEvaluation).classes)) return null;
  return t as StoredTestEvaluation;
}

const f3 = (v: number): string => v.toFixed(3);

/**
 * The promotion gate, as a pure function: the candidate may replace the promoted model only if
 * its mean test Dice is not lower by more than `tolerance` and no class's test Dice drops by more
 * than `margin`. Missing evidence blocks (a model nobody measured never replaces one in use).
 */
export function decideGate(candidate: ModelRow, promoted: ModelRow | null, settings: GateSettings, now: string): GateDecision {
  const base = { candidateId: candidate.id, promotedId: promoted?.id ?? null, tolerance: settings.tolerance, margin: settings.margin, decidedAt: now };
  const reasons: string[] = [];
  if (candidate.weightsPath === null) {
    return { ...base, allowed: false, reasons: [`v${candidate.version} has no weights.`], meanDiff: null, classDrops: [] };
  }
  if (promoted && promoted.id === candidate.id) {
    return { ...base, allowed: false, reasons: [`v${candidate.version} is already the promoted model.`], meanDiff: null, classDrops: [] };
  }
  const ct = testEvaluationOf(candidate);
  if (!promoted) {
    reasons.push('No model is promoted yet: nothing to compare with.');
    if (ct?.meanDice != null) reasons.push(`v${candidate.version}: mean test Dice ${f3(ct.meanDice)} on ${ct.cases} test case(s).`);
    else reasons.push(`v${candidate.version} has no test-split evaluation (no labelled test images).`);
    return { ...base, allowed: true, reasons, meanDiff: null, classDrops: [] };
  }
  const pt = testEvaluationOf(promoted);
  if (!ct || ct.meanDice === null) {
    return { ...base, allowed: false, reasons: [`v${candidate.version} has no test-split evaluation, so it cannot be shown to be no worse than v${promoted.version}.`], meanDiff: null, classDrops: [] };
  }
  if (!pt || pt.meanDice === null) {
    return { ...base, allowed: false, reasons: [`The promoted v${promoted.version} has no test-split evaluation to compare with.`], meanDiff: null, classDrops: [] };
  }
  if (ct.cases !== pt.cases) {
    reasons.push(`Evaluated on different numbers of test cases (v${candidate.version}: ${ct.cases}, v${promoted.version}: ${pt.cases}).`);
  }
  const meanDiff = ct.meanDice - pt.meanDice;
  const meanOk = meanDiff >= -settings.tolerance - 1e-12;
  reasons.push(
    `Mean test Dice ${f3(ct.meanDice)} vs ${f3(pt.meanDice)} (v${promoted.version}): ${meanDiff >= 0 ? '+' : ''}${f3(meanDiff)}, ` +
      (meanOk ? `within the tolerance of ${f3(settings.tolerance)}.` : `worse by more than the tolerance of ${f3(settings.tolerance)}.`),
  );
  const classDrops = ct.classes.map((c) => {
    const p = pt.classes.find((x) => x.name === c.name);
    const drop = c.dice !== null && p?.dice != null ? p.dice - c.dice : null;
    return { name: c.name, candidate: c.dice, promoted: p?.dice ?? null, drop };
  });
  const dropped = classDrops.filter((d) => d.drop !== null && d.drop > settings.margin + 1e-12);
  for (const d of dropped) reasons.push(`${d.name}: test Dice drops by ${f3(d.drop!)} (${f3(d.promoted!)} → ${f3(d.candidate!)}), more than the margin of ${f3(settings.margin)}.`);
  if (!dropped.length) reasons.push(`No class drops by more than the margin of ${f3(settings.margin)}.`);
  const sameCases = ct.cases === pt.cases;
  return { ...base, allowed: meanOk && dropped.length === 0 && sameCases, reasons, meanDiff, classDrops };
}

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
          throw new SegloopError('MODEL_HAS_NO_WEIGHTS', `Model v${before.version} has no weights yet and cannot be promoted.`);
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

  /** Tolerance/margin of the promotion gate, from the project settings (project_meta). */
  gateSettings(): GateSettings {
    const get = (k: string): string | null => (this.ctx.db.prepare('SELECT value FROM project_meta WHERE key = ?').get(k) as { value: string } | undefined)?.value ?? null;
    const num = (k: string, d: number): number => {
      const v = Number(get(k));
      return get(k) !== null && Number.isFinite(v) && v >= 0 && v <= 1 ? v : d;
    };
    const auto = get('promotion.autoPromote');
    return {
      tolerance: num('promotion.tolerance', DEFAULT_GATE_SETTINGS.tolerance),
      margin: num('promotion.margin', DEFAULT_GATE_SETTINGS.margin),
      autoPromote: auto === null ? DEFAULT_GATE_SETTINGS.autoPromote : auto === 'true',
    };
  }

  setGateSettings(patch: Partial<GateSettings>, opts?: MutationOptions): GateSettings {
    for (const k of ['tolerance', 'margin'] as const) {
      const v = patch[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1)) throw new SegloopError('INVALID_ARGUMENT', `The promotion ${k} must be between 0 and 1, got ${v}.`);
    }
    return this.ctx.tx(() => {
      const before = this.gateSettings();
      const put = this.ctx.db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) put.run(`promotion.${k}`, String(v));
      const after = this.gateSettings();
      this.ctx.audit('project.settings', 'project', null, { promotion: { before, after } } as unknown as JsonObject, opts);
      return after;
    });
  }

  /** What the gate says about promoting `candidateId` over the model in use now. */
  gate(candidateId: number): GateDecision {
    return decideGate(this.require(candidateId), this.promoted(), this.gateSettings(), this.ctx.now());
  }

  /** Records a gate decision on the model (metrics.gate) and in the audit log. */
  recordGate(decision: GateDecision, opts?: MutationOptions): ModelRow {
    return this.ctx.tx(() => {
      const m = this.require(decision.candidateId);
      this.ctx.db.prepare('UPDATE models SET metrics = ? WHERE id = ?').run(JSON.stringify({ ...(m.metrics ?? {}), gate: decision }), m.id);
      this.ctx.audit('model.gate', 'model', m.id, decision as unknown as JsonObject, opts);
      return this.require(m.id);
    });
  }

  /**
   * Promotes a version through the gate: refused with PROMOTION_BLOCKED (nothing changes) when the
   * gate says no, unless `override` with a reason — then promoted and audited as an override.
   */
  promote(id: number, opts: PromoteOptions = {}): ModelActionResult {
    return this.ctx.tx(() => {
      const target = this.require(id);
      const before = this.promoted();
      if (before?.id === id) throw new SegloopError('ALREADY_PROMOTED', `Model v${target.version} is already the promoted model.`, { modelId: id });
      if (target.weightsPath === null) throw new SegloopError('MODEL_HAS_NO_WEIGHTS', `Model v${target.version} has no weights yet and cannot be promoted.`);
      const gate = this.gate(id);
      const reason = opts.reason?.trim() || null;
      if (!gate.allowed && !opts.override) {
        throw new SegloopError('PROMOTION_BLOCKED', `v${target.version} was not promoted: ${gate.reasons.join(' ')} Promote it anyway only with a reason (override).`, { gate });
      }
      if (!gate.allowed && !reason) {
        throw new SegloopError('PROMOTION_BLOCKED', `Overriding the promotion gate needs a reason (it is kept in the audit log). Gate: ${gate.reasons.join(' ')}`, { gate });
      }
      const override = !gate.allowed;
      const promoted = this.setStatus(id, 'promoted', opts);
      this.ctx.audit('model.promote', 'model', id, {
        version: target.version,
        previous: before ? { id: before.id, version: before.version } : null,
        reason,
        override,
        gate: gate as unknown as JsonObject,
        evidence: opts.evidence ?? null,
      }, opts);
      return { promoted, retired: before ? this.require(before.id) : null, gate };
    });
  }

  /** Whether the version was ever the model in use (a rollback may only return to such a version). */
  wasPromoted(id: number): boolean {
    const rows = this.ctx.db.prepare("SELECT details FROM audit_log WHERE entity = 'model' AND action = 'model.status' AND entity_id = ?").all(id) as { details: string | null }[];
    return rows.some((r) => fromJson<JsonObject>(r.details)?.to === 'promoted');
  }

  /** The model promoted before the current one (audit log, newest first) that still has weights. */
  previousPromoted(): ModelRow | null {
    const current = this.promoted();
    const rows = this.ctx.db
      .prepare("SELECT entity_id AS id, details FROM audit_log WHERE entity = 'model' AND action = 'model.status' ORDER BY id DESC")
      .all() as { id: number | null; details: string | null }[];
    for (const r of rows) {
      if (r.id === null || r.id === current?.id) continue;
      const d = fromJson<JsonObject>(r.details);
      if (d?.to !== 'promoted') continue;
      const m = this.get(r.id);
      if (m && m.weightsPath !== null) return m;
    }
    return null;
  }

  /**
   * Rollback: promote an earlier, previously promoted version again (default: the one promoted before the current one).
   * A deliberate return to a known version, so the gate does not apply; audited as model.rollback.
   */
  rollback(opts: MutationOptions & { toModelId?: number; reason?: string; evidence?: JsonObject } = {}): ModelActionResult {
    return this.ctx.tx(() => {
      const current = this.promoted();
      const target = opts.toModelId !== undefined ? this.require(opts.toModelId) : this.previousPromoted();
      if (!target) throw new SegloopError('NOTHING_TO_ROLL_BACK', 'There is no earlier promoted model to roll back to: promote a model version explicitly instead.');
      if (current?.id === target.id) throw new SegloopError('ALREADY_PROMOTED', `Model v${target.version} is already the promoted model.`, { modelId: target.id });
      // A rollback skips the gate, so it may only return to a version that was in use before:
      // a candidate the gate never let through goes through promote (and its gate) instead.
      if (!this.wasPromoted(target.id)) {
        throw new SegloopError('NOTHING_TO_ROLL_BACK', `v${target.version} was never the model in use, so there is nothing to roll back to: promote it instead (through the promotion gate).`, { modelId: target.id });
      }
      if (target.weightsPath === null) throw new SegloopError('MODEL_HAS_NO_WEIGHTS', `v${target.version} has no weights and cannot be used.`, { modelId: target.id });
      if (current && target.version > current.version) {
        throw new SegloopError('ROLLBACK_NOT_EARLIER', `v${target.version} is newer than the promoted v${current.version}: a rollback goes back to an earlier version; promote it instead.`);
      }
      const promoted = this.setStatus(target.id, 'promoted', opts);
      this.ctx.audit('model.rollback', 'model', target.id, {
        version: target.version,
        previous: current ? { id: current.id, version: current.version } : null,
        rolledBack: current ? { id: current.id, version: current.version } : null,
        reason: opts.reason?.trim() || null,
        evidence: opts.evidence ?? null,
      }, opts);
      return { promoted, retired: current ? this.require(current.id) : null, gate: null };
    });
  }
}
