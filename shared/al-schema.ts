// Wire schemas of 'al:strategies' / 'al:select' (a job) / 'al:rounds': the active-learning
// strategies core registers, starting a round, and the rounds with their ranked queue.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);

export const AlParamView = z.object({
  name: z.string(),
  type: z.enum(['number', 'integer', 'string', 'boolean']),
  default: z.union([z.number(), z.string(), z.boolean()]).nullable(),
  description: z.string(),
});

export const AlStrategyView = z.object({
  name: z.string(),
  description: z.string(),
  /** Tunable parameters (beta, score key, diversity...), with defaults. */
  params: z.array(AlParamView),
  /** The score key the strategy ranks by (null: none, e.g. random): the queue's score column. */
  scoreKey: z.string().nullable(),
  /** Whether it needs a trained model (uncertainty scores or features). */
  needsModel: z.boolean(),
});

export const AlStrategiesOutput = z.object({ strategies: z.array(AlStrategyView), defaultStrategy: z.string().nullable() });

export const AlSelectInput = z
  .object({
    strategy: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/),
    count: z.number().int().min(1).max(1000),
    modelId: Id.optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /** Mean over test-time flips (also implied by a TTA-variance strategy). */
    tta: z.boolean().optional(),
    /** Strategy parameters (e.g. beta of PowerPE, diversity factor); checked by the strategy. */
    params: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,31}$/), z.union([z.number().finite(), z.string().max(64), z.boolean()])).optional(),
  })
  .strict();
export type AlSelectInput = z.infer<typeof AlSelectInput>;

export const AlPickView = z.object({
  imageId: Id,
  image: z.string(),
  rank: z.number().int().positive(),
  score: z.number().nullable(),
  reason: z.string(),
  labelStatus: z.enum(['unlabelled', 'labelled']),
  /** Labelled after this round was made (the round's queue is being worked through). */
  labelledSinceRound: z.boolean(),
});

export const AlRoundView = z.object({
  id: Id,
  strategy: z.string(),
  modelId: Id.nullable(),
  modelVersion: z.number().int().nullable(),
  seed: z.number().int().nullable(),
  params: z.record(z.string(), z.unknown()),
  /** The score the strategy ranked by (null: random / diversity only). */
  scoreKey: z.string().nullable(),
  /** Images scored for this round (0: a model-free round). */
  scored: z.number().int().nonnegative(),
  createdAt: z.string(),
  picks: z.array(AlPickView),
});
export type AlRoundView = z.infer<typeof AlRoundView>;

/** The stop signal: mean Dice between what the model proposed and what reviewers saved, per round. */
export const AlEditDiceView = z.object({
  /** null: reviews of predictions outside any round. */
  roundId: Id.nullable(),
  reviews: z.number().int().nonnegative(),
  meanDice: z.number().nullable(),
});

export const AlRoundsOutput = z.object({ rounds: z.array(AlRoundView), currentRoundId: Id.nullable(), stopSignal: z.array(AlEditDiceView) });
