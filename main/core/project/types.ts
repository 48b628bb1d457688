// Row types of the project database as the rest of the app sees them: camelCase, JSON columns
// already parsed, booleans as booleans. The SQL column names live only in the repositories.

export const SPLITS = ['pool', 'train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

// Label sources, model statuses and run statuses are the contract's (shared/), not a second list.
import { LABEL_SOURCES, MODEL_STATUSES, type LabelSource, type ModelStatus } from '../../../shared/vocabulary';
import { TRAINING_RUN_STATUSES } from '../../../shared/training-schema';

export { LABEL_SOURCES, MODEL_STATUSES, TRAINING_RUN_STATUSES, type LabelSource, type ModelStatus };
export type TrainingRunStatus = (typeof TRAINING_RUN_STATUSES)[number];

export const REVIEW_DECISIONS = ['accept', 'edit', 'reject'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Options every mutation accepts: who did it (written to audit_log.actor). */
export interface MutationOptions {
  actor?: string;
}

export interface PatientRow {
  id: number;
  externalId: string;
  site: string | null;
  createdAt: string;
}

export interface ImageMeta {
  /** Spatial shape as stored (e.g. [X, Y, Z]). */
  shape: number[];
  /** Voxel sizes in mm. */
  spacing: number[];
  /** 4x4 voxel-to-world (RAS+ mm) matrix, row-major. */
  affine: number[][];
  dtype: string;
  modality: string | null;
}

export interface ImageRow extends ImageMeta {
  id: number;
  patientId: number;
  /** Relative to the project folder, always with forward slashes. */
  path: string;
  sha256: string;
  site: string | null;
  split: Split | null;
  sourceName: string | null;
  createdAt: string;
}

export interface LabelClass {
  idx: number;
  name: string;
  /** '#rrggbb' */
  colour: string;
}

export interface LabelVersionRow {
  id: number;
  imageId: number;
  parentId: number | null;
  path: string;
  sha256: string;
  source: LabelSource;
  author: string;
  modelId: number | null;
  voxelsChanged: number | null;
  secondsSpent: number | null;
  /** Class indices actually labelled (partial labels); null = every class in the schema. */
  labelledClasses: number[] | null;
  createdAt: string;
}

export interface ModelRow {
  id: number;
  version: number;
  parentId: number | null;
  architecture: string;
  config: JsonObject;
  weightsPath: string | null;
  weightsSha256: string | null;
  trainingRunId: number | null;
  metrics: JsonObject | null;
  status: ModelStatus;
  createdAt: string;
}

export interface TrainingDataSnapshot {
  /** The label versions the run trained/validated on; the run is reproducible from these. */
  labelVersionIds: number[];
  [key: string]: JsonValue;
}

export interface TrainingRunRow {
  id: number;
  config: JsonObject;
  backend: string | null;
  dataSnapshot: TrainingDataSnapshot;
  log: string;
  status: TrainingRunStatus;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
}

export interface PredictionRow {
  id: number;
  imageId: number;
  modelId: number;
  path: string;
  sha256: string;
  uncertaintyPath: string | null;
  uncertaintySha256: string | null;
  scores: JsonObject | null;
  tta: boolean;
  createdAt: string;
}

export interface AlRoundRow {
  id: number;
  strategy: string;
  modelId: number | null;
  /** Selected image ids, in selection order. */
  selected: number[];
  /** Per-image scores keyed by image id (as string), or any strategy-specific summary. */
  scores: JsonObject;
  createdAt: string;
}

export interface ReviewRow {
  id: number;
  predictionId: number;
  labelVersionId: number | null;
  decision: ReviewDecision;
  secondsSpent: number | null;
  author: string;
  createdAt: string;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entityId: number | null;
  details: JsonObject | null;
}
