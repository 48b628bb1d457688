// The child-process side of the worker: waits for one `start`, runs the named task, streams its
// events and ends with `done` or `error`. `cancel` aborts the task's signal (the task stops at
// its next step and returns). If the parent goes away the child exits: an orphaned trainer
// would hold the CPU and the project's checkpoint files forever.
import { toErrorData, SegloopError } from '../../../shared/errors';
import { ChildMessage, ParentMessage, type TaskEvent } from './protocol';

export interface WorkerTaskContext {
  readonly signal: AbortSignal;
  emit(event: TaskEvent): void;
}

export type WorkerTask = (params: unknown, ctx: WorkerTaskContext) => Promise<unknown>;

/** Electron's utilityProcess gives the child `process.parentPort` instead of process.send. */
interface ParentPort {
  postMessage(msg: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

interface Channel {
  send(msg: unknown): void;
  onMessage(listener: (raw: unknown) => void): void;
  close(): void;
}

function parentChannel(): Channel | null {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (port) {
    return { send: (m) => port.postMessage(m), onMessage: (l) => port.on('message', (e) => l(e.data)), close: () => setTimeout(() => process.exit(0), 10) };
  }
  if (process.send) {
    process.on('disconnect', () => process.exit(3));
    return {
      send: (m) => process.send?.(m),
      onMessage: (l) => process.on('message', l),
      close: () => setTimeout(() => process.disconnect?.(), 10),
    };
  }
  return null;
}

export function runWorkerMain(tasks: Record<string, WorkerTask>): void {
  const channel = parentChannel();
  if (!channel) {
    process.stderr.write('segloop worker: must be started as a child process with an IPC channel\n');
    process.exit(2);
  }
  const send = (msg: ChildMessage): void => {
    channel.send(ChildMessage.parse(msg));
  };
  const abort = new AbortController();
  let started = false;

  channel.onMessage((raw: unknown) => {
    const parsed = ParentMessage.safeParse(raw);
    if (!parsed.success) {
      send({ type: 'log', level: 'error', message: `worker: ignored a malformed message: ${parsed.error.issues[0]?.message ?? ''}` });
      return;
    }
    const msg = parsed.data;
    if (msg.type === 'cancel') {
      abort.abort();
      return;
    }
    if (started) {
      send({ type: 'log', level: 'error', message: 'worker: a task is already running; one task per process' });
      return;
    }
    started = true;
    const task = tasks[msg.task];
    void (async () => {
      try {
        if (!task) throw new SegloopError('INVALID_ARGUMENT', `The worker has no task "${msg.task}". Known: ${Object.keys(tasks).join(', ')}.`);
        const result = await task(msg.params, { signal: abort.signal, emit: send });
        send({ type: 'done', result: result ?? null });
      } catch (err) {
        const e = toErrorData(err);
        if (process.env.SEGLOOP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
        send({ type: 'error', error: { code: e.code, message: e.message, details: e.details ?? null } });
      } finally {
        // Let the IPC queue drain, then leave.
        channel.close();
      }
    })();
  });
  send({ type: 'ready', pid: process.pid });
}
