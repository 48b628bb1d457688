// The trainer's configuration as ONE typed schema, shared by the CLI (`segloop train --config`),
// the app (`training:start`), the train job and the worker. Every object is strict: a typo such
// as `augmentation.elasticProbablity` is an error that names the key and the allowed ones,
// never a setting silently ignored (the run would train with the default and nobody would know).
//
// Two shapes:
// - `TrainingConfig`: the complete, resolved configuration a run is trained with and recorded
//   under (data-derived numbers included). The worker parses it on arrival.
// - `TrainingConfigOverrides`: what a user may give — every key optional at every level, still
//   strict. Layers (built-in defaults <- dataset plan <- user) are merged by
//   `resolveTrainingConfig`, then checked against `TrainingConfig`.
// shared/ runs in the renderer too: no Node built-ins, nothing of main/ (lint-enforced).
import { z } from 'zod';
import { SegloopError } from './errors';

const pos = (): z.ZodNumber => z.number().positive();
const posInt = (): z.ZodNumber => z.number().int().positive();
const prob = (): z.ZodNumber => z.number().min(0).max(1);
const range = (): z.ZodTuple<[z.ZodNumber, z.ZodNumber]> => z.tuple([z.number(), z.number()]);

/** U-Net options; the architecture's registry entry fills the rest and fixes what it implies (dims of unet2d/unet3d). */
export const ModelOptionsSchema = z.strictObject({
  dims: z.union([z.literal(2), z.literal(3)]).optional(),
  depth: z.number().int().min(2).max(7).optional(),
  baseWidth: posInt().optional(),
  maxWidth: posInt().optional(),
  norm: z.enum(['instance', 'batch', 'none']).optional(),
  /** Dropout after each block (0 disables; > 0 also enables MC-dropout scoring). */
  dropout: z.number().min(0).lt(1).optional(),
  residual: z.boolean().optional(),
  attention: z.boolean().optional(),
  upsample: z.enum(['transpose', 'nearest']).optional(),
  downsample: z.enum(['maxpool', 'strided']).optional(),
  leakySlope: z.number().min(0).optional(),
});

export const NormalisationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('zscore'), clipPercentiles: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]).optional(), region: z.enum(['whole', 'nonzero']) }),
  z.strictObject({ kind: z.literal('ct'), lower: z.number(), upper: z.number(), mean: z.number(), std: pos() }),
]);

/** Mirrors AugmentationConfig of main/core/ml/data/augment.ts (the trainer asserts the types are equal). */
export const AugmentationSchema = z.strictObject({
  enabled: z.boolean(),
  flipProbability: prob(),
  rot90Probability: prob(),
  rotationProbability: prob(),
  maxRotationDeg: z.number().min(0).max(180),
  scaleProbability: prob(),
  scaleRange: range(),
  elasticProbability: prob(),
  elasticSigma: z.number().min(0),
  elasticGridSpacing: posInt(),
  intensityScaleProbability: prob(),
  intensityScaleRange: range(),
  intensityShiftProbability: prob(),
  intensityShiftStd: z.number().min(0),
  gammaProbability: prob(),
  gammaRange: range(),
  /** Only rotate about Z (2D models always are). */
  inPlaneOnly: z.boolean(),
});

export const LossSchema = z.strictObject({
  ceWeight: z.number().min(0),
  diceWeight: z.number().min(0),
  /** Dice over the whole batch instead of per sample (nnU-Net's 2D choice). */
  batchDice: z.boolean(),
  /** Partially labelled images: adaptive loss 'merge' | 'exclude', or 'none' = treat every label as complete. */
  partial: z.enum(['merge', 'exclude', 'none']),
  /** Label dropout probability with the adaptive loss. */
  labelDropout: prob(),
});

export const ScheduleSchema = z.strictObject({
  optimizer: z.literal('adam'),
  /** Peak learning rate. */
  lr: pos(),
  /** Final LR as a fraction of lr at the end of the cosine. */
  minLrFraction: prob(),
  /** Fraction of the run spent in linear warm-up. */
  warmupFraction: z.number().min(0).max(0.5),
  stepsPerEpoch: posInt(),
  /** Stop after this many epochs without a better validation Dice (null = never). */
  earlyStoppingPatience: posInt().nullable(),
});

/** When the run ends: after `epochs`, or when `minutes` of training loop are used, whichever first. */
export const BudgetSchema = z.strictObject({
  epochs: posInt().nullable(),
  minutes: pos().nullable(),
});

export const ValidationSchema = z.strictObject({
  /** Fraction of patients held out (grouped by patient). */
  fraction: z.number().min(0).max(0.9),
  /** At most this many validation images are scored per epoch (speed). */
  maxCases: posInt(),
});

export const SamplingSchema = z.strictObject({
  /** Volume order: [PX, PY] for 2D, [PX, PY, PZ] for 3D. */
  patchSize: z.array(posInt()).min(2).max(3),
  batchSize: posInt(),
  /** Fraction of patches centred on a foreground voxel. */
  foregroundFraction: prob(),
});

export const CheckpointSchema = z.strictObject({
  everyMinutes: pos(),
  /** Record per-image Dice of the trained patches every epoch (DAD, runDir/dad.json). */
  recordDad: z.boolean(),
});

export const BACKEND_PREFERENCES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export const TrainingConfig = z.strictObject({
  /** A registered model name (unet2d, unet3d, resunet, attention-unet, ...). */
  architecture: z.string().min(1),
  model: ModelOptionsSchema,
  numClasses: z.number().int().min(2),
  targetSpacing: z.tuple([pos(), pos(), pos()]),
  normalisation: NormalisationSchema,
  augmentation: AugmentationSchema,
  sampling: SamplingSchema,
  loss: LossSchema,
  schedule: ScheduleSchema,
  budget: BudgetSchema,
  validation: ValidationSchema,
  checkpoint: CheckpointSchema,
  /** Seeds the split, the weight initialisation, sampling and augmentation. */
  seed: z.number().int(),
  backend: z.enum(BACKEND_PREFERENCES),
});
export type TrainingConfig = z.infer<typeof TrainingConfig>;

/** Makes every key of every strict object optional, keeping the objects strict. */
function deepPartial(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    return z.strictObject(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, deepPartial(v).optional()])));
  }
  if (schema instanceof z.ZodOptional) return deepPartial(schema.unwrap() as z.ZodType);
  return schema;
}

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type TrainingConfigOverrides = DeepPartial<TrainingConfig>;
export const TrainingConfigOverrides = deepPartial(TrainingConfig) as z.ZodType<TrainingConfigOverrides>;

/** Everything that does not depend on the data (numClasses, patch, spacing, normalisation come from the plan). */
export const DEFAULT_TRAINING_CONFIG = {
  architecture: 'unet2d',
  model: {},
  augmentation: {
    enabled: true,
    flipProbability: 0.5,
    rot90Probability: 0,
    rotationProbability: 0.2,
    maxRotationDeg: 15,
    scaleProbability: 0.2,
    scaleRange: [0.85, 1.25],
    elasticProbability: 0.1,
    elasticSigma: 2,
    elasticGridSpacing: 8,
    intensityScaleProbability: 0.15,
    intensityScaleRange: [0.75, 1.25],
    intensityShiftProbability: 0.15,
    intensityShiftStd: 0.1,
    gammaProbability: 0.3,
    gammaRange: [0.7, 1.5],
    inPlaneOnly: false,
  },
  normalisation: { kind: 'zscore', clipPercentiles: [0.5, 99.5], region: 'whole' },
  sampling: { batchSize: 2, foregroundFraction: 0.33 },
  loss: { ceWeight: 1, diceWeight: 1, batchDice: false, partial: 'merge', labelDropout: 0 },
  schedule: { optimizer: 'adam', lr: 1e-3, minLrFraction: 0.01, warmupFraction: 0.03, stepsPerEpoch: 50, earlyStoppingPatience: null },
  budget: { epochs: null, minutes: null },
  validation: { fraction: 0.15, maxCases: 20 },
  checkpoint: { everyMinutes: 5, recordDad: true },
  seed: 1234,
  backend: 'auto',
} satisfies TrainingConfigOverrides;

/** The object schema at `path` inside `schema` (through optional/nullable/default wrappers and unions), if any. */
function objectAt(schema: z.ZodType, path: readonly PropertyKey[], value: unknown): z.ZodObject | null {
  let s: z.ZodType = schema;
  let v: unknown = value;
  for (let i = 0; ; i++) {
    for (;;) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
      else if (s instanceof z.ZodDiscriminatedUnion) {
        // The branch this value chose (by its discriminator), else the first.
        const opts = s.options as z.ZodType[];
        const disc = (s as unknown as { _zod: { def: { discriminator: string } } })._zod.def.discriminator;
        const want = v && typeof v === 'object' ? (v as Record<string, unknown>)[disc] : undefined;
        s = opts.find((o) => o instanceof z.ZodObject && (o.shape as Record<string, z.ZodType>)[disc]?.safeParse(want).success) ?? opts[0];
      } else break;
    }
    if (i === path.length) return s instanceof z.ZodObject ? s : null;
    if (!(s instanceof z.ZodObject)) return null;
    const key = String(path[i]);
    const next = (s.shape as Record<string, z.ZodType | undefined>)[key];
    if (!next) return null;
    s = next;
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  }
}

const joinPath = (path: readonly PropertyKey[], key?: string): string => [...path.map(String), ...(key ? [key] : [])].join('.') || '(top level)';

/** One readable sentence per problem: the full key path, and for an unknown key the allowed ones. */
export function describeConfigIssues(schema: z.ZodType, value: unknown, issues: readonly z.core.$ZodIssue[]): { message: string; key: string; allowed?: string[] }[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(objectAt(schema, issue.path, value)?.shape ?? {});
      const keys = issue.keys.map((k) => joinPath(issue.path, k));
      return {
        key: keys[0],
        allowed,
        message: `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}; allowed${issue.path.length ? ` in "${joinPath(issue.path)}"` : ''}: ${allowed.join(', ')}`,
      };
    }
    return { key: joinPath(issue.path), message: `"${joinPath(issue.path)}": ${issue.message}` };
  });
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = describeConfigIssues(schema, raw, r.error.issues);
  throw new SegloopError('INVALID_ARGUMENT', `Invalid ${what}: ${problems.map((p) => p.message).join('; ')}.`, { problems });
}

/** A complete configuration (worker, stored runs). Throws INVALID_ARGUMENT naming the bad key. */
export function parseTrainingConfig(raw: unknown): TrainingConfig {
  return parseWith(TrainingConfig, raw, 'training configuration');
}

/** User-given settings (`--config`, `training:start`). Throws INVALID_ARGUMENT naming the bad key and the allowed ones. */
export function parseTrainingConfigOverrides(raw: unknown): TrainingConfigOverrides {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SegloopError('INVALID_ARGUMENT', 'The training configuration must be a JSON object, e.g. {"loss":{"batchDice":true}}.');
  }
  return parseWith(TrainingConfigOverrides, raw, 'training configuration');
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge, later layers win; arrays, tuples and the normalisation union are replaced whole. */
export function mergeTrainingConfig(...layers: readonly (TrainingConfigOverrides | undefined)[]): TrainingConfigOverrides {
  const merge = (a: unknown, b: unknown, key: string): unknown => {
    if (b === undefined) return a;
    if (key !== 'normalisation' && isPlainObject(a) && isPlainObject(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v, k);
      return out;
    }
    return b;
  };
  return layers.reduce<unknown>((acc, l) => merge(acc, l, ''), {}) as TrainingConfigOverrides;
}

/** Built-in defaults <- each layer in turn, checked as a complete configuration. */
export function resolveTrainingConfig(...layers: readonly (TrainingConfigOverrides | undefined)[]): TrainingConfig {
  return parseTrainingConfig(mergeTrainingConfig(DEFAULT_TRAINING_CONFIG, ...layers));
}
