// Evaluation report of one model version on the project's held-out images (literature 001,
// "error analysis": per-region Dice/HD95, size strata, worst cases, per-centre metrics).
//
// Honesty rules this file enforces rather than leaves to the reader:
// - assertNoLeakage(store) runs first: a patient split across train/val/test stops the report.
// - For the test split, an evaluated patient that appears in the model's training snapshot
//   (training_runs.data_snapshot.labelVersionIds) stops the report too (SPLIT_LEAKAGE): a re-split
//   after training can move trained-on patients into test. Other splits only flag such cases.
// - The reference is the newest label version whose source is allowed (default: every source
//   except 'pseudo' — a model's own pseudo-label is not ground truth). References that were
//   accepted/edited from the evaluated model's own prediction are flagged, since they favour it.
// - Classes are the schema's foreground classes, restricted to the reference's labelledClasses
//   when it is a partial label; a class absent from both masks counts as 'both empty' (Dice 1).
// - Images skipped (no reference, no prediction, unreadable) are listed with the reason.
import { SegloopError } from '../../../shared/errors';
import { readNifti } from '../imaging/nifti';
import type { ProjectStore } from '../project';
import { assertNoLeakage } from '../project/splits';
import type { ImageRow, LabelSource, LabelVersionRow, ModelRow, ModelStatus, PredictionRow, Split } from '../project/types';
import { LABEL_SOURCES } from '../project/types';
import { summarizeEvaluation, type CaseRecord, type EvaluationSummary } from './aggregate';
import { comparePaired, type PairedComparison } from './compare';
import { segmentationMetrics, type SegmentationMetrics } from './metrics';
import { caseMeasurements, summarizeMeasurements, type CaseMeasurements, type MeasurementSummaryRow } from './structure-measures';
import { assertSameLabelGeometry } from './volume-metrics';

export interface EvaluationReportOptions {
  modelId: number;
  /** 'latest' (default): newest non-pseudo label version. Or the sources allowed as reference. */
  labelSource?: 'latest' | readonly LabelSource[];
  /** Images of this split (default 'test'); 'all' evaluates every image with a prediction. */
  split?: Split | 'all';
  compareModelId?: number | null;
  /** Length of the worst-cases list (default 10). */
  worstN?: number;
  /** Bootstrap of the paired comparison (defaults 2000 resamples, seed 0). */
  bootstrap?: { resamples?: number; seed?: number };
}

export interface ReportModel {
  id: number;
  version: number;
  status: ModelStatus;
  architecture: string;
  trainingRunId: number | null;
  createdAt: string;
}

export interface ReportClass {
  label: number;
  name: string;
  colour: string;
}

export interface ReportCase {
  /** = String(imageId) (external data: the file name): the key used by the summary. */
  caseId: string;
  /** Null for external data (files given on the command line, not project images). */
  imageId: number | null;
  image: string;
  patient: string;
  site: string;
  split: Split | null;
  referenceLabelVersionId: number | null;
  referenceSource: LabelSource | 'external';
  /** The reference was accepted/edited from a prediction of this model (favours it). */
  referenceFromModel: boolean;
  /** The patient is in the model's training snapshot (only possible outside the test split). */
  patientInTraining: boolean;
  predictionId: number | null;
  metrics: SegmentationMetrics;
  /** Each class measured in the prediction and in the reference (mm, mm², mm³). */
  measurements: CaseMeasurements;
}

export interface SkippedImage {
  imageId: number;
  image: string;
  reason: string;
}

export interface ModelEvaluation {
  model: ReportModel;
  cases: ReportCase[];
  skipped: SkippedImage[];
  summary: EvaluationSummary;
  /** Error of the prediction's measurements against the reference's, per class and measure. */
  measurements: MeasurementSummaryRow[];
}

export interface ReportComparison {
  /** A = the report's model, B = the compared model; differences are B - A. */
  a: ReportModel;
  b: ReportModel;
  dice: PairedComparison;
  hd95: PairedComparison;
}

export interface EvaluationReport {
  project: string;
  generatedAt: string;
  /** 'external': files given on the command line (segloop evaluate --images/--labels). */
  split: Split | 'all' | 'external';
  /** Empty for external data. */
  referenceSources: LabelSource[];
  classes: ReportClass[];
  /** Images in the split (before skipping). */
  imagesConsidered: number;
  primary: ModelEvaluation;
  secondary: ModelEvaluation | null;
  comparison: ReportComparison | null;
  /** Empty-mask convention and metric definitions, shown with the numbers. */
  conventions: string[];
  warnings: string[];
}

export const REPORT_CONVENTIONS: readonly string[] = [
  'Dice and IoU per foreground class; the case mean is over foreground classes.',
  'Surface = mask voxels with a 6-neighbour outside the mask; distances in mm with the image spacing. HD95 = max of the two directed 95th percentiles; ASSD = mean over both directed sets.',
  'Both masks empty for a class: Dice 1, distances 0 (counted as "both empty").',
  'One mask empty ("prediction empty" / "reference empty"): Dice 0, distances undefined — left out of distance means and counted separately.',
  'Size strata: terciles of the reference volume (mm³) over the cases where the class is present; "absent" = reference empty.',
  'Comparison: paired differences B − A on the same cases; 95% percentile bootstrap CI resampling patients (seeded).',
  'Measurements per structure, from the prediction and from the reference, in mm with the image spacing: 2D images (one slice) area, contour perimeter, moments-ellipse axes and circumference (Ramanujan; the head-circumference measure), maximum diameter; 3D volumes volume and maximum diameter (surface points halfway to the outside neighbour). Error = prediction − reference; MAE = mean |error| over the cases where both hold the structure.',
];

export function referenceSourcesOf(option: EvaluationReportOptions['labelSource']): LabelSource[] {
  if (option === undefined || option === 'latest') return LABEL_SOURCES.filter((s) => s !== 'pseudo');
  const bad = option.filter((s) => !(LABEL_SOURCES as readonly string[]).includes(s));
  if (bad.length || option.length === 0) {
    throw new SegloopError('INVALID_ARGUMENT', `Reference label sources must be some of ${LABEL_SOURCES.join(', ')} (got ${option.join(', ') || 'none'}).`);
  }
  return [...new Set(option)];
}

/** Newest label version of the image whose source is allowed. */
export function referenceFor(store: ProjectStore, imageId: number, sources: readonly LabelSource[]): LabelVersionRow | null {
  const versions = store.labelVersions.listForImage(imageId);
  for (let i = versions.length - 1; i >= 0; i--) if (sources.includes(versions[i].source)) return versions[i];
  return null;
}

function reportModel(m: ModelRow): ReportModel {
  return { id: m.id, version: m.version, status: m.status, architecture: m.architecture, trainingRunId: m.trainingRunId, createdAt: m.createdAt };
}

function imageName(img: ImageRow): string {
  return (img.sourceName ?? img.path.split('/').pop() ?? String(img.id)).replace(/\.nii(\.gz)?$/i, '');
}

/** Patient ids (database) of every image in the model's training snapshot. */
export function trainingPatientsOf(store: ProjectStore, model: ModelRow): Set<number> {
  const out = new Set<number>();
  if (model.trainingRunId === null) return out;
  const run = store.trainingRuns.get(model.trainingRunId);
  if (!run) return out;
  for (const id of run.dataSnapshot.labelVersionIds) {
    const lv = store.labelVersions.get(id);
    const img = lv ? store.images.get(lv.imageId) : null;
    if (img) out.add(img.patientId);
  }
  return out;
}

// Metrics of a (prediction, reference) pair never change: both files are immutable and named by
// sha256. The learning curve re-evaluates every model, so a small cache saves re-reading them.
interface PairResult {
  metrics: SegmentationMetrics;
  measurements: CaseMeasurements;
}
const metricCache = new Map<string, PairResult>();
const METRIC_CACHE_MAX = 4096;

export async function pairMetrics(
  store: ProjectStore,
  img: ImageRow,
  pred: PredictionRow,
  ref: LabelVersionRow,
  classes: readonly number[],
): Promise<PairResult> {
  const spacing = img.spacing.slice(0, 3) as [number, number, number];
  const key = `${store.dir}|${pred.sha256}|${ref.sha256}|${classes.join(',')}|${spacing.join(',')}`;
  const hit = metricCache.get(key);
  if (hit) return hit;
  const [p, r] = await Promise.all([readNifti(await store.resolve(pred.path)), readNifti(await store.resolve(ref.path))]);
  const names = { pred: `prediction ${pred.path} (model ${pred.modelId}, image ${img.id})`, ref: `reference ${ref.path} (label version ${ref.id})` };
  assertSameLabelGeometry(p, r, names);
  if (r.shape.some((n, a) => n !== img.shape[a])) {
    throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `${names.ref} has shape (${r.shape.join(', ')}) but image ${img.id} has (${img.shape.join(', ')}).`, names);
  }
  const m: PairResult = { metrics: segmentationMetrics(p, r, { spacing, classes, names }), measurements: caseMeasurements(p.data, r.data, r.shape, spacing, classes) };
  if (metricCache.size >= METRIC_CACHE_MAX) metricCache.delete(metricCache.keys().next().value as string);
  metricCache.set(key, m);
  return m;
}

interface Candidate {
  img: ImageRow;
  ref: LabelVersionRow | null;
  patient: string;
  site: string;
}

async function evaluateModel(
  store: ProjectStore,
  model: ModelRow,
  candidates: readonly Candidate[],
  fgClasses: readonly number[],
  split: Split | 'all',
  worstN: number,
): Promise<ModelEvaluation> {
  const trainingPatients = trainingPatientsOf(store, model);
  if (split === 'test') {
    const leaked = candidates.filter((c) => trainingPatients.has(c.img.patientId) && store.predictions.latestForImage(c.img.id, model.id));
    if (leaked.length) {
      const pats = [...new Set(leaked.map((c) => c.patient))];
      throw new SegloopError(
        'SPLIT_LEAKAGE',
        `Model v${model.version} was trained on ${pats.length} patient(s) that are now in the test split (${pats.slice(0, 5).join(', ')}${pats.length > 5 ? ', …' : ''}): its test scores would be inflated. ` +
          'The split was probably changed after training; evaluate a model trained after the split, or restore the split.',
        { modelId: model.id, patients: pats, imageIds: leaked.map((c) => c.img.id) },
      );
    }
  }
  const cases: ReportCase[] = [];
  const skipped: SkippedImage[] = [];
  for (const c of candidates) {
    const name = imageName(c.img);
    if (!c.ref) {
      skipped.push({ imageId: c.img.id, image: name, reason: 'no reference label of an allowed source' });
      continue;
    }
    const pred = store.predictions.latestForImage(c.img.id, model.id);
    if (!pred) {
      skipped.push({ imageId: c.img.id, image: name, reason: `no prediction from model v${model.version}` });
      continue;
    }
    const classes = c.ref.labelledClasses ? fgClasses.filter((k) => c.ref?.labelledClasses?.includes(k)) : fgClasses;
    const { metrics, measurements } = await pairMetrics(store, c.img, pred, c.ref, classes);
    cases.push({
      caseId: String(c.img.id),
      imageId: c.img.id,
      image: name,
      patient: c.patient,
      site: c.site,
      split: c.img.split,
      referenceLabelVersionId: c.ref.id,
      referenceSource: c.ref.source,
      referenceFromModel: c.ref.modelId === model.id && (c.ref.source === 'ai_accepted' || c.ref.source === 'ai_edited'),
      patientInTraining: trainingPatients.has(c.img.patientId),
      predictionId: pred.id,
      metrics,
      measurements,
    });
  }
  return { model: reportModel(model), cases, skipped, summary: summarizeEvaluation(toCaseRecords(cases), { worstN }), measurements: summarizeMeasurements(cases.map((c) => c.measurements)) };
}

export function toCaseRecords(cases: readonly ReportCase[]): CaseRecord[] {
  return cases.map((c) => ({ caseId: c.caseId, patientId: c.patient, site: c.site, metrics: c.metrics }));
}

/** Builds the report; throws SPLIT_LEAKAGE, MODEL_NOT_FOUND, LABEL_GEOMETRY_MISMATCH with the file named. */
export async function buildEvaluationReport(store: ProjectStore, options: EvaluationReportOptions): Promise<EvaluationReport> {
  assertNoLeakage(store);
  const model = store.models.require(options.modelId);
  const other = options.compareModelId != null ? store.models.require(options.compareModelId) : null;
  if (other && other.id === model.id) throw new SegloopError('INVALID_ARGUMENT', `Cannot compare model v${model.version} with itself: pick another model.`);
  const split = options.split ?? 'test';
  const sources = referenceSourcesOf(options.labelSource);
  const worstN = options.worstN ?? 10;
  if (!Number.isInteger(worstN) || worstN < 1) throw new SegloopError('INVALID_ARGUMENT', `worstN must be a positive integer, got ${worstN}.`);

  const schema = store.labelSchema.list().filter((c) => c.idx !== 0);
  const classes: ReportClass[] = schema.map((c) => ({ label: c.idx, name: c.name, colour: c.colour }));
  const patients = new Map(store.patients.list().map((p) => [p.id, p]));
  const images = split === 'all' ? store.images.list() : store.images.list({ split });
  const candidates: Candidate[] = images.map((img) => {
    const p = patients.get(img.patientId);
    return { img, ref: referenceFor(store, img.id, sources), patient: p?.externalId ?? String(img.patientId), site: img.site ?? p?.site ?? 'unknown' };
  });
  const fg = classes.map((c) => c.label);

  const primary = await evaluateModel(store, model, candidates, fg, split, worstN);
  const secondary = other ? await evaluateModel(store, other, candidates, fg, split, worstN) : null;
  let comparison: ReportComparison | null = null;
  if (secondary) {
    const a = toCaseRecords(primary.cases);
    const b = toCaseRecords(secondary.cases);
    const opts = { resamples: options.bootstrap?.resamples ?? 2000, seed: options.bootstrap?.seed ?? 0, resampleBy: 'patient' as const };
    comparison = {
      a: primary.model,
      b: secondary.model,
      dice: comparePaired(a, b, { ...opts, metric: 'dice' }),
      hd95: comparePaired(a, b, { ...opts, metric: 'hd95' }),
    };
  }

  return {
    project: store.name,
    generatedAt: new Date().toISOString(),
    split,
    referenceSources: sources,
    classes,
    imagesConsidered: images.length,
    primary,
    secondary,
    comparison,
    conventions: [...REPORT_CONVENTIONS],
    warnings: warningsOf(primary, secondary, comparison, split, images.length),
  };
}

function warningsOf(
  primary: ModelEvaluation,
  secondary: ModelEvaluation | null,
  comparison: ReportComparison | null,
  split: Split | 'all' | 'external',
  considered: number,
): string[] {
  const out: string[] = [];
  const where = split === 'all' ? 'the project' : split === 'external' ? 'the external data' : `the ${split} split`;
  for (const ev of [primary, secondary]) {
    if (!ev) continue;
    const v = `model v${ev.model.version}`;
    if (considered === 0) out.push(`${where} has no images: nothing to evaluate${split === 'test' ? ' (run `segloop split` to hold out test patients)' : ''}.`);
    else if (ev.cases.length === 0) out.push(`No image of ${where} has both a reference label and a prediction from ${v}: run predict on ${where} first.`);
    else if (ev.skipped.length) out.push(`${v}: ${ev.cases.length} of ${considered} images of ${where} evaluated; ${ev.skipped.length} skipped (listed with reasons).`);
    const fromModel = ev.cases.filter((c) => c.referenceFromModel).length;
    if (fromModel) out.push(`${v}: ${fromModel} reference label(s) were accepted or edited from this model's own prediction, which favours it.`);
    const trained = ev.cases.filter((c) => c.patientInTraining).length;
    if (trained) out.push(`${v}: ${trained} evaluated case(s) belong to patients in its training data: these scores are not held-out scores.`);
    if (ev.cases.length > 0 && ev.cases.length < 10) out.push(`${v}: only ${ev.cases.length} case(s): means and strata are very uncertain.`);
  }
  if (comparison && (comparison.dice.onlyA.length || comparison.dice.onlyB.length)) {
    out.push(`Comparison uses the ${comparison.dice.matched} cases both models predicted (${comparison.dice.onlyA.length} only by v${comparison.a.version}, ${comparison.dice.onlyB.length} only by v${comparison.b.version}).`);
  }
  return out;
}

export interface ExternalCase {
  /** File name without extension: the case and (without other information) the patient. */
  id: string;
  patient?: string;
  site?: string;
  metrics: SegmentationMetrics;
  measurements: CaseMeasurements;
}

/**
 * The same report for external data (files given on the command line, predicted on the fly, not
 * stored): no project ids, no split, no leakage check possible beyond what the caller knows; each
 * file is its own patient unless `patient` says otherwise.
 */
export function reportFromExternalCases(input: {
  project: string;
  model: ModelRow;
  classes: ReportClass[];
  cases: readonly ExternalCase[];
  worstN?: number;
}): EvaluationReport {
  const cases: ReportCase[] = input.cases.map((c) => ({
    caseId: c.id,
    imageId: null,
    image: c.id,
    patient: c.patient ?? c.id,
    site: c.site ?? 'unknown',
    split: null,
    referenceLabelVersionId: null,
    referenceSource: 'external',
    referenceFromModel: false,
    patientInTraining: false,
    predictionId: null,
    metrics: c.metrics,
    measurements: c.measurements,
  }));
  const primary: ModelEvaluation = {
    model: reportModel(input.model),
    cases,
    skipped: [],
    summary: summarizeEvaluation(toCaseRecords(cases), { worstN: input.worstN ?? 10 }),
    measurements: summarizeMeasurements(cases.map((c) => c.measurements)),
  };
  return {
    project: input.project,
    generatedAt: new Date().toISOString(),
    split: 'external',
    referenceSources: [],
    classes: input.classes,
    imagesConsidered: cases.length,
    primary,
    secondary: null,
    comparison: null,
    conventions: [...REPORT_CONVENTIONS],
    warnings: [
      'External data: patients and sites are unknown (each file counts as its own patient), and Segloop cannot check that these images were never used for training.',
      ...warningsOf(primary, null, null, 'external', cases.length),
    ],
  };
}
