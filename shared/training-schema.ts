// Wire schemas of the 'training:*' operations and the 'training:epoch' event: the plan the
// Training screen shows (proposed from the dataset fingerprint, with the reasons) and edits, the
// runs of the project, and one epoch's metrics. What the user edits is a small, strict set of
// options (an unknown key is an error); main turns them into the trainer's full configuration.
import { z } from 'zod';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
const Prob = z.number().min(0).max(1);

export const TrainingBudget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('epochs'), epochs: z.number().int().min(1).max(100_000) }).strict(),
  z.object({ kind: z.literal('minutes'), minutes: z.number().positive().max(7 * 24 * 60) }).strict(),
]);
export type TrainingBudget = z.infer<typeof TrainingBudget>;

/** The options the Training screen edits. */
export const TrainingOptions = z
  .object({
    architecture: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/),
    /** Volume order: [X, Y] for 2D, [X, Y, Z] for 3D. */
    patchSize: z.array(z.number().int().min(4).max(512)).min(2).max(3),
    batchSize: z.number().int().min(1).max(256),
    budget: TrainingBudget,
    stepsPerEpoch: z.number().int().min(1).max(100_000),
    depth: z.number().int().min(2).max(7),
    baseWidth: z.number().int().min(2).max(128),
    lr: z.number().positive().max(1),
    loss: z.object({ ceWeight: z.number().min(0).max(10), diceWeight: z.number().min(0).max(10), batchDice: z.boolean() }).strict(),
    augmentation: z
      .object({ enabled: z.boolean(), flipProbability: Prob, rotationProbability: Prob, scaleProbability: Prob, elasticProbability: Prob })
      .strict(),
    /** Train on AI-accepted and pseudo labels too. Off unless the user switches it on. */
    includePseudo: z.boolean(),
  })
  .strict();
export type TrainingOptions = z.infer<typeof TrainingOptions>;

export const TrainingPlanView = z.object({
  options: TrainingOptions,
  /** Why each proposed number is what it is (from the fingerprint and this machine). */
  reasons: z.array(z.object({ field: z.string(), text: z.string() })),
  architectures: z.array(z.object({ name: z.string(), dims: z.union([z.literal(2), z.literal(3)]) })),
  data: z.object({
    /** Label versions training would use now (test split excluded). */
    trainable: z.number().int().nonnegative(),
    /** Of the images whose newest label is AI-accepted or pseudo: left out unless includePseudo. */
    pseudo: z.number().int().nonnegative(),
    testImages: z.number().int().nonnegative(),
    bySource: z.record(z.string(), z.number().int().nonnegative()),
  }),
  fingerprint: z
    .object({ cases: z.number().int(), medianShape: z.array(z.number()), medianSpacing: z.array(z.number()), modality: z.string() })
    .nullable(),
  /** A cancelled/interrupted run with a checkpoint that training:resume would continue. */
  resumable: z.object({ runId: Id, status: z.string(), epochsDone: z.number().int().nonnegative() }).nullable(),
});
export type TrainingPlanView = z.infer<typeof TrainingPlanView>;

export const TrainingStartInput = z.object({ options: TrainingOptions }).strict();
export const TrainingResumeInput = z
  .object({ budget: TrainingBudget.optional() })
  .strict();

export const QueuedBehind = z.object({ jobId: Id, kind: z.string() }).nullable();

export const JobStarted = z.object({
  jobId: Id,
  /** Set when another ML job owns the CPU/GPU: this one waits for it (and the UI says so). */
  queuedBehind: QueuedBehind,
});

export const EpochPoint = z.object({
  epoch: z.number().int().nonnegative(),
  epochs: z.number().int().nonnegative().nullable(),
  trainLoss: z.number(),
  /** Per foreground class (index 0 = class 1); null = class absent from validation. */
  valDice: z.array(z.number().nullable()),
  valMeanDice: z.number().nullable(),
  lr: z.number(),
  seconds: z.number(),
  steps: z.number().int(),
  /** Measured seconds per training step in this epoch. */
  stepSeconds: z.number().nullable(),
});
export type EpochPoint = z.infer<typeof EpochPoint>;

export const TRAINING_RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;

export const TrainingRunView = z.object({
  id: Id,
  status: z.enum(TRAINING_RUN_STATUSES),
  backend: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  error: z.string().nullable(),
  architecture: z.string().nullable(),
  labelVersions: z.number().int().nonnegative(),
  resumedFromRunId: Id.nullable(),
  includePseudo: z.boolean(),
  epochs: z.array(EpochPoint),
  modelId: Id.nullable(),
  modelVersion: z.number().int().nullable(),
  /** The job running it in this session, if any. */
  jobId: Id.nullable(),
  resumable: z.boolean(),
});
export type TrainingRunView = z.infer<typeof TrainingRunView>;

export const TrainingRunsOutput = z.object({ runs: z.array(TrainingRunView), classes: z.array(z.string()) });

/** Pushed after every epoch of a training job. */
export const TrainingEpochEvent = z.object({ jobId: Id, runId: Id.nullable(), backend: z.string().nullable(), point: EpochPoint, classes: z.array(z.string()) });
export type TrainingEpochEvent = z.infer<typeof TrainingEpochEvent>;
