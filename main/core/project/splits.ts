// Patient-grouped train/val/test splits (literature 000: split by subject, then ASSERT no leakage).
//
// - createSplit puts every image of a patient in the same split; test/val take a seeded share of
//   the PATIENTS that have a real (non-pseudo) label, optionally per site (largest-remainder
//   quotas, so each site contributes its share); everything else goes to train (labelled) or pool.
// - A split is FROZEN once it exists (any image in val/test, or a recorded split.create): a second
//   createSplit refuses with SPLIT_FROZEN unless `force`, which is audited with the old assignment.
// - assignNewImages places images imported later: new patients go to train/pool only; an image of a
//   patient already held out follows its patient (anything else would leak) and is reported.
// - assertNoLeakage throws SPLIT_LEAKAGE when a patient has images on two sides; pool counts as the
//   training side (pool images get labelled and trained on).
// - splitByPatient is the trainer's in-memory train/validation split of the images it was given (no
//   store): seeded over patients, filled up to a share of IMAGES, user-fixed 'train'/'val' respected.
//   Both shuffle the sorted patient list with the same seeded Fisher-Yates (base/rng shuffleInPlace)
//   from the one PRNG; ml/trainer.ts calls this one, there is no second split in ml/.
//
// Uses only the store's public API plus `store.database` to write the split-level audit entries in
// the same transaction as the per-image moves.
import { SegloopError } from '../../../shared/errors';
import { defaultActor } from '../base/actor';
import { createRng, mulberry32, shuffleInPlace } from '../base/rng';
import type { ProjectStore } from './project-store';
import type { ImageRow, JsonObject, Split } from './types';

export interface CreateSplitOptions {
  /** Share of eligible patients in the test split, 0 <= test < 1. */
  test: number;
  /** Share of eligible patients in the validation split. */
  val: number;
  seed: number;
  /** Draw the shares within each site separately. */
  stratifyBy?: 'site' | null;
  /** Re-split a frozen project (audited with the previous assignment). */
  force?: boolean;
  actor?: string;
}

export interface SplitCounts {
  patients: number;
  images: number;
  labelledImages: number;
}

export type SplitName = Split | 'none';

export interface SplitResult {
  seed: number;
  test: number;
  val: number;
  stratifyBy: 'site' | null;
  forced: boolean;
  /** Who could go to test/val: patients with a non-pseudo label, or every patient when none has one. */
  eligibility: 'labelled' | 'all';
  eligiblePatients: number;
  counts: Record<SplitName, SplitCounts>;
  /** Per site (stratum): patients per split. */
  bySite: { site: string; patients: Record<SplitName, number> }[];
  /** Patient external ids per split, sorted. */
  patients: Record<SplitName, string[]>;
  imagesChanged: number;
}

export interface LeakageEntry {
  patient: string;
  patientId: number;
  splits: Split[];
  imageIds: Partial<Record<Split, number[]>>;
}

export interface SplitStatus {
  frozen: boolean;
  created: { at: string; actor: string; action: string; details: JsonObject | null } | null;
  counts: Record<SplitName, SplitCounts>;
  bySite: { site: string; patients: Record<SplitName, number> }[];
  unassignedImages: number;
  leakage: LeakageEntry[];
}

export interface AssignNewResult {
  assigned: { imageId: number; patient: string; split: Split; reason: 'new patient' | 'follows patient' }[];
  /** Images that joined val/test because their patient is already there (never silently: listed and audited). */
  joinedHeldOut: { imageId: number; patient: string; split: Split }[];
}

/** Callers sort first, so the order depends only on the seed and on who is in the list, never on database order. */
const shufflePatients = shuffleInPlace;

/** Patients that appear in more than one of the given sides (each side a list of items), sorted. */
function leakingPatients<P extends string | number>(sides: readonly (readonly { patientId: P }[])[]): P[] {
  const seenOn = new Map<P, number>();
  sides.forEach((side, k) => {
    for (const it of side) {
      const first = seenOn.get(it.patientId);
      if (first === undefined) seenOn.set(it.patientId, k);
      else if (first !== k) seenOn.set(it.patientId, -1);
    }
  });
  return [...seenOn.entries()].filter(([, k]) => k === -1).map(([p]) => p).sort();
}

export interface SplitItem {
  id: string;
  patientId: string;
  /** A split fixed by the user ('train' / 'val'); others are assigned here. */
  fixed?: 'train' | 'val' | null;
}

export interface TrainValSplit<T extends SplitItem> {
  train: T[];
  val: T[];
}

/** The trainer's check before every run (also on resume, where the split comes from a checkpoint). */
export function assertNoPatientLeakage(train: readonly SplitItem[], val: readonly SplitItem[]): void {
  const shared = leakingPatients([train, val]);
  if (shared.length > 0) {
    throw new SegloopError(
      'SPLIT_LEAKAGE',
      `Patient(s) ${shared.slice(0, 5).join(', ')}${shared.length > 5 ? '…' : ''} have images in both training and validation; ` +
        'the validation score would be inflated. Put all images of a patient in one split.',
      { patients: shared },
    );
  }
}

/**
 * The trainer's validation split of the images it trains on: seeded over patients (not images) so
 * that about valFraction of the images are in validation; images fixed to 'val' keep their whole
 * patient there, images fixed to 'train' keep theirs in training.
 */
export function splitByPatient<T extends SplitItem>(items: readonly T[], valFraction: number, seed: number): TrainValSplit<T> {
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
  const free = shufflePatients([...byPatient.keys()].filter((p) => !fixedVal.has(p) && !fixedTrain.has(p)).sort(), createRng(seed).next);
  const target = Math.round(items.length * valFraction);
  const val = new Set(fixedVal);
  let nVal = items.filter((i) => val.has(i.patientId)).length;
  for (const p of free) {
    if (nVal >= target) break;
    val.add(p);
    nVal += byPatient.get(p)?.length ?? 0;
  }
  const out: TrainValSplit<T> = { train: items.filter((i) => !val.has(i.patientId)), val: items.filter((i) => val.has(i.patientId)) };
  if (out.train.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'After setting validation patients aside nothing is left to train on: label more images.');
  assertNoPatientLeakage(out.train, out.val);
  return out;
}

const SIDES: Record<Split, 'train' | 'val' | 'test'> = { pool: 'train', train: 'train', val: 'val', test: 'test' };
const NAMES: SplitName[] = ['pool', 'train', 'val', 'test', 'none'];

interface PatientInfo {
  id: number;
  externalId: string;
  site: string;
  images: ImageRow[];
  /** Images with any label version. */
  labelled: Set<number>;
  /** At least one image whose latest label is not a pseudo-label (usable as ground truth). */
  realLabel: boolean;
}

function patientsOf(store: ProjectStore): PatientInfo[] {
  const latest = new Map(store.labelVersions.latestPerImage().map((lv) => [lv.imageId, lv]));
  const byPatient = new Map<number, ImageRow[]>();
  for (const im of store.images.list()) byPatient.set(im.patientId, [...(byPatient.get(im.patientId) ?? []), im]);
  return store.patients
    .list()
    .filter((p) => byPatient.has(p.id))
    .map((p) => {
      const ims = byPatient.get(p.id) ?? [];
      const siteCount = new Map<string, number>();
      for (const im of ims) if (im.site) siteCount.set(im.site, (siteCount.get(im.site) ?? 0) + 1);
      const site = [...siteCount.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? p.site ?? '(none)';
      return {
        id: p.id,
        externalId: p.externalId,
        site,
        images: ims,
        labelled: new Set(ims.filter((im) => latest.has(im.id)).map((im) => im.id)),
        realLabel: ims.some((im) => latest.has(im.id) && latest.get(im.id)?.source !== 'pseudo'),
      };
    })
    .sort((a, b) => a.externalId.localeCompare(b.externalId));
}

function emptyCounts(): Record<SplitName, SplitCounts> {
  return Object.fromEntries(NAMES.map((n) => [n, { patients: 0, images: 0, labelledImages: 0 }])) as Record<SplitName, SplitCounts>;
}

function countsOf(patients: readonly PatientInfo[]): { counts: Record<SplitName, SplitCounts>; bySite: SplitStatus['bySite'] } {
  const counts = emptyCounts();
  const sites = new Map<string, Record<SplitName, number>>();
  for (const p of patients) {
    const seen = new Set<SplitName>();
    for (const im of p.images) {
      const s: SplitName = im.split ?? 'none';
      counts[s].images++;
      if (p.labelled.has(im.id)) counts[s].labelledImages++;
      seen.add(s);
    }
    const site = sites.get(p.site) ?? (Object.fromEntries(NAMES.map((n) => [n, 0])) as Record<SplitName, number>);
    for (const s of seen) {
      counts[s].patients++;
      site[s]++;
    }
    sites.set(p.site, site);
  }
  return { counts, bySite: [...sites.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([site, patients]) => ({ site, patients })) };
}

/** Patients whose images sit on more than one side (train+pool | val | test). */
export function findLeakage(store: ProjectStore): LeakageEntry[] {
  const out: LeakageEntry[] = [];
  for (const p of patientsOf(store)) {
    const bySplit: Partial<Record<Split, number[]>> = {};
    for (const im of p.images) if (im.split) (bySplit[im.split] ??= []).push(im.id);
    const sides = new Set(Object.keys(bySplit).map((s) => SIDES[s as Split]));
    if (sides.size > 1) out.push({ patient: p.externalId, patientId: p.id, splits: (Object.keys(bySplit) as Split[]).sort(), imageIds: bySplit });
  }
  return out;
}

/**
 * Throws SPLIT_LEAKAGE naming the patients and their splits when one patient has images in two of
 * train(+pool) / val / test. The trainer and the evaluator call this before every run.
 */
export function assertNoLeakage(store: ProjectStore): void {
  const leaks = findLeakage(store);
  if (leaks.length === 0) return;
  const describe = (l: LeakageEntry): string => `patient ${l.patient} is in ${l.splits.map((s) => `${s} (image ${(l.imageIds[s] ?? []).join(', ')})`).join(' and ')}`;
  throw new SegloopError(
    'SPLIT_LEAKAGE',
    `${leaks.length} patient(s) have images in more than one split, so scores would be inflated: ${leaks.slice(0, 5).map(describe).join('; ')}` +
      `${leaks.length > 5 ? '; …' : ''}. Move all images of each patient into one split (segloop split --check lists them).`,
    { patients: leaks.map((l) => ({ patient: l.patient, splits: l.splits, imageIds: l.imageIds })) },
  );
}

function lastSplitAudit(store: ProjectStore): SplitStatus['created'] {
  const rows = ['split.create', 'split.force'].flatMap((action) => store.audit.list({ action, limit: 1 }));
  const last = rows.sort((a, b) => b.id - a.id)[0];
  return last ? { at: last.at, actor: last.actor, action: last.action, details: last.details } : null;
}

export function isSplitFrozen(store: ProjectStore): boolean {
  return lastSplitAudit(store) !== null || store.images.list().some((im) => im.split === 'val' || im.split === 'test');
}

export function splitStatus(store: ProjectStore): SplitStatus {
  const patients = patientsOf(store);
  const { counts, bySite } = countsOf(patients);
  return {
    frozen: isSplitFrozen(store),
    created: lastSplitAudit(store),
    counts,
    bySite,
    unassignedImages: counts.none.images,
    leakage: findLeakage(store),
  };
}

function writeAudit(store: ProjectStore, action: string, details: JsonObject, actor: string | undefined): void {
  store.database
    .prepare('INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)')
    .run(new Date().toISOString(), actor ?? defaultActor(), action, 'project', null, JSON.stringify(details));
}

function checkFraction(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0 && v < 1)) throw new SegloopError('INVALID_ARGUMENT', `The ${name} share must be a number in [0, 1), got ${v}.`, { [name]: v });
}

/** Largest-remainder quotas: Σ quota = round(Σ n·share), each quota within floor/ceil of n·share. */
function quotas(sizes: readonly number[], share: number): number[] {
  const exact = sizes.map((n) => n * share);
  const q = exact.map(Math.floor);
  let left = Math.round(sizes.reduce((a, b) => a + b, 0) * share) - q.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (q[i] < sizes[i]) { q[i]++; left--; }
  }
  return q;
}

function restSplit(p: PatientInfo, im: ImageRow): Split {
  return p.labelled.has(im.id) ? 'train' : 'pool';
}

export function createSplit(store: ProjectStore, opts: CreateSplitOptions): SplitResult {
  checkFraction('test', opts.test);
  checkFraction('val', opts.val);
  if (opts.test + opts.val >= 1) throw new SegloopError('INVALID_ARGUMENT', `test + val must leave patients to train on (got ${opts.test} + ${opts.val}).`);
  if (!Number.isInteger(opts.seed)) throw new SegloopError('INVALID_ARGUMENT', `The seed must be an integer, got ${opts.seed}.`);
  const stratifyBy = opts.stratifyBy ?? null;
  if (stratifyBy !== null && stratifyBy !== 'site') throw new SegloopError('INVALID_ARGUMENT', `Only --stratify site is supported (got "${String(stratifyBy)}").`);

  return store.database.transaction((): SplitResult => {
    const frozen = isSplitFrozen(store);
    if (frozen && !opts.force) {
      const c = lastSplitAudit(store);
      throw new SegloopError(
        'SPLIT_FROZEN',
        `This project already has a patient split${c ? ` (${c.action} at ${c.at} by ${c.actor})` : ' (images in val/test)'}: it is frozen so the test set stays the same. ` +
          'Use `segloop split --check` to inspect it, `segloop split --assign-new` to place newly imported images, or --force to re-split (recorded in the audit log).',
        { created: c },
      );
    }
    const patients = patientsOf(store);
    if (patients.length === 0) throw new SegloopError('NO_TRAINING_DATA', 'The project has no images to split: import some first.');
    const real = patients.filter((p) => p.realLabel);
    const eligibility: SplitResult['eligibility'] = real.length > 0 ? 'labelled' : 'all';
    const eligible = eligibility === 'labelled' ? real : patients;

    const strata = new Map<string, PatientInfo[]>();
    for (const p of eligible) {
      const k = stratifyBy === 'site' ? p.site : '*';
      strata.set(k, [...(strata.get(k) ?? []), p]);
    }
    const keys = [...strata.keys()].sort();
    const sizes = keys.map((k) => strata.get(k)?.length ?? 0);
    const qTest = quotas(sizes, opts.test);
    const qVal = quotas(sizes.map((n, i) => n - qTest[i]), opts.val / (1 - opts.test));
    const target = new Map<number, 'val' | 'test'>();
    keys.forEach((k, si) => {
      const list = [...(strata.get(k) ?? [])].sort((a, b) => a.externalId.localeCompare(b.externalId));
      // One generator per stratum, seeded from the seed and the stratum name: adding a site does not reshuffle the others.
      shufflePatients(list, mulberry32((opts.seed ^ hash(k)) >>> 0));
      list.slice(0, qTest[si]).forEach((p) => target.set(p.id, 'test'));
      list.slice(qTest[si], qTest[si] + qVal[si]).forEach((p) => target.set(p.id, 'val'));
    });

    const previous: JsonObject = {};
    const moves = new Map<Split, number[]>();
    for (const p of patients) {
      for (const im of p.images) {
        const to: Split = target.get(p.id) ?? restSplit(p, im);
        if (im.split !== to) {
          previous[String(im.id)] = im.split;
          moves.set(to, [...(moves.get(to) ?? []), im.id]);
        }
      }
    }
    let changed = 0;
    for (const [to, ids] of moves) changed += store.images.setSplit(ids, to, { actor: opts.actor });
    const details: JsonObject = { test: opts.test, val: opts.val, seed: opts.seed, stratifyBy, eligibility, imagesChanged: changed };
    if (frozen) details.previous = previous;
    writeAudit(store, frozen ? 'split.force' : 'split.create', details, opts.actor);

    const after = patientsOf(store);
    const { counts, bySite } = countsOf(after);
    const byName = Object.fromEntries(NAMES.map((n) => [n, [] as string[]])) as Record<SplitName, string[]>;
    for (const p of after) for (const s of new Set(p.images.map((im) => im.split ?? 'none'))) byName[s].push(p.externalId);
    for (const n of NAMES) byName[n].sort();
    const result: SplitResult = {
      seed: opts.seed,
      test: opts.test,
      val: opts.val,
      stratifyBy,
      forced: frozen,
      eligibility,
      eligiblePatients: eligible.length,
      counts,
      bySite,
      patients: byName,
      imagesChanged: changed,
    };
    assertNoLeakage(store);
    return result;
  }).immediate();
}

/**
 * Places images that have no split yet (imported after the split): a new patient's images go to
 * train (labelled) or pool, never to val/test; an image of a patient already in val/test follows it.
 */
export function assignNewImages(store: ProjectStore, opts: { actor?: string } = {}): AssignNewResult {
  return store.database.transaction((): AssignNewResult => {
    const result: AssignNewResult = { assigned: [], joinedHeldOut: [] };
    const moves = new Map<Split, number[]>();
    for (const p of patientsOf(store)) {
      const fresh = p.images.filter((im) => im.split === null);
      if (fresh.length === 0) continue;
      const held = p.images.find((im) => im.split === 'val' || im.split === 'test')?.split ?? null;
      for (const im of fresh) {
        const to: Split = held ?? restSplit(p, im);
        moves.set(to, [...(moves.get(to) ?? []), im.id]);
        const known = p.images.some((x) => x.split !== null);
        result.assigned.push({ imageId: im.id, patient: p.externalId, split: to, reason: known ? 'follows patient' : 'new patient' });
        if (held) result.joinedHeldOut.push({ imageId: im.id, patient: p.externalId, split: held });
      }
    }
    for (const [to, ids] of moves) store.images.setSplit(ids, to, { actor: opts.actor });
    if (result.assigned.length) {
      writeAudit(store, 'split.assign_new', {
        assigned: result.assigned.map((a) => ({ imageId: a.imageId, patient: a.patient, split: a.split })),
        joinedHeldOut: result.joinedHeldOut.map((a) => ({ imageId: a.imageId, patient: a.patient, split: a.split })),
      }, opts.actor);
    }
    assertNoLeakage(store);
    return result;
  }).immediate();
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
