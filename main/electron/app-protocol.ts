// app://segloop/… serves the bundled renderer (replacing file://, so the CSP header certainly applies
// and the page has a real origin). Requests are confined to the renderer folder: no '..', no
// encoded separators, no symlink out, no other host. Kept free of the electron import for tests.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { contentTypeFor } from '../core/base/mime-types';
import { APP_HOST, APP_SCHEME, CONTENT_SECURITY_POLICY } from './security-policy';

export type AppRequestResolution = { ok: true; file: string; mime: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/** The file an app:// URL names inside `rendererDir`, or why it is refused. */
export async function resolveAppRequest(url: string, rendererDir: string): Promise<AppRequestResolution> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return { ok: false, status: 403, reason: 'foreign origin' };
  // the raw path: an encoded '/', '\' or NUL could smuggle a separator past the check below
  if (/%2f|%5c|%00/i.test(u.pathname)) return { ok: false, status: 400, reason: 'encoded separator' };
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'bad escape' };
  }
  if (rel.split('/').includes('..')) return { ok: false, status: 403, reason: 'path traversal' };
  if (rel === '/' || rel === '') rel = '/index.html';
  const root = await fs.realpath(rendererDir);
  const candidate = path.resolve(root, `.${rel}`);
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return { ok: false, status: 403, reason: 'outside the app' };
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  if (!real.startsWith(root + path.sep)) return { ok: false, status: 403, reason: 'link out of the app' };
  const stat = await fs.stat(real);
  if (!stat.isFile()) return { ok: false, status: 404, reason: 'not a file' };
  return { ok: true, file: real, mime: contentTypeFor(real) };
}

/** The protocol.handle callback: a Response for the request (global fetch types, as Electron uses). */
export async function handleAppRequest(request: { url: string; method?: string }, rendererDir: string): Promise<Response> {
  if (request.method && request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405 });
  const r = await resolveAppRequest(request.url, rendererDir);
  if (!r.ok) return new Response(r.reason, { status: r.status, headers: { 'content-type': 'text/plain' } });
  const body = await fs.readFile(r.file);
  return new Response(body, {
    status: 200,
    headers: { 'content-type': r.mime, 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' },
  });
}

/** Privileges for protocol.registerSchemesAsPrivileged (before app ready). */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true, corsEnabled: false, bypassCSP: false },
} as const;
