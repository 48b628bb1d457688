// Public surface of the project store. Import from here, not from the individual files.
export { ProjectStore, PROJECT_DB } from './project-store';
export type {
  AddImageInput,
  AddLabelVersionInput,
  AddPredictionInput,
  Added,
  FileSource,
  OpenOptions,
  ProjectInfo,
  ProjectStoreOptions,
} from './project-store';
export { defaultIo, resolveInProject, writeFileAtomic, sha256Bytes, sha256File, toProjectRelative, isDiskFullError, TEMP_MARKER } from './files';
export type { AtomicWriteIo } from './files';
export type { RecoveryReport, IntegrityReport } from './recovery';
export { MANAGED_DIRS } from './recovery';
export { LATEST_SCHEMA_VERSION } from './migrations';
export type { MigrationResult } from './migrations';
export type { NewPatient } from './patient-repository';
export type { ImageFilter, NewImageRow } from './image-repository';
export type { LabelVersionMeta, NewLabelVersionRow } from './label-version-repository';
export type { NewModel } from './model-repository';
export type { NewTrainingRun, FinalTrainingStatus } from './training-run-repository';
export type { PredictionMeta, NewPredictionRow } from './prediction-repository';
export type { NewAlRound } from './al-round-repository';
export type { NewReview } from './review-repository';
export type { AuditFilter } from './audit-repository';
export * from './types';
