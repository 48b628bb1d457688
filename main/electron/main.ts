// The Electron shell: one window, locked down. The policy (window options, CSP, navigation, session,
// app:// protocol, menu, IPC checks, quit sequence) lives in tested electron-free modules beside
// this file; this one only wires them to Electron. Everything else lives in main/app and main/core.
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, utilityProcess, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_EVENT, IPC_FILE, IPC_INVOKE } from '../../shared/ipc-channels';
import { toErrorData } from '../../shared/errors';
import { ensureDemoProject } from '../app/demo-project';
import { openProjectApp, type ProjectApp } from '../app/project-app';
import { ProjectStore } from '../core/project/project-store';
import { DEFAULT_WORKER_ENTRY, setDefaultWorkerLauncher } from '../core/worker/worker-host';
import { APP_SCHEME_PRIVILEGES, handleAppRequest } from './app-protocol';
import { isTrustedSender } from './ipc-guard';
import { addRecentProject, readRecentProjects } from './recent-projects';
import { createUtilityLauncher } from './utility-launcher';
import { APP_ORIGIN, APP_SCHEME, isAllowedExternalUrl, isAppUrl, lockDownSession, mainWindowOptions, navigationDecision } from './security-policy';
import { buildMenuTemplate, createIpcHandlers, prepareQuit, projectFromArgv, type IpcEventLike } from './shell-lifecycle';

const devUrl = process.env.ELECTRON_RENDERER_URL || undefined;
const mainDir = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(mainDir, '../renderer');
const DOCS_URL = 'https://github.com/segloop/segloop#readme';

let mainWindow: BrowserWindow | null = null;
let projectApp: ProjectApp | null = null;
let unsubscribeEvents: (() => void) | null = null;
let quitting = false;

const recentFile = () => path.join(app.getPath('userData'), 'recent-projects.json');

/** Only the top frame of our own window, showing our own page, may call main. */
function trusted(event: IpcEventLike): boolean {
  return isTrustedSender(event, mainWindow?.webContents.id ?? null, (url) => isAppUrl(url, devUrl));
}

const ipc = createIpcHandlers({ app: () => projectApp, trusted, readFile: async (p) => new Uint8Array(await readFile(p)) });

function guardNavigation(contents: WebContents): void {
  const onNavigate = (event: { preventDefault(): void }, url: string) => {
    const decision = navigationDecision(url, devUrl);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'open-external') void shell.openExternal(url);
  };
  contents.on('will-navigate', onNavigate);
  contents.on('will-redirect', onNavigate);
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function createMainWindow(): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(path.join(mainDir, '../preload/preload.cjs'), app.isPackaged));
  win.once('ready-to-show', () => win.show());
  mainWindow = win;
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  guardNavigation(win.webContents);
  // The labelling screen blocks unload while work is unsaved; ask instead of silently refusing to close.
  win.webContents.on('will-prevent-unload', (event) => {
    const choice = dialog.showMessageBoxSync(win, {
      type: 'question',
      buttons: ['Leave and lose changes', 'Stay'],
      defaultId: 1,
      cancelId: 1,
      title: 'Unsaved labels',
      message: 'The label you are editing has unsaved changes.',
    });
    if (choice === 0) event.preventDefault();
  });
  // A crashed renderer loses only what it had not saved: say so and offer a reload. Saved label
  // versions, the database and any training (in its own process) are untouched.
  win.webContents.on('render-process-gone', (_event, details) => {
    if (quitting || details.reason === 'clean-exit') return;
    const choice = dialog.showMessageBoxSync(win, {
      type: 'error',
      buttons: ['Reload', 'Quit'],
      defaultId: 0,
      title: 'Segloop window stopped',
      message: `The window stopped (${details.reason}, exit code ${details.exitCode}).`,
      detail: 'Every saved label version is safe in the project. Strokes not yet saved in the open case may be lost. Training, if running, goes on in its own process.',
    });
    if (choice === 0) win.reload();
    else app.quit();
  });
  void win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
  return win;
}

async function openProject(dir: string): Promise<void> {
  const next = await openProjectApp(dir, { transport: 'ipc' });
  unsubscribeEvents?.();
  if (projectApp) await prepareQuit({ drain: ipc.drain, jobs: projectApp.jobs, dispose: () => projectApp?.dispose() });
  projectApp = next;
  unsubscribeEvents = next.onEvent((msg) => mainWindow?.webContents.send(IPC_EVENT, msg));
  await addRecentProject(recentFile(), next.store.dir).catch(() => undefined);
  await refreshMenu();
  mainWindow?.setTitle(`Segloop — ${path.basename(next.store.dir)}`);
  mainWindow?.reload();
}

async function switchProject(dir: string): Promise<void> {
  if (projectApp && path.resolve(dir) === projectApp.store.dir) return; // already open (and locked by us)
  try {
    await openProject(dir);
  } catch (err) {
    const e = toErrorData(err);
    if (mainWindow) await dialog.showMessageBox(mainWindow, { type: 'error', title: 'Cannot open the project', message: `${e.code}: ${e.message}` });
  }
}

async function chooseAndOpen(): Promise<void> {
  if (!mainWindow) return;
  const r = await dialog.showOpenDialog(mainWindow, { title: 'Open a Segloop project', properties: ['openDirectory'] });
  if (!r.canceled && r.filePaths[0]) await switchProject(r.filePaths[0]);
}

async function chooseAndCreate(): Promise<void> {
  if (!mainWindow) return;
  const r = await dialog.showOpenDialog(mainWindow, { title: 'Choose an empty folder for the new project', properties: ['openDirectory', 'createDirectory'] });
  if (r.canceled || !r.filePaths[0]) return;
  try {
    const store = await ProjectStore.create(r.filePaths[0], { name: path.basename(r.filePaths[0]) });
    store.close();
    await switchProject(r.filePaths[0]);
  } catch (err) {
    const e = toErrorData(err);
    await dialog.showMessageBox(mainWindow, { type: 'error', title: 'Cannot create the project', message: `${e.code}: ${e.message}` });
  }
}

async function refreshMenu(): Promise<void> {
  const recent = (await readRecentProjects(recentFile())).map((p) => p.dir);
  const template = buildMenuTemplate(
    {
      openProject: () => void chooseAndOpen(),
      createProject: () => void chooseAndCreate(),
      openRecent: (dir) => void switchProject(dir),
      revealProject: () => {
        if (projectApp) void shell.openPath(projectApp.store.dir);
      },
      openDocs: () => void shell.openExternal(DOCS_URL),
      quit: () => app.quit(),
    },
    recent,
    { packaged: app.isPackaged, platform: process.platform },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** The project to open: --project <dir>, $SEGLOOP_PROJECT, else the demo project in the per-user folder. */
async function initialProjectDir(): Promise<string> {
  const fromArgs = projectFromArgv(process.argv, process.cwd());
  if (fromArgs) return fromArgs;
  if (process.env.SEGLOOP_PROJECT) return path.resolve(process.env.SEGLOOP_PROJECT);
  return ensureDemoProject();
}

if (process.versions.electron) {
  app.enableSandbox();
  // ML jobs run in a utilityProcess on the bundled worker (out/main/worker.js, beside this file).
  setDefaultWorkerLauncher(createUtilityLauncher(utilityProcess, { [DEFAULT_WORKER_ENTRY]: path.join(mainDir, 'worker.js') }));
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

  // One Segloop per user: a second launch focuses this window and opens the project it was given.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
  } else {
    app.on('second-instance', (_event, argv, cwd) => {
      if (mainWindow) {
        if (mainWindow.isMinimized()) mainWindow.restore();
        mainWindow.focus();
      }
      const dir = projectFromArgv(argv, cwd);
      if (dir && dir !== projectApp?.store.dir) void switchProject(dir);
    });

    void app.whenReady().then(async () => {
      protocol.handle(APP_SCHEME, (request) => handleAppRequest(request, rendererDir));
      lockDownSession(session.defaultSession as unknown as Parameters<typeof lockDownSession>[0], devUrl);
      ipcMain.handle(IPC_INVOKE, (event, name: unknown, input: unknown) => ipc.invoke(event, name, input));
      ipcMain.handle(IPC_FILE, (event, req: unknown) => ipc.file(event, req));
      createMainWindow();
      try {
        await openProject(await initialProjectDir());
      } catch (err) {
        const e = toErrorData(err);
        dialog.showErrorBox('Segloop cannot open the project', `${e.code}: ${e.message}`);
        app.exit(1);
        return;
      }
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
      });
    });
  }

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Graceful quit: wait for running saves, stop training at a resumable checkpoint, release the lock.
  app.on('before-quit', (event) => {
    if (quitting || !projectApp) return;
    event.preventDefault();
    quitting = true;
    const current = projectApp;
    void prepareQuit({ drain: ipc.drain, jobs: current.jobs, dispose: () => current.dispose() })
      .catch(() => current.dispose())
      .finally(() => {
        projectApp = null;
        app.quit();
      });
  });
  // Belt and braces: no webview, no new WebContents of any kind, no navigation anywhere else.
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
    guardNavigation(contents);
  });
}
