// The trainer's patient-grouped validation split is project/splits.ts (the one split of the code
// base). This re-export only keeps committed trainer.ts building while H6 edits it; the working copy
// of trainer.ts already imports '../project/splits', after which this file can go.
export { assertNoPatientLeakage, splitByPatient, type SplitItem, type TrainValSplit as SplitResult } from '../project/splits';
