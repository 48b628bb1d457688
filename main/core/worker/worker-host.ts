// The parent side: starts a worker child process, validates every message it sends, forwards
// cancel, and turns a crash (non-zero exit, signal, no `done`) into a WORKER_CRASHED error that
// says what happened. The process is started through a WorkerLauncher: Node's child_process.fork
// (CLI, server, tests) here; an Electron utilityProcess launcher in main/electron implements the
// same interface.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegloopError, type ErrorData } from '../../../shared/errors';
import { ChildMessage, type ParentMessage, type TaskEvent } from './protocol';

export interface WorkerProcess {
  readonly pid: number | undefined;
  send(msg: ParentMessage): void;
  kill(signal?: NodeJS.Signals): void;
  onMessage(listener: (raw: unknown) => void): void;
  /** Called once when the process has ended. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  onStderr(listener: (chunk: string) => void): void;
}

/**
 * Starts the worker entry script. The Electron variant (in main/electron, which may import
 * electron) wraps `utilityProcess.fork(runTs, [entry], { stdio: 'pipe' })`: send -> postMessage,
 * onMessage -> on('message'), onExit -> once('exit', (code) => l(code, null)); the child side
 * already speaks to `process.parentPort` (worker-main.ts).
 */
export type WorkerLauncher = (entry: string) => WorkerProcess;

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '../../..');
/** The production entry: registers the train and predict tasks. */
export const DEFAULT_WORKER_ENTRY = path.join(here, 'worker-entry.ts');

let defaultLauncher: WorkerLauncher = (entry) => forkLauncher(entry);

/**
 * The launcher used when a caller names none. The Electron shell installs its utilityProcess
 * launcher here (main/electron/utility-launcher.ts): a packaged app has no tsx and, with the
 * RunAsNode fuse off, cannot child_process.fork itself.
 */
export function setDefaultWorkerLauncher(launcher: WorkerLauncher): void {
  defaultLauncher = launcher;
}

/** Node child_process.fork of bin/run-ts.mjs (tsx) with the entry script. */
export const forkLauncher: WorkerLauncher = (entry) => {
  const child = fork(path.join(REPO_ROOT, 'bin', 'run-ts.mjs'), [entry], {
    // The child's stdout is treated like stderr: a CLI's stdout must stay pure (--json).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env },
    serialization: 'json',
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    onMessage: (l) => child.on('message', l),
    onExit: (l) => child.once('exit', l),
    onStderr: (l) => {
      child.stdout?.on('data', (b: Buffer) => l(b.toString('utf8')));
      child.stderr?.on('data', (b: Buffer) => l(b.toString('utf8')));
    },
  };
};

export interface RunWorkerOptions {
  entry?: string;
  launcher?: WorkerLauncher;
  signal?: AbortSignal;
  onEvent?: (event: TaskEvent) => void;
  /** Called with the child's pid once it is ready (to record ownership, or to kill it in tests). */
  onReady?: (pid: number) => void;
  /** After cancel, how long the task may take to stop before the process is killed. */
  cancelGraceMs?: number;
  /** Forward the child's stderr here (default: keep only the tail for error messages). */
  onStderr?: (chunk: string) => void;
}

/** Runs one task in a fresh child process and resolves with its result. */
export function runWorkerTask(task: string, params: unknown, opts: RunWorkerOptions = {}): Promise<unknown> {
  const launcher = opts.launcher ?? defaultLauncher;
  const proc = launcher(opts.entry ?? DEFAULT_WORKER_ENTRY);
  let stderrTail = '';
  let outcome: { ok: true; result: unknown } | { ok: false; error: ErrorData } | null = null;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | null = null;

  return new Promise((resolve, reject) => {
    proc.onStderr((chunk) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      opts.onStderr?.(chunk);
    });
    const onAbort = (): void => {
      cancelled = true;
      proc.send({ type: 'cancel' });
      killTimer = setTimeout(() => proc.kill('SIGKILL'), opts.cancelGraceMs ?? 30_000);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    proc.onMessage((raw) => {
      const parsed = ChildMessage.safeParse(raw);
      if (!parsed.success) {
        outcome ??= { ok: false, error: { code: 'INTERNAL_ERROR', message: `The worker sent a malformed message: ${parsed.error.issues[0]?.message ?? ''}` } };
        proc.kill('SIGKILL');
        return;
      }
      const msg = parsed.data;
      switch (msg.type) {
        case 'ready':
          opts.onReady?.(msg.pid);
          proc.send({ type: 'start', task, params });
          if (cancelled) proc.send({ type: 'cancel' });
          break;
        case 'done':
          outcome ??= { ok: true, result: msg.result };
          break;
        case 'error':
          outcome ??= { ok: false, error: msg.error };
          break;
        default:
          opts.onEvent?.(msg);
      }
    });
    proc.onExit((code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (outcome?.ok) return resolve(outcome.result);
      if (outcome && !outcome.ok) return reject(new SegloopError(outcome.error.code, outcome.error.message, outcome.error.details));
      if (cancelled) return reject(new SegloopError('JOB_CANCELLED', `The ${task} task was cancelled (worker stopped${signal ? ` by ${signal}` : ''}).`));
      const how = signal ? `was killed by signal ${signal}` : `exited with code ${String(code)}`;
      const tail = stderrTail.trim().split('\n').slice(-5).join('\n');
      reject(
        new SegloopError(
          'WORKER_CRASHED',
          `The ${task} worker process (pid ${proc.pid ?? '?'}) ${how} before finishing${signal === 'SIGKILL' ? ' (killed, or out of memory)' : ''}.` +
            (tail ? ` Last output: ${tail}` : ''),
          { task, exitCode: code, signal, pid: proc.pid ?? null },
        ),
      );
    });
  });
}
