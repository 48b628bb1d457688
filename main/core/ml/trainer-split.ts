// Train/validation split grouped by patient: every image of a patient lands on the same side,
// so validation never sees a patient the model trained on (literature 000: split by subject and
// ASSERT no leakage). Images already marked 'val' in the project stay in validation.
import { SegloopError } from '../../../shared/errors';
import { createRng } from './data/prng';

export interface SplitItem {
  id: string;
  patientId: string;
  /** A split fixed by the user ('train' / 'val'); others are assigned here. */
  fixed?: 'train' | 'val' | null;
}

export interface SplitResult<T extends SplitItem> {
  train: T[];
  val: T[];
}

export function assertNoPatientLeakage(train: readonly SplitItem[], val: readonly SplitItem[]): void {
  const trainPatients = new Set(train.map((t) => t.patientId));
  const shared = [...new Set(val.filter((v) => trainPatients.has(v.patientId)).map((v) => v.patientId))];
  if (shared.length > 0) {
    throw new SegloopError(
      'SPLIT_LEAKAGE',
      `Patient(s) ${shared.slice(0, 5).join(', ')}${shared.length > 5 ? '…' : ''} have images in both training and validation; ` +
        'the validation score would be inflated. Put all images of a patient in one split.',
      { patients: shared },
    );
  }
}

/** Seeded split of patients (not images) so that about valFraction of images are in validation. */
export function splitByPatient<T extends SplitItem>(items: readonly T[], valFraction: number, seed: number): SplitResult<T> {
  if (!(valFraction >= 0 && valFraction < 1)) throw new SegloopError('INVALID_ARGUMENT', `The validation fraction must be in [0, 1), got ${valFraction}.`);
  const byPatient = new Map<string, T[]>();
  for (const it of items) byPatient.set(it.patientId, [...(byPatient.get(it.patientId) ?? []), it]);
  const fixedVal = new Set<string>();
  const fixedTrain = new Set<string>();
  for (const it of items) {
    if (it.fixed === 'val') fixedVal.add(it.patientId);
    if (it.fixed === 'train') fixedTrain.add(it.patientId);
  }
  const both = [...fixedVal].filter((p) => fixedTrain.has(p));
  if (both.length) {
    throw new SegloopError('SPLIT_LEAKAGE', `Patient(s) ${both.join(', ')} have images marked both 'train' and 'val'. Mark all images of a patient alike.`, { patients: both });
  }
  const free = [...byPatient.keys()].filter((p) => !fixedVal.has(p) && !fixedTrain.has(p)).sort();
  const rng = createRng(seed);
  for (let i = free.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [free[i], free[j]] = [free[j], free[i]];
  }
  const target = Math.round(items.length * valFraction);
  const val = new Set(fixedVal);
  let nVal = items.filter((i) => val.has(i.patientId)).length;
  for (const p of free) {
    if (nVal >= target) break;
    val.add(p);
    nVal += byPatient.get(p)?.length ?? 0;
  }
  // Keep at least one training patient.
  const out: SplitResult<T> = { train: items.filter((i) => !val.has(i.patientId)), val: items.filter((i) => val.has(i.patientId)) };
  if (out.train.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'After setting validation patients aside nothing is left to train on: label more images.');
  assertNoPatientLeakage(out.train, out.val);
  return out;
}
