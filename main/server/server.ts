// Headless transport: HTTP + WebSocket on loopback only, token-protected, dispatching to the
// same handlers as Electron IPC. Routes:
//   POST /api/<operation>          JSON body = input        -> result envelope (JSON)
//   GET  /api/files/<image|label>/<id>                       -> the NIfTI bytes, streamed
//   GET  /ws                        WebSocket                -> pushed events (job progress)
//   GET  /*                         the built renderer (static files)
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { SegloopError, toErrorData, type ErrorCode, type ErrorData } from '../../shared/errors';
import { MAX_LABEL_BASE64_CHARS } from '../../shared/contract';
import { dispatch, parseFileRequest, type AppApi, type Handlers } from '../app/dispatch';
import { contentTypeFor } from '../core/base/mime-types';
import { checkRequest, newToken, TOKEN_COOKIE } from './guard';

export interface ServeOptions {
  api: AppApi;
  /** Only loopback addresses are accepted. */
  host?: string;
  /** 0 = any free port. */
  port?: number;
  token?: string;
  /** The renderer's build output (index.html + assets); null serves no UI. */
  staticDir?: string | null;
  /** Largest request body of an operation that carries no voxels, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * Largest body of an operation that carries a label volume (labels:save, drafts, review edits).
   * Default: derived from the largest image of the project (see voxelBodyLimit).
   */
  voxelBodyBytes?: () => Promise<number>;
  /** Heavy requests (voxel operations, bodies over 64 KiB) served at once (default 2). */
  maxHeavyRequests?: number;
  /**
   * How long a heavy request waits (its body unread) for a free slot before 429, and how many may
   * wait (defaults 3 s, 8): a save racing the draft autosave waits instead of failing.
   */
  heavyWaitMs?: number;
  maxHeavyWaiting?: number;
  /** Deepest nesting of arrays/objects accepted in a request body (default 64). */
  maxJsonDepth?: number;
}

/** Operations whose body carries a whole label volume (gzip + base64). */
export const VOXEL_OPERATIONS = new Set(['labels:save', 'labels:draftSave', 'labels:transform', 'labels:measure', 'reviews:submit']);
const HEAVY_BODY_BYTES = 64 * 1024;

/**
 * The largest legitimate body for a label of `voxels` uint8 voxels: gzip never grows data by more
 * than ~0.1% + a few bytes (stored blocks), base64 adds a third, plus the JSON around it.
 */
export function voxelBodyLimit(voxels: number): number {
  return Math.ceil(((voxels * 1.001 + 1024) * 4) / 3) + 16 * 1024;
}

/** True when `buf` (JSON text) nests arrays/objects deeper than `max`; a linear scan, no parsing. */
export function jsonDeeperThan(buf: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

export interface RunningServer {
  url: string;
  /** The URL to open in a browser: carries the token once, then a cookie takes over. */
  openUrl: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
    case 'PATH_OUTSIDE_PROJECT':
      return 403;
    case 'VALIDATION_FAILED':
    case 'INVALID_ARGUMENT':
      return 400;
    case 'NOT_FOUND':
    case 'FILE_NOT_FOUND':
    case 'IMAGE_NOT_FOUND':
    case 'LABEL_VERSION_NOT_FOUND':
    case 'PATIENT_NOT_FOUND':
    case 'MODEL_NOT_FOUND':
    case 'JOB_NOT_FOUND':
      return 404;
    case 'BUSY':
    case 'PROJECT_LOCKED':
    case 'LABEL_CONFLICT':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'TOO_MANY_REQUESTS':
      return 429;
    case 'PROJECT_MOVED':
    case 'PROJECT_CORRUPT':
      return 503;
    case 'DISK_FULL':
      return 507;
    case 'INTERNAL_ERROR':
      return 500;
    default:
      return 422;
  }
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!ALLOWED_HOSTS.has(host)) {
    throw new SegloopError('INVALID_ARGUMENT', `--host ${host} is not allowed: the server only listens on this machine (127.0.0.1).`, { host });
  }
  const token = opts.token ?? newToken();
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const maxHeavy = opts.maxHeavyRequests ?? 2;
  const maxDepth = opts.maxJsonDepth ?? 64;
  let heavyActive = 0;
  const waiting: (() => void)[] = [];
  const heavyWaitMs = opts.heavyWaitMs ?? 3000;
  const maxWaiting = opts.maxHeavyWaiting ?? 8;
  /** True once a heavy slot is ours; false when none freed up in time (or too many wait already). */
  const takeHeavySlot = async (): Promise<boolean> => {
    if (heavyActive < maxHeavy) {
      heavyActive++;
      return true;
    }
    if (waiting.length >= maxWaiting) return false;
    return new Promise<boolean>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        heavyActive++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = waiting.indexOf(wake);
        if (i >= 0) waiting.splice(i, 1);
        resolve(false);
      }, heavyWaitMs);
      waiting.push(wake);
    });
  };
  const releaseHeavySlot = (): void => {
    heavyActive--;
    waiting.shift()?.();
  };
  // The largest image decides the voxel-route limit; re-read at most every 10 s (imports add images).
  let voxelLimitCache: { at: number; bytes: number } | null = null;
  const voxelLimit = async (refresh = false): Promise<number> => {
    if (opts.voxelBodyBytes) return opts.voxelBodyBytes();
    if (refresh || !voxelLimitCache || Date.now() - voxelLimitCache.at > 10_000) {
      // An API without images (or whose case list fails) gets the schema's own ceiling.
      const list = opts.api.handlers['cases:list'] as Handlers['cases:list'] | undefined;
      const rows = await Promise.resolve()
        .then(() => (list ? list({}) : null))
        .then((r) => (Array.isArray(r?.rows) ? r.rows : null), () => null);
      const most = rows?.reduce((m, r) => Math.max(m, r.shape[0] * r.shape[1] * r.shape[2]), 0) ?? null;
      voxelLimitCache = { at: Date.now(), bytes: most === null ? MAX_LABEL_BASE64_CHARS + 16 * 1024 : voxelBodyLimit(most) };
    }
    return voxelLimitCache.bytes;
  };
  const staticRoot = opts.staticDir ? path.resolve(opts.staticDir) : null;
  let port = opts.port ?? 0;

  const sendError = (res: ServerResponse, err: ErrorData, status = statusOf(err.code), extra: Record<string, string> = {}): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ ok: false, error: err });
    res.writeHead(status, { ...baseHeaders(), ...extra, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const guard = checkRequest(req, port, token);
    if (!guard.ok) {
      sendError(res, { code: guard.code, message: guard.message }, guard.status);
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = url.pathname;
    if (p.startsWith('/api/files/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, { code: 'NOT_FOUND', message: 'Files are read with GET.' }, 405);
      const [kind, id, ...rest] = p.slice('/api/files/'.length).split('/').map(safeDecode);
      if (rest.length > 0) throw new SegloopError('NOT_FOUND', 'No such file route.');
      const file = await opts.api.resolveFile(parseFileRequest({ kind, id }));
      res.writeHead(200, {
        ...baseHeaders(),
        // A .nii.gz is served as opaque bytes WITHOUT Content-Encoding: gzip, or the browser would
        // inflate it and the NIfTI reader would get something other than the file on disk.
        'Content-Type': 'application/octet-stream',
        'Content-Length': file.size,
        'Content-Disposition': `attachment; filename="${file.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      });
      if (req.method === 'HEAD') return void res.end();
      await new Promise<void>((resolve, reject) => {
        const stream = createReadStream(file.absPath);
        stream.on('error', reject);
        res.on('close', resolve);
        stream.pipe(res);
      });
      return;
    }
    if (p.startsWith('/api/')) {
      if (req.method !== 'POST') return sendError(res, { code: 'NOT_FOUND', message: 'Operations are called with POST.' }, 405);
      const ctype = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\b/i.test(ctype)) {
        throw new SegloopError('VALIDATION_FAILED', 'Operations take a JSON body (Content-Type: application/json).');
      }
      const operation = safeDecode(p.slice('/api/'.length));
      const voxelRoute = VOXEL_OPERATIONS.has(operation);
      const declared = Number(req.headers['content-length'] ?? NaN);
      const heavy = voxelRoute || !(declared <= HEAVY_BODY_BYTES);
      if (heavy && !(await takeHeavySlot())) {
        // Refused before reading: each heavy body costs a few times its size in memory.
        req.resume();
        return sendError(
          res,
          { code: 'TOO_MANY_REQUESTS', message: `The server is already handling ${heavyActive} large requests: try again in a second.`, details: { limit: maxHeavy } },
          429,
          { 'Retry-After': '1', Connection: 'close' },
        );
      }
      try {
        let limit = voxelRoute ? await voxelLimit() : maxBody;
        // A bigger image may have been imported since the limit was computed.
        if (voxelRoute && declared > limit && !opts.voxelBodyBytes) limit = await voxelLimit(true);
        let raw: Buffer | null = await readBody(req, limit, voxelRoute ? `${operation} (a label of the largest image in this project)` : operation);
        if (jsonDeeperThan(raw, maxDepth)) {
          throw new SegloopError('VALIDATION_FAILED', `The request body nests arrays/objects deeper than ${maxDepth} levels: refused unparsed.`, { maxDepth });
        }
        let input: unknown;
        try {
          input = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
        } catch {
          throw new SegloopError('VALIDATION_FAILED', 'The request body is not valid JSON.');
        }
        raw = null; // let the bytes go before the handler decodes the voxels
        const result = await dispatch(opts.api.handlers, operation, input);
        const body = JSON.stringify(result);
        const status = result.ok ? 200 : statusOf(result.error.code);
        res.writeHead(status, { ...baseHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } finally {
        if (heavy) releaseHeavySlot();
      }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, { code: 'NOT_FOUND', message: 'Not found.' }, 405);
    await serveStatic(req, res, url, guard.viaQuery);
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, url: URL, setCookie: boolean): Promise<void> => {
    if (!staticRoot) throw new SegloopError('NOT_FOUND', 'This server was started without the user interface (run `npm run build` first).');
    const rel = url.pathname === '/' ? 'index.html' : safeDecode(url.pathname).replace(/^\/+/, '');
    const abs = path.resolve(staticRoot, rel);
    if (rel.includes('\0') || (abs !== staticRoot && !abs.startsWith(staticRoot + path.sep))) {
      throw new SegloopError('NOT_FOUND', 'Not found.');
    }
    const stat = await fsp.stat(abs).catch(() => null);
    if (!stat || !stat.isFile()) throw new SegloopError('NOT_FOUND', `Not found: ${url.pathname}`);
    const ext = path.extname(abs).toLowerCase();
    const headers: Record<string, string | number> = {
      ...baseHeaders(),
      'Content-Type': contentTypeFor(abs),
      'Content-Length': stat.size,
      'Cache-Control': ext === '.html' ? 'no-store' : 'private, max-age=3600',
    };
    if (ext === '.html') {
      headers['Content-Security-Policy'] =
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self' ws: data: blob:; frame-ancestors 'none'";
    }
    if (setCookie) headers['Set-Cookie'] = `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return void res.end();
    createReadStream(abs).pipe(res);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      req.resume();
      sendError(res, toErrorData(err));
    });
  });
  server.requestTimeout = 120_000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const guard = checkRequest(req, port, token);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!guard.ok || url.pathname !== '/ws') {
      const status = guard.ok ? 404 : guard.status;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // The socket is push-only; anything the client sends is ignored.
      ws.on('message', () => undefined);
    });
  });
  const unsubscribe = opts.api.onEvent((msg) => {
    const data = JSON.stringify(msg);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host === '::1' ? '[::1]' : host;
  const url = `http://${urlHost}:${port}`;
  return {
    url,
    openUrl: `${url}/?token=${token}`,
    token,
    port,
    host,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function baseHeaders(): Record<string, string> {
  return {
    'X-Content-Type-Options': 'nosniff',
    // The token may sit in the URL: never send it on as a Referer.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new SegloopError('VALIDATION_FAILED', 'The request path is not valid URL encoding.');
  }
}

/**
 * The body, refused with PAYLOAD_TOO_LARGE as soon as it passes `max` (before reading anything when
 * Content-Length says so). With a Content-Length the bytes go straight into one buffer of that
 * size, so a body is held once, not as chunks plus their concatenation.
 */
async function readBody(req: IncomingMessage, max: number, what: string): Promise<Buffer> {
  const tooLarge = (): SegloopError =>
    new SegloopError('PAYLOAD_TOO_LARGE', `The request body is larger than ${max} bytes, the most ${what} can take.`, { limit: max });
  const header = req.headers['content-length'];
  const declared = header === undefined ? null : Number(header);
  if (declared !== null && (!Number.isSafeInteger(declared) || declared < 0)) throw new SegloopError('VALIDATION_FAILED', 'Content-Length is not a byte count.');
  if (declared !== null && declared > max) throw tooLarge();
  if (declared !== null) {
    const out = Buffer.allocUnsafe(declared);
    let at = 0;
    for await (const chunk of req) {
      const c = chunk as Buffer;
      if (at + c.length > declared) throw new SegloopError('VALIDATION_FAILED', 'The request body is longer than its Content-Length.');
      c.copy(out, at);
      at += c.length;
    }
    if (at !== declared) throw new SegloopError('VALIDATION_FAILED', 'The request body ended before its Content-Length.');
    return out;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
