// Handlers of the model registry: every version with its lineage, data snapshot, backend and
// test-split metrics; a comparison of two versions; promote (through the gate; an override needs
// a reason and is audited) and rollback to any earlier version; the gate's project settings.
import type { z } from 'zod';
import type { GateDecision as WireGate, ModelVersionView } from '../../shared/models-schema';
import type { ModelsActionOutput } from '../../shared/models-schema';
import { SegloopError } from '../../shared/errors';
import type { ProjectStore } from '../core/project';
import { decideGate, testEvaluationOf, type GateDecision, type ModelActionResult } from '../core/project/model-repository';
import type { ModelRow } from '../core/project/types';
import { ensureTestMetrics } from './candidate-evaluation';
import type { Handlers } from './dispatch';
import { dbId, idOrNull, type LoopDeps } from './loop-context';
import { foregroundClasses } from './training-ops';

export type ModelsOps = Pick<Handlers, 'models:list' | 'models:compare' | 'models:promote' | 'models:rollback' | 'models:settings'>;

export function wireGate(g: GateDecision): WireGate {
  return { ...g, candidateId: String(g.candidateId), promotedId: idOrNull(g.promotedId) };
}

function storedGate(m: ModelRow): WireGate | null {
  const g = m.metrics?.gate as unknown as GateDecision | undefined;
  return g && typeof g === 'object' && Array.isArray(g.reasons) ? wireGate(g) : null;
}

export function modelVersionView(store: ProjectStore, m: ModelRow): ModelVersionView {
  const run = m.trainingRunId !== null ? store.trainingRuns.get(m.trainingRunId) : null;
  const parent = m.parentId !== null ? store.models.get(m.parentId) : null;
  const decision = store.audit
    .list({ entity: 'model', entityId: m.id })
    .filter((e) => e.action === 'model.promote' || e.action === 'model.rollback')
    .at(-1);
  const val = m.metrics?.valMeanDice;
  const backend = (m.metrics?.backend as string | undefined) ?? run?.backend ?? null;
  return {
    id: String(m.id),
    version: m.version,
    parentId: idOrNull(m.parentId),
    parentVersion: parent?.version ?? null,
    status: m.status,
    architecture: m.architecture,
    backend,
    trainingRunId: idOrNull(m.trainingRunId),
    snapshotSize: run ? run.dataSnapshot.labelVersionIds.length : null,
    createdAt: m.createdAt,
    hasWeights: m.weightsPath !== null,
    wasPromoted: store.models.wasPromoted(m.id),
    valMeanDice: typeof val === 'number' && Number.isFinite(val) ? val : null,
    test: testEvaluationOf(m),
    testNote: typeof m.metrics?.testNote === 'string' ? m.metrics.testNote : testEvaluationOf(m) ? null : 'Not evaluated on the test split yet.',
    gate: storedGate(m),
    decision: decision
      ? {
          action: decision.action,
          actor: decision.actor,
          at: decision.at,
          reason: typeof decision.details?.reason === 'string' ? decision.details.reason : null,
          override: decision.details?.override === true,
        }
      : null,
  };
}

export function modelsOps(deps: LoopDeps): ModelsOps {
  const { store, author } = deps;
  const model = (id: string): ModelRow => store.models.require(dbId(id, 'MODEL_NOT_FOUND', 'model'));
  const action = (r: ModelActionResult): z.infer<typeof ModelsActionOutput> => ({
    promoted: modelVersionView(store, r.promoted),
    retired: r.retired ? modelVersionView(store, r.retired) : null,
    gate: r.gate ? wireGate(r.gate) : null,
  });
  return {
    async 'models:list'() {
      const promoted = store.models.promoted();
      return {
        models: store.models.list().map((m) => modelVersionView(store, m)).reverse(),
        promotedId: idOrNull(promoted?.id),
        settings: store.models.gateSettings(),
        classes: foregroundClasses(store),
      };
    },

    async 'models:compare'(input) {
      if (input.aId === input.bId) throw new SegloopError('INVALID_ARGUMENT', 'Pick two different versions to compare.');
      const a = await ensureTestMetrics(store, model(input.aId), author);
      const b = await ensureTestMetrics(store, model(input.bId), author);
      const ta = testEvaluationOf(a);
      const tb = testEvaluationOf(b);
      const names = foregroundClasses(store);
      return {
        a: modelVersionView(store, a),
        b: modelVersionView(store, b),
        classes: names.map((name) => {
          const ca = ta?.classes.find((c) => c.name === name);
          const cb = tb?.classes.find((c) => c.name === name);
          return { name, diceA: ca?.dice ?? null, diceB: cb?.dice ?? null, hd95A: ca?.hd95 ?? null, hd95B: cb?.hd95 ?? null };
        }),
        gate: wireGate(decideGate(b, a, store.models.gateSettings(), new Date().toISOString())),
      };
    },

    async 'models:promote'(input) {
      const target = await ensureTestMetrics(store, model(input.modelId), author);
      const current = store.models.promoted();
      if (current) await ensureTestMetrics(store, current, author);
      let r: ModelActionResult;
      try {
        r = store.models.promote(target.id, { actor: author, reason: input.reason, override: input.override });
      } catch (err) {
        // A refusal is a decision too: keep what the gate said on the model (and in the audit log).
        if (err instanceof SegloopError && err.code === 'PROMOTION_BLOCKED') store.models.recordGate(store.models.gate(target.id), { actor: author });
        throw err;
      }
      if (r.gate) store.models.recordGate(r.gate, { actor: author });
      return action({ ...r, promoted: store.models.require(r.promoted.id) });
    },

    async 'models:rollback'(input) {
      return action(store.models.rollback({ actor: author, reason: input.reason, toModelId: input.modelId ? dbId(input.modelId, 'MODEL_NOT_FOUND', 'model') : undefined }));
    },

    async 'models:settings'(input) {
      return Object.keys(input).length ? store.models.setGateSettings(input, { actor: author }) : store.models.gateSettings();
    },
  };
}
