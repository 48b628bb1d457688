// The command registry: add one import and one entry per command.
import type { Command } from 'commander';
import { registerDiagnose } from './diagnose';
import { registerDoctor } from './doctor';
import { registerMetrics } from './metrics';
import { registerProjectCommands } from './project';
import { registerRead } from './read';
import { registerServe } from './serve';
import { registerSplit } from './split';
import { registerTrain } from './train';
import { registerPredict } from './predict';
import { registerEvaluate } from './evaluate';
import { registerPrune } from './prune';
import { registerLabels } from './labels';
import { registerSimulate } from './simulate';
import { registerSelect } from './select';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerProjectCommands,
  registerRead,
  registerDoctor,
  registerMetrics,
  registerServe,
  registerTrain,
  registerPredict,
  registerEvaluate,
  registerDiagnose,
  registerSplit,
  registerPrune,
  registerLabels,
  registerSimulate,
  registerSelect,
];
