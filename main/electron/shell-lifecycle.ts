// Shell lifecycle as testable functions: which project a launch asks for, the application menu,
// the IPC handlers (trusted frame + contract dispatch + in-flight tracking), and the quit sequence
// (wait for running saves, stop training at a resumable checkpoint, then close the project).
import path from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { SegloopError, toErrorData } from '../../shared/errors';
import { dispatch, parseFileRequest } from '../app/dispatch';
import type { ProjectApp } from '../app/project-app';
import type { JobInfo } from '../core/jobs/job-queue';

/** The project a command line names: `--project <dir>` or `--project=<dir>` (relative to cwd). */
export function projectFromArgv(argv: readonly string[], cwd: string): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--project' && argv[i + 1] && !argv[i + 1].startsWith('--')) return path.resolve(cwd, argv[i + 1]);
    if (a.startsWith('--project=') && a.length > '--project='.length) return path.resolve(cwd, a.slice('--project='.length));
  }
  return null;
}

export interface MenuActions {
  openProject(): void;
  createProject(): void;
  openRecent(dir: string): void;
  revealProject(): void;
  openDocs(): void;
  quit(): void;
}

/** File / Edit / View / Help. Reload and devtools only in development builds. */
export function buildMenuTemplate(actions: MenuActions, recent: readonly string[], opts: { packaged: boolean; platform: NodeJS.Platform }): MenuItemConstructorOptions[] {
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { id: 'open-project', label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => actions.openProject() },
      { id: 'create-project', label: 'New Project…', accelerator: 'CmdOrCtrl+Shift+N', click: () => actions.createProject() },
      {
        id: 'open-recent',
        label: 'Open Recent',
        enabled: recent.length > 0,
        submenu: recent.map((dir) => ({ label: dir, click: () => actions.openRecent(dir) })),
      },
      { type: 'separator' },
      { id: 'reveal-project', label: opts.platform === 'darwin' ? 'Reveal Project in Finder' : 'Show Project Folder', click: () => actions.revealProject() },
      { type: 'separator' },
      { id: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      ...(opts.packaged ? [] : ([{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  return [
    file,
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    view,
    { label: 'Help', submenu: [{ id: 'docs', label: 'Segloop Documentation', click: () => actions.openDocs() }] },
  ];
}

export interface IpcEventLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

const untrusted = { ok: false, error: { code: 'FORBIDDEN', message: 'IPC from an unknown frame was refused.' } } as const;

/**
 * The two IPC handlers. Every call is checked (trusted frame), validated (the contract's zod schemas
 * in dispatch / parseFileRequest) and tracked, so quitting can wait for a save that is still running.
 */
export function createIpcHandlers(deps: { app: () => ProjectApp | null; trusted: (event: IpcEventLike) => boolean; readFile: (absPath: string) => Promise<Uint8Array> }) {
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const noProject = () => ({ ok: false, error: toErrorData(new SegloopError('PROJECT_NOT_FOUND', 'No project is open.')) });
  return {
    invoke(event: IpcEventLike, name: unknown, input: unknown): Promise<unknown> {
      if (!deps.trusted(event)) return Promise.resolve(untrusted);
      const api = deps.app();
      if (!api) return Promise.resolve(noProject());
      return track(dispatch(api.handlers, name, input));
    },
    file(event: IpcEventLike, req: unknown): Promise<unknown> {
      if (!deps.trusted(event)) return Promise.resolve(untrusted);
      const api = deps.app();
      if (!api) return Promise.resolve(noProject());
      return track(
        (async () => {
          try {
            const file = await api.resolveFile(parseFileRequest(req));
            return { ok: true, value: await deps.readFile(file.absPath) };
          } catch (err) {
            return { ok: false, error: toErrorData(err) };
          }
        })(),
      );
    },
    /** Resolves when every call that was running has answered. */
    async drain(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    get inFlight(): number {
      return inFlight.size;
    },
  };
}

export interface QuitDeps {
  drain(): Promise<void>;
  jobs: { list(): JobInfo[]; cancel(id: string): JobInfo; onDidChangeJob(l: (job: JobInfo) => void): () => void };
  dispose(): void;
  /** longest wait for a training job to write its checkpoint and stop */
  trainingStopTimeoutMs?: number;
}

export interface QuitReport {
  stoppedJobs: string[];
  timedOut: string[];
}

/**
 * Before the app exits: let running saves finish, stop running/queued jobs through the queue's own
 * cancel (training writes its checkpoint on cancel, so the run stays resumable), wait for them, then
 * close the project (releases the writer lock).
 */
export async function prepareQuit(deps: QuitDeps): Promise<QuitReport> {
  await deps.drain();
  const active = deps.jobs.list().filter((j) => j.status === 'running' || j.status === 'queued');
  const timeoutMs = deps.trainingStopTimeoutMs ?? 60_000;
  const report: QuitReport = { stoppedJobs: [], timedOut: [] };
  await Promise.all(
    active.map(
      (job) =>
        new Promise<void>((resolve) => {
          let off = () => {};
          let settled = false;
          const finish = (timedOut: boolean) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            off();
            (timedOut ? report.timedOut : report.stoppedJobs).push(job.id);
            resolve();
          };
          const timer = setTimeout(() => finish(true), timeoutMs);
          off = deps.jobs.onDidChangeJob((j) => {
            if (j.id === job.id && j.status !== 'running' && j.status !== 'queued') finish(false);
          });
          const now = deps.jobs.cancel(job.id);
          if (now.status !== 'running' && now.status !== 'queued') finish(false);
        }),
    ),
  );
  await deps.drain();
  deps.dispose();
  return report;
}
