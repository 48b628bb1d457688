// Wire schemas of the model registry: 'models:list' / 'models:compare' / 'models:promote' /
// 'models:rollback' and the promotion gate's settings. Test metrics are the ones computed on the
// project's frozen test split right after training; the gate compares them with the promoted model.
import { z } from 'zod';
import { MODEL_STATUSES } from './vocabulary';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
const Num = z.number().nullable();

export const ClassMetric = z.object({ name: z.string(), dice: Num, hd95: Num });

export const TestEvaluation = z.object({
  cases: z.number().int().nonnegative(),
  meanDice: Num,
  meanHd95: Num,
  classes: z.array(ClassMetric),
  evaluatedAt: z.string(),
});
export type TestEvaluation = z.infer<typeof TestEvaluation>;

export const GateDecision = z.object({
  allowed: z.boolean(),
  /** One sentence per check, in the order they were made; the screen shows them. */
  reasons: z.array(z.string()),
  candidateId: Id,
  promotedId: Id.nullable(),
  tolerance: z.number(),
  margin: z.number(),
  meanDiff: Num,
  classDrops: z.array(z.object({ name: z.string(), candidate: Num, promoted: Num, drop: Num })),
  decidedAt: z.string(),
});
export type GateDecision = z.infer<typeof GateDecision>;

export const ModelVersionView = z.object({
  id: Id,
  version: z.number().int(),
  parentId: Id.nullable(),
  parentVersion: z.number().int().nullable(),
  status: z.enum(MODEL_STATUSES),
  architecture: z.string(),
  backend: z.string().nullable(),
  trainingRunId: Id.nullable(),
  /** Label versions in the run's data snapshot. */
  snapshotSize: z.number().int().nullable(),
  createdAt: z.string(),
  hasWeights: z.boolean(),
  /** It was the model in use at some point: a rollback may return to it (the gate is not asked again). */
  wasPromoted: z.boolean(),
  valMeanDice: Num,
  test: TestEvaluation.nullable(),
  /** Why test metrics are missing, when they are. */
  testNote: z.string().nullable(),
  gate: GateDecision.nullable(),
  /** The latest promote/rollback decision on this version (audited), if any. */
  decision: z.object({ action: z.string(), actor: z.string(), at: z.string(), reason: z.string().nullable(), override: z.boolean() }).nullable(),
});
export type ModelVersionView = z.infer<typeof ModelVersionView>;

export const GateSettings = z.object({
  /** Mean test Dice may be at most this much lower than the promoted model's. */
  tolerance: z.number().min(0).max(1),
  /** No class's test Dice may drop by more than this. */
  margin: z.number().min(0).max(1),
  /** Promote automatically after training when the gate allows it. */
  autoPromote: z.boolean(),
});
export type GateSettings = z.infer<typeof GateSettings>;

export const ModelsListOutput = z.object({
  models: z.array(ModelVersionView),
  promotedId: Id.nullable(),
  settings: GateSettings,
  classes: z.array(z.string()),
});

export const ModelsCompareInput = z.object({ aId: Id, bId: Id }).strict();
export const ModelsCompareOutput = z.object({
  a: ModelVersionView,
  b: ModelVersionView,
  classes: z.array(z.object({ name: z.string(), diceA: Num, diceB: Num, hd95A: Num, hd95B: Num })),
  /** What the gate would say about promoting b over a. */
  gate: GateDecision,
});

export const PromoteInput = z
  .object({
    modelId: Id,
    reason: z.string().trim().max(2000).optional(),
    /** Promote although the gate says no: needs a reason; audited as an override. */
    override: z.boolean().default(false),
  })
  .strict();
export const ModelsRollbackInput = z
  .object({
    /** Any earlier version with weights; default: the one promoted before the current one. */
    modelId: Id.optional(),
    reason: z.string().trim().max(2000).optional(),
  })
  .strict();
export const ModelsActionOutput = z.object({ promoted: ModelVersionView, retired: ModelVersionView.nullable(), gate: GateDecision.nullable() });

export const GateSettingsInput = GateSettings.partial().strict();
