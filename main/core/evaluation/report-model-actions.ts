// Promote / roll back model versions from the evaluation screen and CLI. ModelRepository.setStatus
// does the status change (promoting retires the current model; both are audited as model.status);
// this adds one audit entry saying why (model.promote with the evaluation it was based on, or
// model.rollback), in the same transaction, so the history reads as decisions, not flag flips.
import { SegloopError } from '../../../shared/errors';
import type { ProjectStore } from '../project';
import type { JsonObject, ModelRow } from '../project/types';

export interface ModelActionOptions {
  actor?: string;
  /** Free text kept in the audit entry (e.g. "test Dice 0.86 vs 0.84, CI [0.01, 0.03]"). */
  reason?: string;
  /** Evidence kept in the audit entry (e.g. the report's summary numbers). */
  evidence?: JsonObject;
}

export interface ModelActionResult {
  promoted: ModelRow;
  /** The model that was promoted before (now retired), if any. */
  retired: ModelRow | null;
}

function audit(store: ProjectStore, action: string, modelId: number, details: JsonObject, actor: string): void {
  store.database
    .prepare('INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)')
    .run(new Date().toISOString(), actor, action, 'model', modelId, JSON.stringify(details));
}

/** The actor setStatus just recorded (the store's default when none was named). */
function lastStatusActor(store: ProjectStore, modelId: number): string {
  return store.audit.list({ entity: 'model', entityId: modelId, action: 'model.status', limit: 1 })[0]?.actor ?? 'unknown';
}

function change(store: ProjectStore, target: ModelRow, action: 'model.promote' | 'model.rollback', opts: ModelActionOptions, extra: JsonObject): ModelActionResult {
  return store.database
    .transaction((): ModelActionResult => {
      const before = store.models.promoted();
      if (before?.id === target.id) {
        throw new SegloopError('INVALID_ARGUMENT', `Model v${target.version} is already the promoted model.`, { modelId: target.id });
      }
      const promoted = store.models.setStatus(target.id, 'promoted', { actor: opts.actor });
      const actor = opts.actor ?? lastStatusActor(store, target.id);
      audit(store, action, target.id, {
        version: target.version,
        previous: before ? { id: before.id, version: before.version } : null,
        reason: opts.reason ?? null,
        evidence: opts.evidence ?? null,
        ...extra,
      }, actor);
      return { promoted, retired: before ? store.models.require(before.id) : null };
    })
    .immediate();
}

/** Promotes a model (it must have weights); the currently promoted one is retired. */
export function promoteModel(store: ProjectStore, modelId: number, opts: ModelActionOptions = {}): ModelActionResult {
  return change(store, store.models.require(modelId), 'model.promote', opts, {});
}

/**
 * The model promoted before the current one, from the audit log (newest first), that still exists
 * and has weights; null when there is none.
 */
export function previousPromoted(store: ProjectStore): ModelRow | null {
  const current = store.models.promoted();
  for (const e of store.audit.list({ entity: 'model', action: 'model.status' }).reverse()) {
    if (e.entityId === null || e.entityId === current?.id || e.details?.to !== 'promoted') continue;
    const m = store.models.get(e.entityId);
    if (m && m.weightsPath !== null) return m;
  }
  return null;
}

/** Rollback = promote the previously promoted version again (the current one is retired). */
export function rollbackModel(store: ProjectStore, opts: ModelActionOptions = {}): ModelActionResult {
  const prev = previousPromoted(store);
  if (!prev) {
    throw new SegloopError('INVALID_ARGUMENT', 'There is no earlier promoted model to roll back to: promote a model version explicitly instead.');
  }
  const current = store.models.promoted();
  return change(store, prev, 'model.rollback', opts, { rolledBack: current ? { id: current.id, version: current.version } : null });
}
