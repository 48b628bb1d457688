// The Electron shell: one window, locked down. Everything else lives in main/app and main/core.
import { app, BrowserWindow, dialog, ipcMain, session, shell, type IpcMainInvokeEvent } from 'electron';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_EVENT, IPC_FILE, IPC_INVOKE } from '../../shared/ipc-channels';
import { toErrorData } from '../../shared/errors';
import { ensureDemoProject } from '../app/demo-project';
import { dispatch, parseFileRequest } from '../app/dispatch';
import { openProjectApp, type ProjectApp } from '../app/project-app';
import { appUrlChecker, isTrustedSender } from './ipc-guard';

const isDev = !!process.env.ELECTRON_RENDERER_URL;
const mainDir = path.dirname(fileURLToPath(import.meta.url));
let mainWindow: BrowserWindow | null = null;
let projectApp: ProjectApp | null = null;

export function createMainWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'Segloop',
    webPreferences: {
      preload: path.join(mainDir, '../preload/preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  mainWindow = win;
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });

  // No navigation away from the app, no new windows; external links go to the OS browser.
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
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
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });

  if (isDev && process.env.ELECTRON_RENDERER_URL) {
    void win.loadURL(process.env.ELECTRON_RENDERER_URL);
  } else {
    void win.loadFile(path.join(mainDir, '../renderer/index.html'));
  }
  return win;
}

const isAppUrl = appUrlChecker(pathToFileURL(path.join(mainDir, '../renderer')).href, process.env.ELECTRON_RENDERER_URL);

function lockDownSession(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [
          "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'",
        ],
      },
    });
  });
}

/** Only the top frame of our own window, showing our own page, may call main. */
function trusted(event: IpcMainInvokeEvent): boolean {
  return isTrustedSender(event, mainWindow?.webContents.id ?? null, isAppUrl);
}

const untrusted = { ok: false, error: { code: 'FORBIDDEN', message: 'IPC from an unknown frame was refused.' } } as const;

/** The project to open: --project <dir>, $SEGLOOP_PROJECT, else the demo project in the per-user folder. */
async function projectDir(): Promise<string> {
  const i = process.argv.indexOf('--project');
  if (i > 0 && process.argv[i + 1]) return path.resolve(process.argv[i + 1]);
  if (process.env.SEGLOOP_PROJECT) return path.resolve(process.env.SEGLOOP_PROJECT);
  return ensureDemoProject();
}

function wireIpc(api: ProjectApp): void {
  ipcMain.handle(IPC_INVOKE, async (event, name: unknown, input: unknown) => {
    if (!trusted(event)) return untrusted;
    return dispatch(api.handlers, name, input);
  });
  ipcMain.handle(IPC_FILE, async (event, req: unknown) => {
    if (!trusted(event)) return untrusted;
    try {
      const file = await api.resolveFile(parseFileRequest(req));
      return { ok: true, value: new Uint8Array(await readFile(file.absPath)) };
    } catch (err) {
      return { ok: false, error: toErrorData(err) };
    }
  });
  api.onEvent((msg) => mainWindow?.webContents.send(IPC_EVENT, msg));
}

if (process.versions.electron) {
  app.enableSandbox();
  void app.whenReady().then(async () => {
    lockDownSession();
    try {
      projectApp = await openProjectApp(await projectDir(), { transport: 'ipc' });
    } catch (err) {
      const e = toErrorData(err);
      dialog.showErrorBox('Segloop cannot open the project', `${e.code}: ${e.message}`);
      app.exit(1);
      return;
    }
    wireIpc(projectApp);
    createMainWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    projectApp?.dispose();
    projectApp = null;
  });
  // Belt and braces: no webview, no new WebContents of any kind.
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}
