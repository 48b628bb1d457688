// One dispatcher for both transports: validate the input with the operation's schema, run the
// handler, check the output against its schema, and turn any failure into error data.
import {
  FileRequest,
  isOperationName,
  type EventMessage,
  operations,
  zodIssues,
  type OperationName,
  type OpOutput,
  type OpParsedInput,
  type ResultEnvelope,
} from '../../shared/contract';
import { SegloopError, toErrorData } from '../../shared/errors';

export type Handlers = {
  [N in OperationName]: (input: OpParsedInput<N>) => Promise<OpOutput<N>>;
};

/** A voxel file the transports may stream: already checked to be registered and inside the project. */
export interface ResolvedFile {
  absPath: string;
  size: number;
  /** File name for Content-Disposition (e.g. hippocampus_014.nii.gz). */
  name: string;
}

export interface AppApi {
  handlers: Handlers;
  resolveFile(req: FileRequest): Promise<ResolvedFile>;
  /** Subscribe to pushed events (job progress); returns the unsubscribe function. */
  onEvent(listener: (msg: EventMessage) => void): () => void;
}

export async function dispatch(handlers: Handlers, name: unknown, rawInput: unknown): Promise<ResultEnvelope<unknown>> {
  try {
    if (!isOperationName(name)) {
      throw new SegloopError('NOT_FOUND', `Unknown operation "${String(name).slice(0, 80)}".`, { operation: String(name).slice(0, 80) });
    }
    const op = operations[name];
    const parsed = op.input.safeParse(rawInput ?? {});
    if (!parsed.success) {
      throw new SegloopError('VALIDATION_FAILED', `Invalid input for ${name}: ${parsed.error.issues[0]?.message ?? 'bad input'}.`, {
        operation: name,
        issues: zodIssues(parsed.error),
      });
    }
    const handler = handlers[name] as (input: unknown) => Promise<unknown>;
    const value = await handler(parsed.data);
    const out = op.output.safeParse(value);
    if (!out.success) {
      // A bug on our side, not the caller's: say so rather than send a malformed value.
      throw new SegloopError('INTERNAL_ERROR', `The result of ${name} does not match its schema.`, { issues: zodIssues(out.error) });
    }
    return { ok: true, value: out.data };
  } catch (err) {
    return { ok: false, error: toErrorData(err) };
  }
}

export function parseFileRequest(raw: unknown): FileRequest {
  const parsed = FileRequest.safeParse(raw);
  if (!parsed.success) {
    throw new SegloopError('VALIDATION_FAILED', 'Invalid file request: expected { kind: "image" | "label", id }.', {
      issues: zodIssues(parsed.error),
    });
  }
  return parsed.data;
}
