// Wire schemas of the 'evaluation:*' and 'models:*' operations: the evaluation screen's view of a
// report (main/core/evaluation/report.ts), the learning curve, exports and promote/rollback.
// Ids travel as strings like every other id of the contract.
import { z } from 'zod';
import { LABEL_SOURCES, MODEL_STATUSES } from './vocabulary';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/);
const Num = z.number().nullable();
export const EVALUATION_SPLITS = ['test', 'val', 'train', 'pool', 'all'] as const;
export const EvaluationSplit = z.enum(EVALUATION_SPLITS);
export const EMPTY_CASES = ['none', 'both', 'pred', 'ref'] as const;

/** Per-structure measurements (core/evaluation/structure-measures.ts): 2D images get the first six, 3D volumes volume and max diameter. */
export const MEASURE_KEYS = ['areaMm2', 'perimeterMm', 'majorAxisMm', 'minorAxisMm', 'circumferenceMm', 'volumeMm3', 'maxDiameterMm'] as const;
export type MeasureKey = (typeof MEASURE_KEYS)[number];
export const MeasureKeySchema = z.enum(MEASURE_KEYS);
/** Name and unit of each measure as shown (its error has the same unit). */
export const MEASURES: Readonly<Record<MeasureKey, { name: string; unit: 'mm' | 'mm²' | 'mm³' }>> = {
  areaMm2: { name: 'area', unit: 'mm²' },
  perimeterMm: { name: 'perimeter', unit: 'mm' },
  majorAxisMm: { name: 'major axis', unit: 'mm' },
  minorAxisMm: { name: 'minor axis', unit: 'mm' },
  circumferenceMm: { name: 'circumference (ellipse)', unit: 'mm' },
  volumeMm3: { name: 'volume', unit: 'mm³' },
  maxDiameterMm: { name: 'max diameter', unit: 'mm' },
};
const Measures = z.object(Object.fromEntries(MEASURE_KEYS.map((k) => [k, z.number().optional()])) as Record<MeasureKey, z.ZodOptional<z.ZodNumber>>);
const CaseMeasurements = z.object({
  dims: z.union([z.literal(2), z.literal(3)]),
  classes: z.array(z.object({ label: z.number().int(), pred: Measures.nullable(), ref: Measures.nullable() })),
});
export const MeasurementSummaryRow = z.object({
  label: z.number().int(),
  key: MeasureKeySchema,
  n: z.number().int(),
  oneEmpty: z.number().int(),
  meanAbsError: Num,
  meanError: Num,
  meanAbsRelError: Num,
  refMean: Num,
  predMean: Num,
});

export const EvaluationModel = z.object({
  id: Id,
  version: z.number().int(),
  status: z.enum(MODEL_STATUSES),
  architecture: z.string(),
  createdAt: z.string(),
  /** Stored predictions of this model (all splits) and on the test split. */
  predictions: z.number().int().nonnegative(),
  testPredictions: z.number().int().nonnegative(),
  hasWeights: z.boolean(),
  /** Validation Dice stored by the trainer (optimistic: it chose the epoch). */
  valMeanDice: Num,
});
export type EvaluationModel = z.infer<typeof EvaluationModel>;

export const EvaluationModelsOutput = z.object({
  models: z.array(EvaluationModel),
  promotedId: Id.nullable(),
  /** What rollback would promote again, if anything. */
  rollbackTargetId: Id.nullable(),
});

export const EvaluationQuery = z
  .object({
    modelId: Id,
    compareModelId: Id.nullable().optional(),
    split: EvaluationSplit.default('test'),
  })
  .strict();

const ClassCell = z.object({
  label: z.number().int(),
  dice: z.number(),
  iou: z.number(),
  hd95: Num,
  assd: Num,
  refVolumeMm3: z.number(),
  predVolumeMm3: z.number(),
  empty: z.enum(EMPTY_CASES),
});

export const EvaluationCaseRow = z.object({
  imageId: Id,
  image: z.string(),
  patient: z.string(),
  site: z.string(),
  /** The reference label's source ('external' for files from outside the project). */
  referenceSource: z.enum([...LABEL_SOURCES, 'external']),
  referenceFromModel: z.boolean(),
  patientInTraining: z.boolean(),
  classes: z.array(ClassCell),
  meanDice: Num,
  meanHd95: Num,
  measurements: CaseMeasurements,
});
export type EvaluationCaseRow = z.infer<typeof EvaluationCaseRow>;

const SummaryRow = z.object({
  /** A class label, or null for the foreground mean. */
  label: z.number().int().nullable(),
  n: z.number().int(),
  diceMean: Num,
  diceStd: Num,
  diceMedian: Num,
  hd95Mean: Num,
  hd95N: z.number().int(),
  emptyBoth: z.number().int(),
  emptyPred: z.number().int(),
  emptyRef: z.number().int(),
});

export const ModelEvaluationView = z.object({
  model: z.object({ id: Id, version: z.number().int(), status: z.enum(MODEL_STATUSES), architecture: z.string() }),
  cases: z.array(EvaluationCaseRow),
  skipped: z.array(z.object({ imageId: Id, image: z.string(), reason: z.string() })),
  overall: z.array(SummaryRow),
  bySite: z.array(z.object({ site: z.string(), cases: z.number().int(), rows: z.array(SummaryRow) })),
  bySize: z.array(
    z.object({
      label: z.number().int(),
      stratum: z.enum(['small', 'medium', 'large', 'absent']),
      rangeMm3: z.tuple([z.number().nullable(), z.number().nullable()]).nullable(),
      cases: z.number().int(),
      diceMean: Num,
      hd95Mean: Num,
    }),
  ),
  patients: z.array(z.object({ patient: z.string(), sites: z.array(z.string()), cases: z.number().int(), meanDice: Num, meanHd95: Num })),
  worst: z.array(z.object({ imageId: Id, image: z.string(), patient: z.string(), site: z.string(), meanDice: Num, dice: z.array(z.object({ label: z.number().int(), dice: z.number() })) })),
  /** Error of the prediction's measurements against the reference's (mm, mm², mm³), per class and measure. */
  measurements: z.array(MeasurementSummaryRow),
});
export type ModelEvaluationView = z.infer<typeof ModelEvaluationView>;

export const PairedRow = z.object({
  metric: z.enum(['dice', 'hd95']),
  label: z.number().int().nullable(),
  n: z.number().int(),
  excluded: z.number().int(),
  meanA: Num,
  meanB: Num,
  meanDiff: Num,
  ci: z.tuple([z.number(), z.number()]).nullable(),
  wins: z.number().int(),
  losses: z.number().int(),
  ties: z.number().int(),
});

export const EvaluationReportView = z.object({
  split: EvaluationSplit,
  imagesConsidered: z.number().int(),
  referenceSources: z.array(z.enum(LABEL_SOURCES)),
  classes: z.array(z.object({ label: z.number().int(), name: z.string(), colour: z.string() })),
  primary: ModelEvaluationView,
  secondary: ModelEvaluationView.nullable(),
  comparison: z.object({ matched: z.number().int(), resamples: z.number().int(), seed: z.number().int(), rows: z.array(PairedRow) }).nullable(),
  conventions: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type EvaluationReportView = z.infer<typeof EvaluationReportView>;

export const LearningCurveView = z.object({
  points: z.array(
    z.object({
      modelId: Id,
      version: z.number().int(),
      status: z.enum(MODEL_STATUSES),
      labelledImages: z.number().int(),
      labelVersions: z.number().int(),
      annotationMinutes: Num,
      minutesComplete: z.boolean(),
      meanDice: Num,
      diceSource: z.enum(['test-predictions', 'stored-validation']).nullable(),
      evaluatedCases: z.number().int(),
      notes: z.array(z.string()),
    }),
  ),
  excluded: z.array(z.object({ modelId: Id, version: z.number().int(), reason: z.string() })),
  sameTestCases: z.boolean(),
  notes: z.array(z.string()),
});
export type LearningCurveView = z.infer<typeof LearningCurveView>;

export const EvaluationExportInput = EvaluationQuery.extend({ format: z.enum(['html', 'csv', 'json']) }).strict();
/** Reports are text; a 10,000-case CSV is a few MB. */
export const EvaluationExportOutput = z.object({ fileName: z.string(), mimeType: z.string(), content: z.string().max(64 * 1024 * 1024) });

export const ModelActionInput = z.object({ modelId: Id, reason: z.string().max(2000).optional() }).strict();
export const RollbackInput = z.object({ reason: z.string().max(2000).optional() }).strict();
export const ModelActionOutput = z.object({ promoted: EvaluationModel, retired: EvaluationModel.nullable() });
