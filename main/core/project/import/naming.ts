// File naming rules of an import: which files are images, how a label file is matched to its
// image, and how a patient id is derived from a file name.
import path from 'node:path';
import { SegloopError } from '../../../../shared/errors';

const NIFTI_SUFFIXES = ['.nii.gz', '.nii', '.hdr.gz', '.hdr'] as const;

/** True for files the NIfTI reader opens directly (the .img half of a pair is reached through its .hdr). */
export function isNiftiFile(file: string): boolean {
  const lower = file.toLowerCase();
  return NIFTI_SUFFIXES.some((s) => lower.endsWith(s));
}

/** File name without directory and NIfTI suffix: `a/b/case_01.nii.gz` -> `case_01`. */
export function stemOf(file: string): string {
  const base = path.basename(file);
  const lower = base.toLowerCase();
  for (const s of NIFTI_SUFFIXES) if (lower.endsWith(s)) return base.slice(0, -s.length);
  return base;
}

// nnU-Net names image channels `case_0000`; common label naming adds `_seg`, `_label`, `_mask`.
const IMAGE_CHANNEL_SUFFIX = /_0000$/;
const LABEL_SUFFIX = /[_-](seg|segmentation|label|labels|mask|gt)$/i;

export function matchKey(stem: string): string {
  return stem.replace(IMAGE_CHANNEL_SUFFIX, '').replace(LABEL_SUFFIX, '').toLowerCase();
}

/** Pairs each image with the label file of the same key; reports labels that match nothing or twice. */
export function matchLabels(images: readonly string[], labels: readonly string[]): { byImage: Map<string, string>; unmatchedLabels: string[]; ambiguous: string[] } {
  const labelByKey = new Map<string, string[]>();
  for (const l of labels) {
    const k = matchKey(stemOf(l));
    labelByKey.set(k, [...(labelByKey.get(k) ?? []), l]);
  }
  const byImage = new Map<string, string>();
  const used = new Set<string>();
  const ambiguous: string[] = [];
  for (const img of images) {
    const candidates = labelByKey.get(matchKey(stemOf(img))) ?? [];
    if (candidates.length === 1) {
      byImage.set(img, candidates[0]);
      used.add(candidates[0]);
    } else if (candidates.length > 1) {
      ambiguous.push(img);
      candidates.forEach((c) => used.add(c));
    }
  }
  return { byImage, unmatchedLabels: labels.filter((l) => !used.has(l)), ambiguous };
}

/**
 * Patient id from a file stem. With a pattern, its first capture group (or the whole match) is the id;
 * without one, the stem minus an nnU-Net channel suffix is the id (one image per patient).
 */
export function patientIdFromName(stem: string, pattern?: string): string {
  if (!pattern) return stem.replace(IMAGE_CHANNEL_SUFFIX, '');
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new SegloopError('INVALID_ARGUMENT', `The patient-id pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  const m = re.exec(stem);
  if (!m) throw new SegloopError('INVALID_ARGUMENT', `File "${stem}" does not match the patient-id pattern ${pattern}`);
  return m[1] ?? m[0];
}
