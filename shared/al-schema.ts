// Wire schemas of 'al:strategies' / 'al:select' (a job) / 'al:rounds': the active-learning
// strategies core registers, starting a round, and the rounds with their ranked queue.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);

export const AlStrategyView = z.object({
  name: z.string(),
  description: z.string(),
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
  })
  .strict();

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
  createdAt: z.string(),
  picks: z.array(AlPickView),
});
export type AlRoundView = z.infer<typeof AlRoundView>;

export const AlRoundsOutput = z.object({ rounds: z.array(AlRoundView), currentRoundId: Id.nullable() });
