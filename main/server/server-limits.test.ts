/* eslint-disable @typescript-eslint/no-explicit-any -- the test reads untyped JSON envelopes */
// Bounded server resources and served-file integrity (issue 10): per-route body limits (the label
// routes' limit derived from the largest image), 413 before buffering, 429 + Retry-After above the
// heavy-request cap, deep JSON refused unparsed, a measured RSS bound of a real `segloop serve`
// under a burst of huge bodies, and voxel files checked against their sha256 (no symlink, no hard
// link) before a byte is served.
import { spawn } from 'node:child_process';
import { linkSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestProject, ROOT } from '../../tests/e2e/test-project';
import { openProjectApp, type ProjectApp } from '../app/project-app';
import { z } from 'zod';
import { operations } from '../../shared/contract';
import { startServer, VOXEL_OPERATIONS, voxelBodyLimit, type RunningServer } from './server';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request whose body is written by `send` (so it can be held open, or streamed without a length). */
function open(port: number, token: string, p: string, headers: Record<string, string | number>, method = 'POST'): { req: http.ClientRequest; res: Promise<Res> } {
  const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { Host: `127.0.0.1:${port}`, 'X-Segloop-Token': token, 'Content-Type': 'application/json', ...headers } });
  const res = new Promise<Res>((resolve, reject) => {
    req.on('response', (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
  return { req, res };
}

async function post(port: number, token: string, op: string, body: string | Buffer): Promise<Res> {
  const { req, res } = open(port, token, `/api/${op}`, { 'Content-Length': Buffer.byteLength(body) });
  req.end(body);
  return res;
}

const env = (r: Res): { ok: boolean; value: any; error?: { code: string; message: string; details?: any } } => JSON.parse(r.body.toString());

describe('server limits on a real project', () => {
  let dir = '';
  let app: ProjectApp;
  let srv: RunningServer;
  let rows: { imageId: string; shape: number[]; latestLabelVersionId: string | null }[];
  let labelLimit = 0;

  beforeAll(async () => {
    ({ dir } = await makeTestProject({ labelled: 5 }));
    writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside.bin`), 'outside bytes');
    app = await openProjectApp(dir, { transport: 'http', author: 'tester' });
    srv = await startServer({ api: app, maxHeavyRequests: 2, heavyWaitMs: 1500 });
    rows = (await app.handlers['cases:list']({})).rows;
    labelLimit = voxelBodyLimit(Math.max(...rows.map((r) => r.shape[0] * r.shape[1] * r.shape[2])));
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    app?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-outside.bin`, { force: true });
  });

  const saveBody = (row: (typeof rows)[number], voxels: Uint8Array): string =>
    JSON.stringify({ imageId: row.imageId, parentVersionId: row.latestLabelVersionId, voxelsGzBase64: zlib.gzipSync(voxels, { level: 0 }).toString('base64'), secondsSpent: 1, source: 'manual' });

  it('labels:save takes the largest legitimate label (uncompressed gzip) and refuses one byte over its limit before reading', async () => {
    const big = [...rows].sort((a, b) => b.shape.reduce((x, y) => x * y) - a.shape.reduce((x, y) => x * y))[0];
    // gzip level 0 (stored blocks) is the largest encoding a client can produce.
    const body = saveBody(big, new Uint8Array(big.shape.reduce((x, y) => x * y)));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(labelLimit);
    const ok = await post(srv.port, srv.token, 'labels:save', body);
    expect(ok.status, ok.body.toString()).toBe(200);
    big.latestLabelVersionId = env(ok).value.version.id;

    const before = app.store.labelVersions.count();
    // Declared too large: answered without the body ever being sent.
    const { req, res } = open(srv.port, srv.token, '/api/labels:save', { 'Content-Length': labelLimit + 1 });
    req.flushHeaders();
    const r = await res;
    req.destroy();
    expect(r.status).toBe(413);
    expect(env(r).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: labelLimit } });
    expect(app.store.labelVersions.count()).toBe(before);
  });

  it('a streamed body without Content-Length is cut off at the limit; small routes take 1 MiB', async () => {
    const { req, res } = open(srv.port, srv.token, '/api/labels:save', { 'Transfer-Encoding': 'chunked' });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let answered = false;
    void res.then(() => (answered = true), () => (answered = true));
    for (let sent = 0; sent < labelLimit * 4 && !answered; sent += chunk.length) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    const r = await res;
    req.destroy();
    expect(r.status).toBe(413);
    const small = await post(srv.port, srv.token, 'labelSchema:get', Buffer.alloc(1024 * 1024 + 1, 0x20));
    expect(small.status).toBe(413);
    expect(env(small).error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses deeply nested JSON unparsed (400), on every route', async () => {
    const deep = `{"a":${'['.repeat(200)}${']'.repeat(200)}}`;
    for (const op of ['labelSchema:get', 'labels:save']) {
      const r = await post(srv.port, srv.token, op, deep);
      expect(r.status).toBe(400);
      expect(env(r).error).toMatchObject({ code: 'VALIDATION_FAILED', details: { maxDepth: 64 } });
    }
    // Brackets inside strings are data, not nesting.
    const r = await post(srv.port, srv.token, 'labelSchema:get', JSON.stringify({ x: '['.repeat(500) }));
    expect(env(r).error?.code).toBe('VALIDATION_FAILED'); // the schema refuses the unknown field
    expect(env(r).error?.details?.maxDepth).toBeUndefined();
  });

  it('answers 429 with Retry-After when 2 heavy requests run and a slot does not free up within the wait; a waiting one is served once a slot frees', async () => {
    const row = rows[1];
    const body = Buffer.from(saveBody(row, new Uint8Array(row.shape.reduce((x, y) => x * y))));
    const held = [0, 1].map(() => open(srv.port, srv.token, '/api/labels:save', { 'Content-Length': body.length }));
    for (const h of held) h.req.write(body.subarray(0, 100));
    // Let both reach the server before the third arrives.
    await new Promise((r) => setTimeout(r, 300));
    const third = await post(srv.port, srv.token, 'labels:save', body);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(env(third).error?.code).toBe('TOO_MANY_REQUESTS');
    // Light requests are never capped.
    expect((await post(srv.port, srv.token, 'labelSchema:get', '{}')).status).toBe(200);
    // A heavy request that arrives while both slots are busy waits (body unread) for one to free up.
    const waiter = post(srv.port, srv.token, 'labels:save', body);
    await new Promise((r) => setTimeout(r, 200));
    for (const h of held) h.req.end(body.subarray(100));
    const done = await Promise.all(held.map((h) => h.res));
    // Served, not capped: a conflict, since one of the held saves took the same parent first.
    expect((await waiter).status).toBe(409);
    // Same parent twice: one is saved, the other is a LABEL_CONFLICT (nothing lost, nothing capped).
    expect(done.map((d) => d.status).sort()).toEqual([200, 409]);
    const after = await post(srv.port, srv.token, 'labelSchema:get', '{}');
    expect(after.status).toBe(200);
  });

  it('serves a voxel file only with the recorded bytes: tampered → CHECKSUM_MISMATCH, hard link / symlink → refused', async () => {
    const get = async (kind: string, id: string): Promise<Res> => {
      const { req, res } = open(srv.port, srv.token, `/api/files/${kind}/${id}`, {}, 'GET');
      req.end();
      return res;
    };
    const img = app.store.images.require(Number(rows[2].imageId));
    const abs = path.join(dir, img.path);
    const good = readFileSync(abs);
    const first = await get('image', String(img.id));
    expect(first.status).toBe(200);
    expect(first.body.equals(good)).toBe(true);

    // Same inode, other bytes (one byte flipped).
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    writeFileSync(abs, bad);
    const tampered = await get('image', String(img.id));
    expect(tampered.status).toBe(422);
    expect(env(tampered).error).toMatchObject({ code: 'CHECKSUM_MISMATCH', details: { path: img.path, expected: img.sha256 } });
    writeFileSync(abs, good);
    expect((await get('image', String(img.id))).status).toBe(200);

    // A hard link: even with the right bytes, a second name (maybe outside the project) shares them.
    const outside = `${dir}-outside.bin`;
    writeFileSync(outside, good);
    renameSync(abs, `${abs}.orig`);
    linkSync(outside, abs);
    const linked = await get('image', String(img.id));
    expect(linked.status).toBe(403);
    expect(env(linked).error).toMatchObject({ code: 'PATH_OUTSIDE_PROJECT', details: { reason: 'hardlink' } });
    rmSync(abs);
    // A symlink (here to a file inside the project with the right bytes): never stored by us, refused.
    symlinkSync(`${abs}.orig`, abs);
    const sym = await get('image', String(img.id));
    expect(sym.status).toBe(403);
    expect(env(sym).error).toMatchObject({ code: 'PATH_OUTSIDE_PROJECT', details: { reason: 'symlink' } });
    rmSync(abs);
    renameSync(`${abs}.orig`, abs);
    expect((await get('image', String(img.id))).status).toBe(200);
  });
});

/** Peak and current RSS of a process, in MiB, from /proc (Linux). */
function rssOf(pid: number): { hwm: number; rss: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

describe.skipIf(process.platform !== 'linux')('RSS of a real `segloop serve` under a burst of huge bodies', () => {
  it('8 parallel 95 MB bodies (declared and streamed) plus 8 parallel full-size saves keep the peak RSS bounded', async () => {
    const { dir } = await makeTestProject({ labelled: 5 });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/segloop.mjs'), 'serve', dir, '--no-ui', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      let out = '';
      const openUrl = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url"\s*:\s*"([^"]+)"/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on('exit', (c) => reject(new Error(`serve exited ${c}`)));
      });
      const u = new URL(openUrl);
      const port = Number(u.port);
      const token = u.searchParams.get('token') ?? '';
      const rows = (env(await post(port, token, 'cases:list', '{}')).value.rows as { imageId: string; shape: number[]; latestLabelVersionId: string | null }[]);
      const fullSave = (row: (typeof rows)[number]): string =>
        JSON.stringify({ imageId: row.imageId, parentVersionId: row.latestLabelVersionId, voxelsGzBase64: zlib.gzipSync(new Uint8Array(row.shape.reduce((x, y) => x * y)), { level: 0 }).toString('base64'), secondsSpent: 1, source: 'manual' });
      // Warm up (code paths compiled, caches filled) so the baseline is the working set, not start-up.
      for (const row of rows.slice(0, 3)) expect((await post(port, token, 'labels:save', fullSave(row))).status).toBe(200);
      const base = rssOf(child.pid as number);

      const HUGE = 95 * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      const huge = (declared: boolean): Promise<number> => {
        const { req, res } = open(port, token, '/api/labels:save', declared ? { 'Content-Length': HUGE } : { 'Transfer-Encoding': 'chunked' });
        let answered = false;
        const status = res.then(
          (r) => r.status,
          () => -1,
        );
        void status.then(() => (answered = true));
        void (async () => {
          for (let sent = 0; sent < HUGE && !answered; sent += chunk.length) {
            if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          }
          req.end();
        })().catch(() => undefined);
        return status.finally(() => req.destroy());
      };
      const statuses = await Promise.all([
        ...Array.from({ length: 4 }, () => huge(true)),
        ...Array.from({ length: 4 }, () => huge(false)),
        ...Array.from({ length: 8 }, (_, i) => post(port, token, 'labels:save', fullSave(rows[i % rows.length])).then((r) => r.status)),
      ]);
      const peak = rssOf(child.pid as number);
      // Every huge body refused (413, or 429 when the heavy slots were taken); no 500, no crash.
      expect(statuses.slice(0, 8).every((s) => s === 413 || s === 429), JSON.stringify(statuses)).toBe(true);
      expect(statuses.slice(8).every((s) => [200, 409, 429].includes(s)), JSON.stringify(statuses)).toBe(true);
      const grew = peak.hwm - base.rss;
      console.log(`serve RSS: baseline ${base.rss.toFixed(0)} MiB, peak during burst ${peak.hwm.toFixed(0)} MiB (+${grew.toFixed(0)} MiB) for 8 x 95 MiB bodies + 8 full saves; statuses ${JSON.stringify(statuses)}`);
      // Without limits this burst held ~3.4x each body (8 x 95 MB → gigabytes). Bound: 160 MiB above the working set.
      expect(grew).toBeLessThan(160);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('voxel routes', () => {
  it('every operation whose input can carry a label volume gets the voxel-sized limit (a new one must be listed)', () => {
    const carrying = Object.entries(operations)
      .filter(([, op]) => JSON.stringify(z.toJSONSchema(op.input as z.ZodType, { unrepresentable: 'any', io: 'input' })).includes('voxelsGzBase64'))
      .map(([name]) => name)
      .sort();
    expect(carrying.length).toBeGreaterThan(0);
    // A voxel-carrying operation missing here would be capped at 1 MiB and fail on real images.
    expect(carrying.filter((op) => !VOXEL_OPERATIONS.has(op))).toEqual([]);
  });
});
