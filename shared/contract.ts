// The contract between the UI and main: every operation once, with the zod schema of its input
// and of its output. Both transports (Electron IPC, local HTTP/WebSocket) dispatch to the same
// handlers and validate with these schemas on arrival; results travel as a ResultEnvelope.
import { z } from 'zod';
import { CreateSplitInput, CreateSplitOutput, DiagnosticsResult, SplitStatusSchema } from './diagnostics-schema';
import { ERROR_CODES, type ErrorData } from './errors';
import { LABEL_SOURCES } from './vocabulary';
import {
  EvaluationExportInput,
  EvaluationExportOutput,
  EvaluationModelsOutput,
  EvaluationQuery,
  EvaluationReportView,
  LearningCurveView,
} from './evaluation-schema';
import { AlRoundsOutput, AlSelectInput, AlStrategiesOutput } from './al-schema';
import { DraftDiscardInput, DraftDiscardOutput, DraftGetInput, DraftGetOutput, DraftSaveInput } from './draft-schema';
import { LabelMeasureInput, LabelMeasureOutput, LabelTransformInput, LabelTransformOutput } from './label-ops-schema';
import {
  GateSettings,
  GateSettingsInput,
  ModelsActionOutput,
  ModelsCompareInput,
  ModelsCompareOutput,
  ModelsListOutput,
  ModelsRollbackInput,
  PromoteInput,
} from './models-schema';
import {
  PredictionsListInput,
  PredictionsListOutput,
  PredictionsRunInput,
  ReviewBatchAcceptInput,
  ReviewBatchAcceptOutput,
  ReviewSubmitInput,
  ReviewSubmitOutput,
} from './review-schema';
import { SegmentStatusEntries, SegmentStatusGetInput, SegmentStatusGetOutput, SegmentStatusListOutput } from './segment-status-schema';
import { JobStarted, TrainingEpochEvent, TrainingPlanView, TrainingResumeInput, TrainingRunsOutput, TrainingStartInput } from './training-schema';

/** Ids cross the transport as strings whatever the database uses. */
export const EntityId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'ids are letters, digits and _ . : -');

export { LABEL_SOURCES, MODEL_STATUSES } from './vocabulary';
export const LabelSource = z.enum(LABEL_SOURCES);
export type LabelSource = z.infer<typeof LabelSource>;

const Vec3 = z.tuple([z.number(), z.number(), z.number()]);
const Shape3 = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);
const Row4 = z.tuple([z.number(), z.number(), z.number(), z.number()]);
export const Affine = z.tuple([Row4, Row4, Row4, Row4]);

export const ProjectInfo = z.object({
  name: z.string(),
  path: z.string(),
  patients: z.number().int().nonnegative(),
  images: z.number().int().nonnegative(),
  labelledImages: z.number().int().nonnegative(),
  /** Which transport the client is talking through: shown in the status bar. */
  transport: z.enum(['ipc', 'http']),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

export const CaseRow = z.object({
  imageId: EntityId,
  patientId: EntityId,
  patient: z.string(),
  image: z.string(),
  modality: z.string().nullable(),
  split: z.string().nullable(),
  labelStatus: z.enum(['unlabelled', 'labelled']),
  labelSource: LabelSource.nullable(),
  latestLabelVersionId: EntityId.nullable(),
  labelVersions: z.number().int().nonnegative(),
  uncertainty: z.number().nullable(),
  shape: Shape3,
  /** The newest prediction of this image and its review state (none = not reviewed yet). */
  lastPrediction: z.object({ id: EntityId, modelVersion: z.number().int(), createdAt: z.string(), /** Its stored uncertainty score (PREDICTION_SCORE_KEYS order). */ score: z.number().nullable().optional() }).nullable(),
  reviewState: z.enum(['none', 'accept', 'edit', 'reject']).nullable(),
  /** Rank in the current active-learning round's queue, if it is in it. */
  alRank: z.number().int().positive().nullable(),
});
export type CaseRow = z.infer<typeof CaseRow>;

export const ImageMeta = z.object({
  id: EntityId,
  patientId: EntityId,
  patient: z.string(),
  name: z.string(),
  modality: z.string().nullable(),
  split: z.string().nullable(),
  shape: Shape3,
  spacing: Vec3,
  affine: Affine,
  sha256: z.string(),
});
export type ImageMeta = z.infer<typeof ImageMeta>;

export const LabelVersion = z.object({
  id: EntityId,
  imageId: EntityId,
  parentId: EntityId.nullable(),
  source: LabelSource,
  author: z.string().nullable(),
  modelVersionId: EntityId.nullable(),
  voxelsChanged: z.number().int().nonnegative().nullable(),
  secondsSpent: z.number().nonnegative().nullable(),
  sha256: z.string(),
  createdAt: z.string(),
});
export type LabelVersion = z.infer<typeof LabelVersion>;

export const LabelClass = z.object({
  index: z.number().int().min(0).max(255),
  name: z.string(),
  /** CSS hex colour, #rrggbb. */
  colour: z.string().regex(/^#[0-9a-fA-F]{6}$/),
});
export type LabelClass = z.infer<typeof LabelClass>;

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export const Job = z.object({
  id: EntityId,
  kind: z.string(),
  status: z.enum(JOB_STATUSES),
  /** 0..1, or null while unknown. */
  progress: z.number().min(0).max(1).nullable(),
  message: z.string(),
  /** Estimated seconds until done, or null while unknown. */
  etaSeconds: z.number().nonnegative().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }).nullable(),
  /** The ML job this one waits for (one job owns the CPU/GPU at a time); absent or null: not waiting. */
  queuedBehind: z.object({ jobId: EntityId, kind: z.string() }).nullable().optional(),
});
export type Job = z.infer<typeof Job>;

/** Label voxels: uint8, nibabel order (i fastest), gzip-compressed, base64. ~10-40 kB for a hippocampus crop. */
export const MAX_LABEL_BASE64_CHARS = 64 * 1024 * 1024;

const Empty = z.object({}).strict();
const ByImage = z.object({ imageId: EntityId }).strict();
const ByJob = z.object({ jobId: EntityId }).strict();

export const operations = {
  'project:info': { input: Empty, output: ProjectInfo },
  'cases:list': { input: Empty, output: z.object({ rows: z.array(CaseRow) }) },
  'cases:next': {
    input: z.object({ afterImageId: EntityId.optional() }).strict(),
    output: z.object({ imageId: EntityId.nullable(), reason: z.string() }),
  },
  'images:get': { input: ByImage, output: ImageMeta },
  'labels:list': { input: ByImage, output: z.object({ versions: z.array(LabelVersion) }) },
  'labels:save': {
    input: z
      .object({
        imageId: EntityId,
        parentVersionId: EntityId.nullable(),
        voxelsGzBase64: z.string().min(1).max(MAX_LABEL_BASE64_CHARS).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'voxelsGzBase64 must be base64'),
        secondsSpent: z.number().nonnegative().max(7 * 24 * 3600),
        source: z.enum(['manual', 'ai_edited']).default('manual'),
        /** Segment status per foreground class, saved with the version (shared/segment-status-schema.ts). */
        segmentStatus: SegmentStatusEntries.optional(),
      })
      .strict(),
    output: z.object({ version: LabelVersion, voxelsChanged: z.number().int().nonnegative() }),
  },
  'labels:transform': { input: LabelTransformInput, output: LabelTransformOutput },
  'labels:measure': { input: LabelMeasureInput, output: LabelMeasureOutput },
  'labels:draftSave': { input: DraftSaveInput, output: z.object({ savedAt: z.string() }) },
  'labels:draftGet': { input: DraftGetInput, output: DraftGetOutput },
  'labels:draftDiscard': { input: DraftDiscardInput, output: DraftDiscardOutput },
  'labelSchema:get': { input: Empty, output: z.object({ labels: z.array(LabelClass) }) },
  'jobs:list': { input: Empty, output: z.object({ jobs: z.array(Job) }) },
  'jobs:get': { input: ByJob, output: Job },
  'jobs:cancel': { input: ByJob, output: Job },
  // Dataset diagnostics (a job: progress + cancel; the report is fetched by job id) and the patient split.
  'diagnostics:run': { input: Empty, output: z.object({ jobId: EntityId }) },
  'diagnostics:result': { input: ByJob, output: z.object({ job: Job, result: DiagnosticsResult.nullable() }) },
  'splits:status': { input: Empty, output: SplitStatusSchema },
  'splits:create': { input: CreateSplitInput, output: CreateSplitOutput },
  // Evaluation of stored predictions (report, learning curve, downloads) and promote/rollback.
  'evaluation:models': { input: Empty, output: EvaluationModelsOutput },
  'evaluation:report': { input: EvaluationQuery, output: EvaluationReportView },
  'evaluation:learningCurve': { input: Empty, output: LearningCurveView },
  'evaluation:export': { input: EvaluationExportInput, output: EvaluationExportOutput },
  // The loop: training (a job), the model registry with its promotion gate, predictions (a job),
  // review of predictions, active-learning rounds (a job).
  'training:plan': { input: Empty, output: TrainingPlanView },
  'training:start': { input: TrainingStartInput, output: JobStarted },
  'training:cancel': { input: ByJob, output: Job },
  'training:resume': { input: TrainingResumeInput, output: JobStarted },
  'training:runs': { input: Empty, output: TrainingRunsOutput },
  'models:list': { input: Empty, output: ModelsListOutput },
  'models:compare': { input: ModelsCompareInput, output: ModelsCompareOutput },
  'models:promote': { input: PromoteInput, output: ModelsActionOutput },
  'models:rollback': { input: ModelsRollbackInput, output: ModelsActionOutput },
  'models:settings': { input: GateSettingsInput, output: GateSettings },
  'predictions:run': { input: PredictionsRunInput, output: JobStarted },
  'predictions:list': { input: PredictionsListInput, output: PredictionsListOutput },
  'reviews:submit': { input: ReviewSubmitInput, output: ReviewSubmitOutput },
  'reviews:acceptBatch': { input: ReviewBatchAcceptInput, output: ReviewBatchAcceptOutput },
  'al:strategies': { input: Empty, output: AlStrategiesOutput },
  'al:select': { input: AlSelectInput, output: JobStarted },
  'al:rounds': { input: Empty, output: AlRoundsOutput },
  // Segment status (issue 16): one version's statuses with the image's history; every image's current ones.
  'segmentStatus:get': { input: SegmentStatusGetInput, output: SegmentStatusGetOutput },
  'segmentStatus:list': { input: Empty, output: SegmentStatusListOutput },
} as const;

export type OperationName = keyof typeof operations;
export const OPERATION_NAMES = Object.keys(operations) as OperationName[];
export type OpInput<N extends OperationName> = z.input<(typeof operations)[N]['input']>;
export type OpParsedInput<N extends OperationName> = z.output<(typeof operations)[N]['input']>;
export type OpOutput<N extends OperationName> = z.output<(typeof operations)[N]['output']>;

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(operations, name);
}

/** Voxel files are bytes, not JSON: HTTP streams them, IPC returns a Uint8Array. */
export const FileRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('image'), id: EntityId }).strict(),
  z.object({ kind: z.literal('label'), id: EntityId }).strict(),
  z.object({ kind: z.literal('prediction'), id: EntityId }).strict(),
  /** A prediction's uncertainty map (float32 NIfTI), by prediction id. */
  z.object({ kind: z.literal('uncertainty'), id: EntityId }).strict(),
]);
export type FileRequest = z.infer<typeof FileRequest>;

/** Events pushed from main to the UI (WebSocket messages / IPC 'segloop:event'). */
export const JobResult = z.object({
  jobId: EntityId,
  kind: z.string(),
  status: z.enum(['done', 'failed', 'cancelled']),
  /** What the job produced, for the screen that started it (ids travel as strings). */
  summary: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }).nullable(),
});
export type JobResult = z.infer<typeof JobResult>;

export const events = {
  'jobs:progress': Job,
  'training:epoch': TrainingEpochEvent,
  'jobs:result': JobResult,
} as const;
export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;
/** Every pushed message, derived from the map: { event, payload } with the payload's schema. */
export const EventMessage = z.discriminatedUnion('event', [
  z.object({ event: z.literal('jobs:progress'), payload: events['jobs:progress'] }),
  z.object({ event: z.literal('training:epoch'), payload: events['training:epoch'] }),
  z.object({ event: z.literal('jobs:result'), payload: events['jobs:result'] }),
]);
export type EventMessage = z.infer<typeof EventMessage>;
// A new entry in `events` without its EventMessage branch fails to type-check here.
const _everyEventHasABranch: Record<EventName, true> = { 'jobs:progress': true, 'training:epoch': true, 'jobs:result': true } satisfies Record<EventMessage['event'], true>;
void _everyEventHasABranch;

export type ResultEnvelope<T> = { ok: true; value: T } | { ok: false; error: ErrorData };
export const ErrorEnvelope = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string(), details: z.unknown().optional() }),
});

export { IPC_EVENT, IPC_FILE, IPC_INVOKE } from './ipc-channels';

/** Turn a zod failure into details a developer can read (path + message), without the input. */
export function zodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
}
