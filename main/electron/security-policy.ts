// The shell's security policy as data and pure functions, so it is unit-tested without an Electron
// binary and the same values reach the window, the session, the protocol handler and index.html.
import type { BrowserWindowConstructorOptions } from 'electron';

/** Scheme and origin the renderer is served from (a privileged custom scheme, not file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'segloop';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * Content-Security-Policy of every page: our own scripts only ('wasm-unsafe-eval' for tfjs-wasm and
 * the itk/cornerstone codecs), no remote connections (the HTTP transport is same-origin), no plugins,
 * no framing, no form posts. index.html carries the same policy as a <meta> (checked by a test).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hosts the app may open in the user's browser (documentation links); everything else is refused. */
export const EXTERNAL_LINK_HOSTS = ['github.com', 'www.electronjs.org', 'arxiv.org', 'nifti.nimh.nih.gov', 'www.dicomstandard.org'] as const;

export function isAllowedExternalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && u.username === '' && u.password === '' && (EXTERNAL_LINK_HOSTS as readonly string[]).includes(u.hostname);
}

/** A page of ours: the app:// origin, or (development only) the electron-vite dev server's origin. */
export function isAppUrl(url: string, devServerUrl?: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST) return true;
  if (!devServerUrl) return false;
  try {
    return u.origin === new URL(devServerUrl).origin;
  } catch {
    return false;
  }
}

/**
 * What to do with a navigation (will-navigate / will-redirect) or a window.open: the app never leaves
 * its own pages; an allowed documentation link opens in the OS browser; anything else is dropped.
 */
export function navigationDecision(url: string, devServerUrl?: string): 'allow' | 'open-external' | 'deny' {
  if (isAppUrl(url, devServerUrl)) return 'allow';
  return isAllowedExternalUrl(url) ? 'open-external' : 'deny';
}

/** The one window's options: sandboxed, isolated, no Node, web security on, no devtools in packages. */
export function mainWindowOptions(preloadPath: string, packaged: boolean): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    title: 'Segloop',
    backgroundColor: '#101418',
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
      devTools: !packaged,
      navigateOnDragDrop: false,
    },
  };
}

/** Minimal view of Electron's Session used by lockDownSession (so tests can pass a recorder). */
export interface SessionLike {
  setPermissionRequestHandler(h: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(h: (...args: unknown[]) => boolean): void;
  setDevicePermissionHandler?(h: (...args: unknown[]) => boolean): void;
  on(event: 'will-download', listener: (event: { preventDefault(): void }) => void): void;
  webRequest: {
    onHeadersReceived(
      listener: (details: { responseHeaders?: Record<string, string[] | string> }, callback: (r: { responseHeaders: Record<string, string[] | string> }) => void) => void,
    ): void;
    onBeforeRequest(filter: { urls: string[] }, listener: (details: { url: string }, callback: (r: { cancel: boolean }) => void) => void): void;
  };
}

/**
 * No permission is ever granted (camera, geolocation, notifications, USB...), downloads are refused,
 * requests leave only for our own origin (or the dev server), and every response carries the CSP.
 */
export function lockDownSession(session: SessionLike, devServerUrl?: string): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler?.(() => false);
  session.on('will-download', (event) => event.preventDefault());
  session.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
    const ok = isAppUrl(details.url, devServerUrl) || details.url.startsWith('devtools:') || details.url.startsWith('data:') || details.url.startsWith('blob:');
    callback({ cancel: !ok });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY], 'X-Content-Type-Options': ['nosniff'] } });
  });
}
