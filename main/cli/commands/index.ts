// The command registry: add one import and one entry per command.
import type { Command } from 'commander';
import { registerMetrics } from './metrics';
import { registerServe } from './serve';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerMetrics,
  registerServe,
];
