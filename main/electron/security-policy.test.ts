import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, isAllowedExternalUrl, isAppUrl, lockDownSession, mainWindowOptions, navigationDecision, type SessionLike } from './security-policy';

describe('window factory', () => {
  it('builds a sandboxed, context-isolated window without Node, with web security and no webview', () => {
    const o = mainWindowOptions('/app/out/preload/preload.cjs', true);
    expect(o.webPreferences).toMatchObject({
      preload: '/app/out/preload/preload.cjs',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      devTools: false,
    });
    expect(mainWindowOptions('/p', false).webPreferences?.devTools).toBe(true);
  });
});

describe('navigation and external links', () => {
  it('stays on app://segloop, opens only allow-listed https documentation hosts, drops the rest', () => {
    expect(navigationDecision('app://segloop/index.html#/review')).toBe('allow');
    expect(navigationDecision('https://github.com/segloop/segloop')).toBe('open-external');
    for (const url of [
      'https://evil.example/',
      'http://github.com/',
      'file:///etc/passwd',
      'app://segloop.evil/',
      'https://user:pw@github.com/',
      'javascript:alert(1)',
      'not a url',
      'http://localhost:5173/',
    ]) {
      expect(navigationDecision(url), url).toBe('deny');
    }
    expect(navigationDecision('http://localhost:5173/x', 'http://localhost:5173/')).toBe('allow');
    expect(isAllowedExternalUrl('https://github.com.evil.example/')).toBe(false);
    expect(isAppUrl('app://segloop/assets/x.js')).toBe(true);
  });
});

describe('session lock-down', () => {
  function recorder() {
    const calls: Record<string, unknown> = {};
    const s: SessionLike = {
      setPermissionRequestHandler: (h) => (calls.request = h),
      setPermissionCheckHandler: (h) => (calls.check = h),
      setDevicePermissionHandler: (h) => (calls.device = h),
      on: (_e, l) => (calls.download = l),
      webRequest: {
        onHeadersReceived: (l) => (calls.headers = l),
        onBeforeRequest: (_f, l) => (calls.before = l),
      },
    };
    return { s, calls };
  }

  it('denies every permission and download, blocks requests to other origins, adds the CSP to every response', () => {
    const { s, calls } = recorder();
    lockDownSession(s);
    const granted: boolean[] = [];
    (calls.request as (wc: unknown, p: string, cb: (g: boolean) => void) => void)(null, 'media', (g) => granted.push(g));
    (calls.request as (wc: unknown, p: string, cb: (g: boolean) => void) => void)(null, 'notifications', (g) => granted.push(g));
    expect(granted).toEqual([false, false]);
    expect((calls.check as () => boolean)()).toBe(false);
    expect((calls.device as () => boolean)()).toBe(false);
    let prevented = false;
    (calls.download as (e: { preventDefault(): void }) => void)({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    const cancel = (url: string) => {
      let r: boolean | undefined;
      (calls.before as (d: { url: string }, cb: (x: { cancel: boolean }) => void) => void)({ url }, (x) => (r = x.cancel));
      return r;
    };
    expect(cancel('app://segloop/assets/index.js')).toBe(false);
    expect(cancel('blob:app://segloop/1234')).toBe(false);
    expect(cancel('https://cdn.jsdelivr.net/npm/x.wasm')).toBe(true);
    expect(cancel('http://127.0.0.1:8080/api')).toBe(true);
    let headers: Record<string, unknown> = {};
    (calls.headers as (d: object, cb: (r: { responseHeaders: Record<string, unknown> }) => void) => void)({ responseHeaders: { a: ['b'] } }, (r) => (headers = r.responseHeaders));
    expect(headers).toMatchObject({ a: ['b'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY], 'X-Content-Type-Options': ['nosniff'] });
  });

  it('the CSP forbids remote scripts, connections, plugins and framing', () => {
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/ 'unsafe-eval'|\*|https?:/);
  });

  it('renderer/index.html carries the same policy as a <meta> (so it applies under any transport)', () => {
    const html = readFileSync(path.resolve(__dirname, '../../renderer/index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    // frame-ancestors is ignored in <meta> by browsers; everything else must match
    const strip = (p: string) => p.split('; ').filter((d) => !d.startsWith('frame-ancestors')).join('; ');
    expect(meta?.[1] && strip(meta[1])).toBe(strip(CONTENT_SECURITY_POLICY));
  });
});
