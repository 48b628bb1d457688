// Public API of dataset diagnostics and label QA.
export { runDiagnostics, diagnoseFolder, type RunDiagnosticsOptions, type DiagnoseFolderOptions, type DiagnosticsProgress } from './diagnostics';
export { formatDiagnostics } from './format';
export { decodePaletteMask, parseColour, type PaletteEntry, type RgbVolume, type PaletteDecodeResult } from '../imaging/palette';
export { componentSizes } from './components';
export { intensityStats, jensenShannon, wasserstein1, meanHistogram, type IntensityStats } from './histogram';
export { labelQa, geometryMismatch, type LabelQa, type ClassQa, type LabelQaOptions } from './label-qa';
export type {
  DiagnosticsOptions,
  DiagnosticsReport,
  Finding,
  Composition,
  GeometrySection,
  IntensitySection,
  LabelSection,
  ClassFrequency,
  ShiftPair,
} from './report';
