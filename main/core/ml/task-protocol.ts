// The message protocol between the parent (CLI, app, server) and the training/inference child
// process. Both directions are validated with zod on arrival: a malformed message is a bug on
// the other side and is reported, never trusted.
import { z } from 'zod';
import { ERROR_CODES } from '../../../shared/errors';
import { EpochPoint } from '../../../shared/training-schema';

export const TASK_NAMES = ['train', 'predict', 'test'] as const;

export const ParentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), task: z.string().min(1), params: z.unknown() }),
  z.object({ type: z.literal('cancel') }),
]);
export type ParentMessage = z.infer<typeof ParentMessage>;

const ErrorDataSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string(), details: z.unknown().optional() });

// One epoch's numbers are declared once, in the contract the UI charts (shared/training-schema);
// the worker adds its memory readings.
export const EpochMetrics = EpochPoint.omit({ stepSeconds: true }).extend({
  /** tf.memory() after the epoch: must stay flat across epochs. */
  numTensors: z.number().int(),
  numBytes: z.number().int(),
});
export type EpochMetrics = z.infer<typeof EpochMetrics>;

export const ChildMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  /** The tfjs backend the task computes on (sent once it is initialised). */
  z.object({ type: z.literal('backend'), name: z.string(), detail: z.string() }),
  z.object({
    type: z.literal('progress'),
    fraction: z.number().min(0).max(1).nullable(),
    message: z.string(),
    etaSeconds: z.number().nullable(),
  }),
  z.object({ type: z.literal('epoch'), metrics: EpochMetrics }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
  z.object({ type: z.literal('checkpoint'), path: z.string(), epoch: z.number().int() }),
  z.object({ type: z.literal('done'), result: z.unknown() }),
  z.object({ type: z.literal('error'), error: ErrorDataSchema }),
]);
export type ChildMessage = z.infer<typeof ChildMessage>;

/** Messages a task may send while it runs (ready/done/error belong to the runtime). */
export type TaskEvent = Extract<ChildMessage, { type: 'backend' | 'progress' | 'epoch' | 'log' | 'checkpoint' }>;
