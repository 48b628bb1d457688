// Public API of the evaluation module (conventions documented in metrics.ts, aggregate.ts, compare.ts).
export {
  segmentationMetrics,
  foregroundMean,
  directedSurfaceDistances,
  surface,
  type LabelMap,
  type ClassMetrics,
  type EmptyCase,
  type ForegroundMean,
  type SegmentationMetrics,
  type SegmentationMetricsOptions,
  type DirectedDistances,
} from './metrics';
export { volumeMetrics, assertSameLabelGeometry, type LabelPairNames } from './volume-metrics';
export {
  summarizeEvaluation,
  summarizeClass,
  metricOf,
  METRIC_KEYS,
  HIGHER_IS_BETTER,
  type MetricKey,
  type ClassKey,
  type CaseRecord,
  type ClassSummary,
  type PatientRow,
  type SiteStratum,
  type SizeStratum,
  type SizeStrata,
  type WorstCase,
  type EvaluationSummary,
  type SummarizeOptions,
} from './aggregate';
export { comparePaired, bootstrapMeanCi, type PairedComparison, type PairedClassComparison, type PairedComparisonOptions } from './compare';
export { edt, squaredEdt } from './edt';
export { summarize, percentile, type Summary } from '../base/stats';
export { mulberry32 } from '../base/rng';
