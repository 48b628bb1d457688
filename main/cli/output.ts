// Shared output helpers: human text on stdout, or one JSON document with --json.
import { CommanderError } from 'commander';
import { userMessage } from '../../shared/error-messages';

export interface JsonFlag {
  json?: boolean;
}

export function emit(opts: JsonFlag, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Errors from our code carry a SCREAMING_SNAKE `code`; print it with the message, never a stack. */
export function reportCliError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // Help and version exit with code 0; usage errors were already printed by commander.
    return err.exitCode;
  }
  const e = err as { code?: unknown; message?: unknown; details?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'INTERNAL_ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message, details: e?.details ?? null } }, null, 2)}\n`);
  // The second line is the shared sentence a person can act on (shared/error-messages.ts, also shown by the app).
  else process.stderr.write(`segloop: ${code}: ${message}\n  what to do: ${userMessage(code)}\n`);
  if (process.env.SEGLOOP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 1;
}
