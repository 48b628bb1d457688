// Promotion and rollback moved to the project's model registry (core/project/model-repository.ts),
// where the promotion gate lives. These wrappers keep the older call shape for callers that make
// an explicit, reasoned decision outside the app (scripts, tests): they go through the registry
// as an audited override, so the gate's verdict is still recorded next to the decision.
import type { ProjectStore } from '../project';
import type { ModelActionResult as RegistryResult } from '../project/model-repository';
import type { JsonObject, ModelRow } from '../project/types';

export interface ModelActionOptions {
  actor?: string;
  reason?: string;
  evidence?: JsonObject;
}

export interface ModelActionResult {
  promoted: ModelRow;
  retired: ModelRow | null;
}

const strip = (r: RegistryResult): ModelActionResult => ({ promoted: r.promoted, retired: r.retired });

export function promoteModel(store: ProjectStore, modelId: number, opts: ModelActionOptions = {}): ModelActionResult {
  return strip(store.models.promote(modelId, { actor: opts.actor, reason: opts.reason ?? 'explicit promotion (no reason given)', evidence: opts.evidence, override: true }));
}

export function previousPromoted(store: ProjectStore): ModelRow | null {
  return store.models.previousPromoted();
}

export function rollbackModel(store: ProjectStore, opts: ModelActionOptions = {}): ModelActionResult {
  return strip(store.models.rollback({ actor: opts.actor, reason: opts.reason, evidence: opts.evidence }));
}
