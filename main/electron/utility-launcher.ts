// Training, prediction and AL scoring run in an Electron utilityProcess inside the desktop app: the
// same worker code as the CLI's child process (worker-main.ts already speaks process.parentPort),
// bundled to out/main/worker.js because a packaged app has no tsx and, with the RunAsNode fuse off,
// cannot fork itself as Node. Electron-free (the utilityProcess module is passed in) for tests.
import type { WorkerLauncher, WorkerProcess } from '../core/worker/worker-host';
import type { ParentMessage } from '../core/worker/protocol';

/** The part of Electron's utilityProcess / UtilityProcess this launcher uses. */
export interface UtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: { stdio?: 'pipe' | 'ignore' | 'inherit'; serviceName?: string; env?: NodeJS.ProcessEnv }): UtilityChild;
}
export interface UtilityChild {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): this;
  once(event: 'exit', listener: (code: number) => void): this;
}

/**
 * A WorkerLauncher over utilityProcess. `builtEntries` maps the TypeScript entries callers name
 * (DEFAULT_WORKER_ENTRY) to their bundles; an entry without a bundle is an error, not a silent fork.
 */
export function createUtilityLauncher(utility: UtilityProcessModule, builtEntries: Record<string, string>): WorkerLauncher {
  return (entry: string): WorkerProcess => {
    const script = builtEntries[entry] ?? (entry.endsWith('.js') ? entry : null);
    if (!script) throw new Error(`No bundled worker for ${entry}: build it with electron-vite (main entry "worker").`);
    const child = utility.fork(script, [], { stdio: 'pipe', serviceName: 'Segloop worker', env: { ...process.env } });
    let exited = false;
    child.once('exit', () => (exited = true));
    return {
      get pid() {
        return child.pid;
      },
      send: (msg: ParentMessage) => {
        if (!exited) child.postMessage(msg);
      },
      // utilityProcess has no signals: kill() ends it (SIGTERM on POSIX); the host's grace timer
      // escalates the same way for both launchers.
      kill: () => {
        if (!exited) child.kill();
      },
      onMessage: (l) => child.on('message', l),
      // a utilityProcess reports only an exit code; a crash shows as a non-zero code
      onExit: (l) => child.once('exit', (code) => l(code, null)),
      onStderr: (l) => {
        child.stdout?.on('data', (b: Buffer) => l(b.toString('utf8')));
        child.stderr?.on('data', (b: Buffer) => l(b.toString('utf8')));
      },
    };
  };
}
