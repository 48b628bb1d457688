// Request guards of the local server: a random token on every request, and Host/Origin pinned to
// loopback so that a web page elsewhere cannot reach the server through DNS rebinding.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'segloop_token';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export type GuardResult = { ok: true; viaQuery: boolean } | { ok: false; status: 401 | 403; code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };

export function checkRequest(req: IncomingMessage, port: number, token: string): GuardResult {
  const host = req.headers.host;
  if (!host || !isLoopbackHost(host, port)) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: 'The Host header must name this machine (127.0.0.1 or localhost) and this port.' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin, port)) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: 'Requests from other web sites are refused.' };
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const fromQuery = url.searchParams.get('token');
  const candidates: { value: string | null | undefined; viaQuery: boolean }[] = [
    { value: bearer(req.headers.authorization), viaQuery: false },
    { value: headerValue(req.headers['x-segloop-token']), viaQuery: false },
    { value: cookieValue(req.headers.cookie, TOKEN_COOKIE), viaQuery: false },
    { value: fromQuery, viaQuery: true },
  ];
  const presented = candidates.filter((c) => typeof c.value === 'string' && c.value.length > 0);
  if (presented.length === 0) {
    return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'A token is required: open the URL that `segloop serve` printed.' };
  }
  const match = presented.find((c) => safeEqual(c.value as string, token));
  if (!match) return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'Wrong token: open the URL that `segloop serve` printed.' };
  return { ok: true, viaQuery: match.viaQuery };
}

export function isLoopbackHost(hostHeader: string, port: number): boolean {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const [, name, p] = m;
  return LOOPBACK_HOSTS.has(name) && (p === undefined ? port === 80 : Number(p) === port);
}

export function isLoopbackOrigin(origin: string, port: number): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:') return false;
  return isLoopbackHost(u.host, port);
}

function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

function bearer(h: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(h ?? '');
  return m ? m[1] : null;
}

function headerValue(h: string | string[] | undefined): string | null {
  return Array.isArray(h) ? (h[0] ?? null) : (h ?? null);
}

function cookieValue(cookieHeader: string | undefined, name: string): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return rest.join('=');
  }
  return null;
}
