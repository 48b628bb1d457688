import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRAINING_CONFIG,
  mergeTrainingConfig,
  parseTrainingConfig,
  parseTrainingConfigOverrides,
  resolveTrainingConfig,
  TrainingConfig,
} from './training-config';

const DATA = { numClasses: 3, targetSpacing: [1, 1, 1] as [number, number, number], sampling: { patchSize: [48, 64] } };

function errorOf(f: () => unknown): { code: string; message: string; details: { problems: { key: string; allowed?: string[] }[] } } {
  try {
    f();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected an error');
}

describe('training configuration schema', () => {
  it('names a misspelt nested key and lists the allowed ones', () => {
    const e = errorOf(() => parseTrainingConfigOverrides({ augmentation: { elasticProbablity: 0 } }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('"augmentation.elasticProbablity"');
    expect(e.message).toContain('elasticProbability');
    expect(e.details.problems[0].key).toBe('augmentation.elasticProbablity');
    expect(e.details.problems[0].allowed).toEqual(Object.keys(DEFAULT_TRAINING_CONFIG.augmentation));
  });

  it('rejects unknown top-level keys and keys of the chosen normalisation branch', () => {
    const e = errorOf(() => parseTrainingConfigOverrides({ learningRate: 1, normalisation: { kind: 'ct', lower: 0, upper: 1, mean: 0, std: 1, window: 2 } }));
    const keys = e.details.problems.map((p) => p.key).sort();
    expect(keys).toEqual(['learningRate', 'normalisation.window']);
    const top = e.details.problems.find((p) => p.key === 'learningRate');
    expect(top?.allowed).toEqual(Object.keys(TrainingConfig.shape));
    expect(e.details.problems.find((p) => p.key === 'normalisation.window')?.allowed).toEqual(['kind', 'lower', 'upper', 'mean', 'std']);
  });

  it('names the key of a wrong value', () => {
    const e = errorOf(() => parseTrainingConfigOverrides({ loss: { partial: 'sometimes' }, schedule: { lr: -1 } }));
    expect(e.message).toContain('"loss.partial"');
    expect(e.message).toContain('"schedule.lr"');
  });

  it('refuses a non-object', () => {
    expect(errorOf(() => parseTrainingConfigOverrides([1])).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => parseTrainingConfigOverrides(null)).code).toBe('INVALID_ARGUMENT');
  });

  it('resolves defaults <- plan <- user, deep, and the result is a complete valid config', () => {
    const plan = { architecture: 'unet3d', model: { depth: 4, baseWidth: 16 }, sampling: { patchSize: [40, 56, 40], batchSize: 2 } };
    const user = parseTrainingConfigOverrides({ model: { baseWidth: 8 }, augmentation: { elasticProbability: 0 }, schedule: { lr: 3e-3 } });
    const c = resolveTrainingConfig(DATA, plan, user);
    expect(c.model).toEqual({ depth: 4, baseWidth: 8 });
    expect(c.sampling).toEqual({ patchSize: [40, 56, 40], batchSize: 2, foregroundFraction: 0.33 });
    expect(c.augmentation.elasticProbability).toBe(0);
    expect(c.augmentation.flipProbability).toBe(0.5);
    expect(c.schedule.lr).toBe(3e-3);
    expect(c.schedule.warmupFraction).toBe(0.03);
    expect(parseTrainingConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it('replaces the normalisation whole (a CT window does not inherit z-score keys)', () => {
    const m = mergeTrainingConfig(DEFAULT_TRAINING_CONFIG, { normalisation: { kind: 'ct', lower: -100, upper: 200, mean: 40, std: 60 } });
    expect(m.normalisation).toEqual({ kind: 'ct', lower: -100, upper: 200, mean: 40, std: 60 });
  });

  it('a complete config lacking a data-derived key is an error naming it', () => {
    const e = errorOf(() => resolveTrainingConfig({ numClasses: 3, sampling: { patchSize: [48, 64] } }));
    expect(e.message).toContain('"targetSpacing"');
  });
});
