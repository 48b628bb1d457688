// What a person can do about each error code, in one sentence, for the CLI (after the technical
// `segloop: CODE: message` line) and for the app's error displays. One table, checked by the
// compiler: a new code in errors.ts does not build until it has its sentence here.
import type { ErrorCode } from './errors';

export const USER_MESSAGES = {
  FILE_NOT_FOUND: 'Check the file or folder name; it does not exist where Segloop looked.',
  FILE_EMPTY: 'The file is empty: export it again from the scanner or labelling tool.',
  NOT_NIFTI: 'Give a NIfTI file (.nii or .nii.gz) or a DICOM folder.',
  NIFTI_TRUNCATED: 'The file is cut short (an interrupted copy?): copy it again from its source.',
  NIFTI_UNSUPPORTED: 'Convert the image to a plain 3D NIfTI (for example with dcm2niix) and import it again.',
  NIFTI_4D_VOLUME_REQUIRED: 'This is a 4D series: name the volume to use, or split it into 3D files.',
  DICOM_INVALID: 'The DICOM files are damaged or incomplete: export the series again from the PACS.',
  DICOM_MIXED_SERIES: 'The folder holds more than one series: put each series in its own folder.',
  DICOM_UNSUPPORTED: 'Export the series uncompressed, or convert it with dcm2niix, and import it again.',
  IMAGE_HAS_NAN: 'The image has invalid (NaN) voxels: re-export or repair it before importing.',
  IMAGE_TOO_LARGE: 'The image is larger than Segloop can hold in memory: crop or downsample it first.',
  IMAGE_GEOMETRY_INVALID: 'The image has no usable position or spacing in its header: re-export it from the scanner.',
  LABEL_GEOMETRY_MISMATCH: 'The label does not match the image grid: label the image itself, or resample the label onto it.',
  LABEL_OUT_OF_SCHEMA: 'The label uses classes the project does not define: add them to the label schema or fix the label.',
  LABEL_NOT_INTEGER: 'Labels must hold whole class numbers: export the label as an integer mask.',
  PROJECT_NOT_FOUND: 'Open a folder that holds a Segloop project (project.db), or create one with `segloop init`.',
  PROJECT_EXISTS: 'A project already exists there: open it, or choose an empty folder.',
  PROJECT_NEWER_THAN_APP: 'The project was saved by a newer Segloop: update Segloop before opening it.',
  PROJECT_CORRUPT: 'The project is damaged: restore it from your last backup and tell IT.',
  PROJECT_LOCKED: 'Another Segloop window or command is using the project: close it, or open this one read-only.',
  PROJECT_MOVED: 'The project database does not belong to this folder: reopen the project from its own folder.',
  PROJECT_READ_ONLY: 'The project is open read-only: close other Segloop windows using it and open it again to make changes.',
  LABEL_CONFLICT: 'Someone saved this label meanwhile: reload the case, check their version, then save your edit on top.',
  PREDICTION_STALE: 'A newer prediction exists for this case: review that one instead.',
  PATH_OUTSIDE_PROJECT: 'Only files inside the project folder can be used here.',
  IMAGE_NOT_FOUND: 'The image is not in this project (deleted or another project?): refresh the case list.',
  LABEL_VERSION_NOT_FOUND: 'That label version is not in this project: reload the case.',
  MODEL_NOT_FOUND: 'That model is not in this project: refresh the model list.',
  PATIENT_NOT_FOUND: 'That patient is not in this project: refresh the list.',
  SPLIT_LEAKAGE: 'A patient is in more than one split: move all of that patient\u2019s images into one split (segloop split --check lists them).',
  SPLIT_FROZEN: 'The test split is fixed so scores stay comparable: place new images with --assign-new, or re-split on purpose with --force.',
  DISK_FULL: 'The disk is full: free some space and try again; nothing was lost.',
  CHECKSUM_MISMATCH: 'A stored file changed on disk since it was saved: restore the project folder from a backup.',
  VALIDATION_FAILED: 'The request was malformed: reload the app; if it happens again, report it.',
  UNAUTHORIZED: 'The session has expired or the link is wrong: open Segloop again from its own link.',
  FORBIDDEN: 'This action is not allowed from here.',
  NOT_FOUND: 'It no longer exists: refresh the screen.',
  JOB_NOT_FOUND: 'That job has finished or was removed: refresh the job list.',
  JOB_CANCELLED: 'The job was cancelled; start it again when you are ready (training resumes from its checkpoint).',
  JOB_FAILED: 'The job failed: read its message, fix the cause and start it again.',
  BUSY: 'Segloop is busy with another change: try again in a moment.',
  PAYLOAD_TOO_LARGE: 'The data sent is too large: work on a smaller image or region.',
  TOO_MANY_REQUESTS: 'Too many requests at once: wait a moment and try again.',
  PROMOTION_BLOCKED: 'The candidate scores worse than the model in use: keep the current model, or override with a written reason.',
  ALREADY_PROMOTED: 'This model is already the one in use: nothing to change.',
  NOTHING_TO_ROLL_BACK: 'There is no earlier model in use to go back to: promote a model version instead.',
  ROLLBACK_NOT_EARLIER: 'A rollback only goes back to an earlier model: promote the newer one instead (it goes through the promotion check).',
  MODEL_HAS_NO_WEIGHTS: 'This model has no trained weights (training did not finish): train it, or choose another version.',
  BACKEND_UNAVAILABLE: 'The chosen compute backend is not available on this machine: choose "auto" to use the best one present.',
  TRAINING_FAILED: 'Training stopped with an error: read its log, fix the cause and resume it.',
  WORKER_CRASHED: 'The background process stopped unexpectedly (out of memory?): close other programs and resume the job.',
  NO_TRAINING_DATA: 'There are not enough labelled images: label more cases (not in the test split) and try again.',
  UNKNOWN_STRATEGY: 'Choose one of the listed active-learning strategies.',
  NO_UNLABELLED_IMAGES: 'Every case is labelled: import more images to select from.',
  BUDGET_EXCEEDS_POOL: 'Ask for fewer cases than there are unlabelled ones.',
  INVALID_ARGUMENT: 'Check the values you entered against the help text.',
  INTERNAL_ERROR: 'Something went wrong inside Segloop: try again; if it repeats, report it with the message.',
  CONFIRMATION_REQUIRED: 'This removes data for good: repeat the command with --yes if you are sure.',
  ONNX_EXPORT_UNSUPPORTED: 'This model has a layer the fast ONNX runtime cannot run: prediction uses the slower built-in engine instead.',
} as const satisfies Record<ErrorCode, string>;

/** The sentence for `code`, or the internal-error sentence for a code this build does not know. */
export function userMessage(code: unknown): string {
  return (USER_MESSAGES as Record<string, string>)[typeof code === 'string' ? code : ''] ?? USER_MESSAGES.INTERNAL_ERROR;
}

/** An error as the app shows it: what to do, then what happened. */
export function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return `${userMessage(e?.code)} (${message})`;
}
