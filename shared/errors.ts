// Error codes shared by core, the transports and the renderer. Errors cross every boundary as
// data ({ code, message, details }) and are rebuilt as SegloopError on the other side.
export const ERROR_CODES = [
  // input files
  'FILE_NOT_FOUND',
  'FILE_EMPTY',
  'NOT_NIFTI',
  'NIFTI_TRUNCATED',
  'NIFTI_UNSUPPORTED',
  'NIFTI_4D_VOLUME_REQUIRED',
  'DICOM_INVALID',
  'DICOM_MIXED_SERIES',
  'DICOM_UNSUPPORTED',
  'IMAGE_HAS_NAN',
  'IMAGE_TOO_LARGE',
  'IMAGE_GEOMETRY_INVALID',
  'LABEL_GEOMETRY_MISMATCH',
  'LABEL_OUT_OF_SCHEMA',
  'LABEL_NOT_INTEGER',
  // project
  'PROJECT_NOT_FOUND',
  'PROJECT_EXISTS',
  'PROJECT_NEWER_THAN_APP',
  'PROJECT_CORRUPT',
  'PROJECT_LOCKED',
  'PROJECT_MOVED',
  'PROJECT_READ_ONLY',
  'LABEL_CONFLICT',
  // review: the prediction was superseded by a newer one of the same image
  'PREDICTION_STALE',
  'PATH_OUTSIDE_PROJECT',
  'IMAGE_NOT_FOUND',
  'LABEL_VERSION_NOT_FOUND',
  'MODEL_NOT_FOUND',
  'PATIENT_NOT_FOUND',
  'SPLIT_LEAKAGE',
  'SPLIT_FROZEN',
  'DISK_FULL',
  'CHECKSUM_MISMATCH',
  // transport
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'JOB_NOT_FOUND',
  'JOB_CANCELLED',
  'JOB_FAILED',
  'BUSY',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_REQUESTS',
  // model registry: a candidate the promotion gate refuses (override needs a reason)
  'PROMOTION_BLOCKED',
  // model registry states (not typos: the request was well formed, the registry is not in that state)
  'ALREADY_PROMOTED',
  'NOTHING_TO_ROLL_BACK',
  'ROLLBACK_NOT_EARLIER',
  'MODEL_HAS_NO_WEIGHTS',
  // ml
  'BACKEND_UNAVAILABLE',
  'TRAINING_FAILED',
  'WORKER_CRASHED',
  'NO_TRAINING_DATA',
  // a model layer the ONNX exporter cannot translate (the message names the layer and its class)
  'ONNX_EXPORT_UNSUPPORTED',
  // active learning
  'UNKNOWN_STRATEGY',
  'NO_UNLABELLED_IMAGES',
  'BUDGET_EXCEEDS_POOL',
  'INVALID_ARGUMENT',
  'INTERNAL_ERROR',
  // a destructive command (emptying the quarantine) run without its explicit --yes
  'CONFIRMATION_REQUIRED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorData {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class SegloopError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'SegloopError';
    this.code = code;
    this.details = details ?? null;
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromData(data: ErrorData): SegloopError {
    return new SegloopError(data.code, data.message, data.details);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Normalise anything thrown into error data that can cross a transport. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof SegloopError) return err.toData();
  const e = err as { code?: unknown; message?: unknown };
  if (e && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) {
    return { code: 'DISK_FULL', message: 'The disk is full: free some space and try again. Nothing was saved.' };
  }
  // SQLite errors that escaped a repository (code paths calling database.transaction directly).
  if (e && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    const msg = typeof e.message === 'string' ? e.message : e.code;
    if (e.code === 'SQLITE_FULL' || e.code === 'SQLITE_IOERR_SHMSIZE') return { code: 'DISK_FULL', message: 'The disk is full: free some space and try again. Nothing was saved.', details: { cause: e.code } };
    if (e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED')) return { code: 'BUSY', message: 'The project database is busy: try again in a moment.', details: { cause: e.code } };
    if (e.code.startsWith('SQLITE_CONSTRAINT')) return { code: 'INVALID_ARGUMENT', message: `The project database refused the change: ${msg}`, details: { cause: e.code } };
    if (e.code.startsWith('SQLITE_READONLY')) return { code: 'PROJECT_READ_ONLY', message: msg, details: { cause: e.code } };
    return { code: 'PROJECT_CORRUPT', message: `Project database error (${e.code}): ${msg}`, details: { cause: e.code } };
  }
  if (e && e.code === 'ENOENT') {
    return { code: 'FILE_NOT_FOUND', message: typeof e.message === 'string' ? e.message : 'File not found' };
  }
  return { code: 'INTERNAL_ERROR', message: typeof e?.message === 'string' ? e.message : String(err) };
}
