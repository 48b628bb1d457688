// Wire schemas of dataset diagnostics (main/core/diagnostics DiagnosticsReport) and of the
// patient split (main/core/project/splits SplitStatus), for the 'diagnostics:*' and 'splits:*'
// operations of the contract. Numbers that may be non-finite in the core report (ratios with a
// zero denominator, summaries of empty sets) are null on the wire: JSON has no Infinity or NaN.
import { z } from 'zod';

/** A measured value; null when the core computed Infinity or NaN. */
const Num = z.number().nullable();
const Count = z.number().int().nonnegative();
const CountPair = z.object({ patients: Count, images: Count });
const GroupCount = CountPair.extend({ name: z.string(), labelledPatients: Count, labelledImages: Count });

export const DiagnosticsFinding = z.object({ severity: z.enum(['warning', 'info']), code: z.string(), message: z.string() });
export type DiagnosticsFinding = z.infer<typeof DiagnosticsFinding>;

const RobustSummary = z.object({ n: Count, min: Num, median: Num, max: Num, q1: Num, q3: Num, iqr: Num });
const AxisTable = z.object({
  axes: z.array(RobustSummary),
  values: z.array(z.object({ value: z.string(), images: Count })),
  outliers: z.array(z.object({ name: z.string(), value: z.array(Num), axes: z.array(z.number().int()) })),
});

const IntensityGroup = z.object({
  name: z.string(),
  images: Count,
  p0_5: Num,
  p50: Num,
  p99_5: Num,
  minOfMin: Num,
  maxOfMax: Num,
  medianMax: Num,
  histogram: z.array(Num),
});
const ShiftPair = z.object({ a: z.string(), b: z.string(), jensenShannon: Num, wasserstein1: Num, scaleRatio: Num });

export const DiagnosticsReportSchema = z.object({
  source: z.union([
    z.object({ kind: z.literal('project'), dir: z.string(), name: z.string() }),
    z.object({ kind: z.literal('folder'), imagesDir: z.string(), labelsDir: z.string().nullable() }),
  ]),
  options: z.object({ bins: Count, outlierK: Num, anisotropyMax: Num, tinyComponentVoxels: Num, rangeSpreadRatio: Num, skipVoxels: z.boolean() }),
  findings: z.array(DiagnosticsFinding),
  composition: z
    .object({
      total: CountPair,
      byLabelState: z.object({ labelled: CountPair, pseudo: CountPair, unlabelled: CountPair }),
      bySource: z.record(z.string(), CountPair),
      bySite: z.array(GroupCount),
      bySplit: z.array(GroupCount),
    })
    .nullable(),
  dtypes: z.object({ images: z.record(z.string(), Count), labels: z.record(z.string(), Count) }),
  geometry: z.object({
    spacing: AxisTable,
    shape: AxisTable,
    orientation: z.object({
      counts: z.array(z.object({ axcodes: z.string(), images: Count })),
      majority: z.string(),
      outliers: z.array(z.object({ name: z.string(), axcodes: z.string() })),
    }),
    anisotropic: z.array(z.object({ name: z.string(), spacing: z.array(Num), ratio: Num })),
  }),
  intensity: z
    .object({
      bins: Count,
      perImage: z.array(z.object({ name: z.string(), dtype: z.string(), min: Num, max: Num, p0_5: Num, p50: Num, p99_5: Num, nonIntegerFraction: Num })),
      grouped: z.array(z.object({ by: z.enum(['site', 'dtype']), groups: z.array(IntensityGroup), shift: z.array(ShiftPair) })),
      rangeSpread: z.object({
        medianMax: Num,
        maxOfMax: Num,
        minOfMax: Num,
        ratio: Num,
        threshold: Num,
        flagged: z.array(z.object({ name: z.string(), dtype: z.string(), max: Num, ratio: Num })),
      }),
    })
    .nullable(),
  labels: z
    .object({
      checked: Count,
      schema: z.array(z.number().int()),
      fileDtypes: z.record(z.string(), Count),
      nonIntegerFiles: z.array(z.object({ name: z.string(), dtype: z.string(), nonIntegerVoxels: Count, values: z.array(Num) })),
      floatFiles: z.array(z.object({ name: z.string(), dtype: z.string(), values: z.array(Num) })),
      negativeValues: z.array(z.object({ name: z.string(), voxels: Count })),
      outOfSchema: z.array(z.object({ name: z.string(), values: z.array(z.object({ value: Num, voxels: Count })) })),
      empty: z.array(z.string()),
      geometryMismatch: z.array(z.object({ name: z.string(), reason: z.string() })),
      tinyComponents: z.object({
        threshold: Num,
        images: Count,
        perClass: z.array(z.object({ index: z.number().int(), images: Count, components: Count, voxels: Count })),
        worst: z.array(z.object({ name: z.string(), index: z.number().int(), tinyComponents: Count, components: Count })),
      }),
      classFrequency: z.array(z.object({ index: z.number().int(), name: z.string().nullable(), voxels: Count, images: Count, fraction: Num })),
    })
    .nullable(),
  unreadable: z.array(z.object({ name: z.string(), reason: z.string() })),
});
export type DiagnosticsReportWire = z.infer<typeof DiagnosticsReportSchema>;

const StateCounts = z.object({ labelled: CountPair, pseudo: CountPair, unlabelled: CountPair });
/**
 * Composition of one split or site by label state, for stacked bars. A patient counts once per
 * group, in its best state there (labelled > pseudo > unlabelled), so the patient stack sums to
 * the group's patients; images sum to the group's images.
 */
export const CompositionGroup = z.object({ by: z.enum(['split', 'site']), name: z.string(), counts: StateCounts });
export type CompositionGroup = z.infer<typeof CompositionGroup>;

export const DiagnosticsResult = z.object({
  report: DiagnosticsReportSchema,
  groups: z.array(CompositionGroup),
  /** Image and label names used in the report -> image id, so a listed case can be opened. */
  imageIds: z.record(z.string(), z.string()),
  finishedAt: z.string(),
});
export type DiagnosticsResult = z.infer<typeof DiagnosticsResult>;

export const SPLIT_NAMES = ['pool', 'train', 'val', 'test', 'none'] as const;
const SplitCounts = z.object({ patients: Count, images: Count, labelledImages: Count });
const PerSplit = <T extends z.ZodTypeAny>(t: T) => z.object({ pool: t, train: t, val: t, test: t, none: t });

export const SplitStatusSchema = z.object({
  frozen: z.boolean(),
  created: z.object({ at: z.string(), actor: z.string(), action: z.string(), details: z.record(z.string(), z.unknown()).nullable() }).nullable(),
  counts: PerSplit(SplitCounts),
  bySite: z.array(z.object({ site: z.string(), patients: PerSplit(Count) })),
  unassignedImages: Count,
  leakage: z.array(z.object({ patient: z.string(), patientId: z.string(), splits: z.array(z.string()), imageIds: z.record(z.string(), z.array(z.string())) })),
});
export type SplitStatusWire = z.infer<typeof SplitStatusSchema>;

export const CreateSplitInput = z
  .object({
    test: z.number().min(0).lt(1),
    val: z.number().min(0).lt(1),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    stratifyBy: z.enum(['site']).nullable().default(null),
  })
  .strict()
  .refine((v) => v.test + v.val < 1, { message: 'test + val must leave patients to train on' });

export const CreateSplitOutput = z.object({
  imagesChanged: Count,
  eligibility: z.enum(['labelled', 'all']),
  eligiblePatients: Count,
  status: SplitStatusSchema,
});
