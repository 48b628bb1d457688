// Plain-data views of the registries (for the CLI, the app handlers and the renderer).
import { listScoringFunctions, type ParamSpec } from './scoring';
import { listStrategies } from './strategies';

export interface RegistryEntryInfo {
  name: string;
  description: string;
  params: ParamSpec[];
}

export function listStrategiesInfo(): RegistryEntryInfo[] {
  return listStrategies().map((s) => ({ name: s.name, description: s.description, params: [...s.params, { name: 'diversity', type: 'number', default: null, description: 'F > 1: rank F x count candidates, then k-center greedy on encoder features picks count of them' }] }));
}

export function listScoringFunctionsInfo(): RegistryEntryInfo[] {
  return listScoringFunctions().map((f) => ({ name: f.name, description: f.description, params: [...f.params] }));
}
