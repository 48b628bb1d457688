// Transport security of the local server against a recording fake of the app: every refused
// request must reach no handler (no side effect) and get the right status and error code.
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventMessage, FileRequest } from '../../shared/contract';
import { SegloopError } from '../../shared/errors';
import type { AppApi, Handlers } from '../app/dispatch';
import { startServer, type RunningServer } from './server';

const calls: string[] = [];
let listener: ((m: EventMessage) => void) | null = null;
const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-srv-'));
const fileBytes = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5]);

function fakeApi(): AppApi {
  const rec = (name: string, value: unknown) => async () => {
    calls.push(name);
    return value;
  };
  const handlers = {
    'project:info': rec('project:info', { name: 'p', path: dir, patients: 1, images: 1, labelledImages: 0, transport: 'http' }),
    'labels:save': rec('labels:save', {}),
    'labelSchema:get': rec('labelSchema:get', { labels: [{ index: 0, name: 'background', colour: '#000000' }] }),
  } as unknown as Handlers;
  return {
    handlers,
    async resolveFile(req: FileRequest) {
      calls.push(`file:${req.kind}:${req.id}`);
      if (req.id !== '1') throw new SegloopError('IMAGE_NOT_FOUND', `No image ${req.id}`);
      return { absPath: path.join(dir, 'img.nii.gz'), size: fileBytes.length, name: 'img.nii.gz' };
    },
    onEvent(l) {
      listener = l;
      return () => (listener = null);
    },
  };
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(srv: RunningServer, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: srv.port, method: opts.method ?? 'GET', path: opts.path, headers: { Host: `127.0.0.1:${srv.port}`, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const json = (r: Res) => JSON.parse(r.body.toString('utf8')) as { ok: boolean; value?: unknown; error?: { code: string } };

describe('segloop serve transport', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    writeFileSync(path.join(dir, 'img.nii.gz'), fileBytes);
    mkdirSync(path.join(dir, 'ui'));
    writeFileSync(path.join(dir, 'ui', 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(path.join(dir, 'secret.txt'), 'outside the ui folder');
    srv = await startServer({ api: fakeApi(), staticDir: path.join(dir, 'ui') });
  });
  afterAll(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const auth = () => ({ 'X-Segloop-Token': srv.token, 'Content-Type': 'application/json' });

  it('listens on 127.0.0.1 and refuses any other --host', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(startServer({ api: fakeApi(), host: '0.0.0.0' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('answers a valid call with the envelope', async () => {
    calls.length = 0;
    const r = await request(srv, { method: 'POST', path: '/api/project:info', headers: auth(), body: '{}' });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ ok: true, value: { name: 'p' } });
    expect(calls).toEqual(['project:info']);
  });

  const refusals: [string, () => Parameters<typeof request>[1], number, string][] = [
    ['no token', () => ({ method: 'POST', path: '/api/labels:save', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 401, 'UNAUTHORIZED'],
    ['a wrong token', () => ({ method: 'POST', path: '/api/labels:save', headers: { 'X-Segloop-Token': 'x'.repeat(32), 'Content-Type': 'application/json' }, body: '{}' }), 401, 'UNAUTHORIZED'],
    ['a wrong token in the query', () => ({ method: 'POST', path: '/api/labels:save?token=nope', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 401, 'UNAUTHORIZED'],
    ['a foreign Host (DNS rebinding)', () => ({ method: 'POST', path: '/api/labels:save', headers: { ...auth(), Host: 'evil.example:80' }, body: '{}' }), 403, 'FORBIDDEN'],
    ['a loopback Host on another port', () => ({ method: 'POST', path: '/api/labels:save', headers: { ...auth(), Host: '127.0.0.1:1' }, body: '{}' }), 403, 'FORBIDDEN'],
    ['a foreign Origin', () => ({ method: 'POST', path: '/api/labels:save', headers: { ...auth(), Origin: 'http://evil.example' }, body: '{}' }), 403, 'FORBIDDEN'],
    ['Origin null', () => ({ method: 'POST', path: '/api/labels:save', headers: { ...auth(), Origin: 'null' }, body: '{}' }), 403, 'FORBIDDEN'],
    ['a malformed JSON body', () => ({ method: 'POST', path: '/api/labels:save', headers: auth(), body: '{"imageId":' }), 400, 'VALIDATION_FAILED'],
    ['a payload failing the schema', () => ({ method: 'POST', path: '/api/labels:save', headers: auth(), body: JSON.stringify({ imageId: '1', parentVersionId: null, voxelsGzBase64: '***', secondsSpent: -1 }) }), 400, 'VALIDATION_FAILED'],
    ['an unknown field', () => ({ method: 'POST', path: '/api/labelSchema:get', headers: auth(), body: JSON.stringify({ drop: 'table' }) }), 400, 'VALIDATION_FAILED'],
    ['a form post (not JSON)', () => ({ method: 'POST', path: '/api/labels:save', headers: { 'X-Segloop-Token': srv.token, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1' }), 400, 'VALIDATION_FAILED'],
    ['an unknown operation', () => ({ method: 'POST', path: '/api/fs:delete', headers: auth(), body: '{}' }), 404, 'NOT_FOUND'],
    ['a file id with ../', () => ({ path: '/api/files/image/..%2F..%2Fetc%2Fpasswd', headers: auth() }), 400, 'VALIDATION_FAILED'],
    ['an unregistered file id', () => ({ path: '/api/files/image/2', headers: auth() }), 404, 'IMAGE_NOT_FOUND'],
    ['a file kind that does not exist', () => ({ path: '/api/files/model/1', headers: auth() }), 400, 'VALIDATION_FAILED'],
    ['a static path escaping the UI folder', () => ({ path: '/..%2Fsecret.txt', headers: auth() }), 404, 'NOT_FOUND'],
  ];

  it.each(refusals)('refuses %s with the right status and reaches no handler', async (_name, make, status, code) => {
    calls.length = 0;
    const r = await request(srv, make());
    expect(r.status).toBe(status);
    expect(json(r)).toMatchObject({ ok: false, error: { code } });
    expect(calls.filter((c) => !c.startsWith('file:'))).toEqual([]);
    expect(r.body.toString()).not.toContain('outside the ui folder');
  });

  it('streams a registered .nii.gz as octet-stream without Content-Encoding', async () => {
    const r = await request(srv, { path: '/api/files/image/1', headers: auth() });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(Number(r.headers['content-length'])).toBe(fileBytes.length);
    expect(Buffer.compare(r.body, fileBytes)).toBe(0);
  });

  it('serves the UI with the token in the query once, then by cookie', async () => {
    const first = await request(srv, { path: `/?token=${srv.token}` });
    expect(first.status).toBe(200);
    expect(first.headers['content-security-policy']).toContain("default-src 'self'");
    const cookie = String(first.headers['set-cookie']?.[0] ?? '').split(';')[0];
    expect(cookie).toContain(srv.token);
    const second = await request(srv, { path: '/index.html', headers: { Cookie: cookie } });
    expect(second.status).toBe(200);
    expect((await request(srv, { path: '/index.html' })).status).toBe(401);
  });

  it('pushes job events over the WebSocket, and refuses sockets without token or from a foreign Origin', async () => {
    const refused = (headers: Record<string, string>, q = '') =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws${q}`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    expect(await refused({})).toBe(401);
    expect(await refused({ Origin: 'http://evil.example' }, `?token=${srv.token}`)).toBe(403);

    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?token=${srv.token}`, { headers: { Origin: srv.url } });
    await new Promise((r) => ws.on('open', r));
    const got = new Promise<EventMessage>((resolve) => ws.on('message', (d) => resolve(JSON.parse(String(d)) as EventMessage)));
    const now = new Date().toISOString();
    listener?.({ event: 'jobs:progress', payload: { id: 'j1', kind: 'train', status: 'running', progress: 0.5, message: 'epoch 1', etaSeconds: null, createdAt: now, updatedAt: now, error: null } });
    expect(await got).toMatchObject({ event: 'jobs:progress', payload: { id: 'j1', progress: 0.5 } });
    ws.close();
  });
});
