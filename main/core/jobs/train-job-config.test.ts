import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTrainingConfigOverrides } from '../../../shared/training-config';
import { TrainerConfig } from '../ml/trainer';
import { trainerInputFromOverrides } from './train-job';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('shared training settings -> trainer input', () => {
  it('maps every section to the trainer field it sets, and only the given keys', () => {
    const o = parseTrainingConfigOverrides({
      sampling: { patchSize: [48, 64], batchSize: 8 },
      loss: { batchDice: true, partial: 'exclude', labelDropout: 0.3 },
      schedule: { lr: 0.002, stepsPerEpoch: 10 },
      validation: { fraction: 0.2 },
      augmentation: { elasticProbability: 0 },
      checkpoint: { recordDad: false },
    });
    expect(trainerInputFromOverrides(o)).toEqual({
      patchSize: [48, 64], batchSize: 8, loss: { batchDice: true }, partialLoss: 'exclude', labelDropout: 0.3,
      lr: 0.002, stepsPerEpoch: 10, valFraction: 0.2, augmentation: { elasticProbability: 0 }, recordDad: false,
    });
  });

  it('the worker-side trainer schema is strict too: a misspelt augmentation or model key is refused', () => {
    const base = { numClasses: 3, patchSize: [48, 64], targetSpacing: [1, 1, 1] };
    expect(TrainerConfig.safeParse({ ...base, augmentation: { elasticProbability: 0 } }).success).toBe(true);
    const bad = TrainerConfig.safeParse({ ...base, augmentation: { elasticProbablity: 0 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['elasticProbablity'], path: ['augmentation'] });
    expect(TrainerConfig.safeParse({ ...base, model: { basewidth: 8 } }).success).toBe(false);
  });

  it('segloop train --config with a typo fails naming the key and the allowed ones', () => {
    let out = '';
    try {
      execFileSync(process.execPath, [path.join(root, 'bin/segloop.mjs'), 'train', '/nonexistent-project', '--config', '{"augmentation":{"elasticProbablity":0}}'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      out = String((e as { stderr?: string }).stderr);
    }
    expect(out).toContain('INVALID_ARGUMENT');
    expect(out).toContain('"augmentation.elasticProbablity"');
    expect(out).toContain('elasticProbability');
  }, 60_000);
});
