// Picks the transport: the Electron preload bridge when present, else the local HTTP server.
import type { ApiClient, SegloopBridge } from './api-client';
import { HttpApiClient } from './http-client';
import { IpcApiClient } from './ipc-client';

export type { ApiClient } from './api-client';

const TOKEN_KEY = 'segloop.token';

export function createApiClient(win: Window & { segloop?: SegloopBridge } = window): ApiClient {
  if (win.segloop) return new IpcApiClient(win.segloop);
  const url = new URL(win.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    win.sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the token out of the address bar, history and screenshots.
    url.searchParams.delete('token');
    win.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return new HttpApiClient(url.origin, win.sessionStorage.getItem(TOKEN_KEY));
}
