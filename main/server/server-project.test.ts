/* eslint-disable @typescript-eslint/no-explicit-any -- the test reads untyped JSON envelopes */
// The local server on a real project (store + handlers): operations, file streaming, label save,
// and refusals that must leave the database and the project folder exactly as they were.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestProject } from '../../tests/e2e/test-project';
import { openProjectApp, type ProjectApp } from '../app/project-app';
import { startServer, type RunningServer } from './server';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let dir = '';
let app: ProjectApp;
let srv: RunningServer;

function req(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port: srv.port,
        method,
        path: p,
        headers: { Host: `127.0.0.1:${srv.port}`, 'X-Segloop-Token': srv.token, 'Content-Type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    r.on('error', reject);
    if (body !== undefined) r.write(typeof body === 'string' ? body : JSON.stringify(body));
    r.end();
  });
}
const call = async (op: string, input: unknown, headers?: Record<string, string>) => {
  const r = await req('POST', `/api/${op}`, input, headers);
  return { status: r.status, env: JSON.parse(r.body.toString()) as { ok: boolean; value: any; error?: { code: string; message: string } } };
};

/** Everything that a refused request must not change: row counts, audit log, files. */
function snapshot(): string {
  const db = app.store.database;
  const counts = ['images', 'label_versions', 'audit_log', 'patients'].map((t) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => !f.startsWith('project.db')).sort();
  return JSON.stringify({ counts, files });
}

function gzB64(bytes: Uint8Array): string {
  return zlib.gzipSync(bytes).toString('base64');
}

describe('segloop serve on a project', () => {
  beforeAll(async () => {
    ({ dir } = await makeTestProject({ labelled: 2 }));
    writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside.nii.gz`), 'secret');
    app = await openProjectApp(dir, { transport: 'http', author: 'tester' });
    srv = await startServer({ api: app });
  });
  afterAll(async () => {
    await srv?.close();
    app?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-outside.nii.gz`, { force: true });
  });

  it('lists the cases with label status and source', async () => {
    const { status, env } = await call('cases:list', {});
    expect(status).toBe(200);
    expect(env.value.rows).toHaveLength(8);
    expect(env.value.rows[0]).toMatchObject({ patient: 'hippocampus_014', labelStatus: 'labelled', labelSource: 'imported', split: 'pool' });
    expect(env.value.rows[2]).toMatchObject({ labelStatus: 'unlabelled', labelSource: null });
    const next = await call('cases:next', {});
    expect(next.env.value.imageId).toBe(env.value.rows[2].imageId);
  });

  it('streams the stored image bytes unchanged', async () => {
    const meta = (await call('images:get', { imageId: '1' })).env.value;
    const r = await req('GET', '/api/files/image/1');
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBeUndefined();
    const stored = app.store.images.require(1).path;
    expect(Buffer.compare(r.body, readFileSync(path.join(dir, stored)))).toBe(0);
    expect(meta.shape).toEqual(app.store.images.require(1).shape);
  });

  it('saves a new immutable version and counts changed voxels against the parent', async () => {
    const versions = (await call('labels:list', { imageId: '1' })).env.value.versions;
    const parent = versions.at(-1);
    const parentFile = path.join(dir, app.store.labelVersions.require(Number(parent.id)).path);
    const parentBytesBefore = readFileSync(parentFile);
    const [X, Y, Z] = app.store.images.require(1).shape;
    // Parent voxels by nibabel, set 37 background voxels to class 2.
    const py = `import nibabel as nib, numpy as np, sys; d=np.asanyarray(nib.load(sys.argv[1]).dataobj).astype(np.uint8); sys.stdout.buffer.write(d.ravel(order='F').tobytes())`;
    const voxels = new Uint8Array(execFileSync('/usr/bin/python3', ['-c', py, parentFile]));
    expect(voxels.length).toBe(X * Y * Z);
    let n = 0;
    for (let i = 0; i < voxels.length && n < 37; i++) if (voxels[i] === 0) { voxels[i] = 2; n++; }
    const { status, env } = await call('labels:save', { imageId: '1', parentVersionId: parent.id, voxelsGzBase64: gzB64(voxels), secondsSpent: 12.5 });
    expect(status).toBe(200);
    expect(env.value.voxelsChanged).toBe(37);
    expect(env.value.version).toMatchObject({ parentId: parent.id, source: 'manual', author: 'tester', voxelsChanged: 37, secondsSpent: 12.5 });
    // Read back with nibabel: the saved file holds exactly the sent voxels; the parent is untouched.
    const saved = path.join(dir, app.store.labelVersions.require(Number(env.value.version.id)).path);
    const back = new Uint8Array(execFileSync('/usr/bin/python3', ['-c', py, saved]));
    expect(Buffer.compare(Buffer.from(back), Buffer.from(voxels))).toBe(0);
    expect(Buffer.compare(readFileSync(parentFile), parentBytesBefore)).toBe(0);
    // two nibabel runs + a save: well over vitest's 5 s default on a loaded 2-core machine
  }, 60_000);

  const bad: [string, () => Promise<{ status: number; code: string }>][] = [
    ['a wrong token', async () => { const r = await call('labels:save', {}, { 'X-Segloop-Token': 'wrong' }); return { status: r.status, code: r.env.error!.code }; }],
    ['a foreign Host', async () => { const r = await call('labels:save', {}, { Host: 'attacker.example' }); return { status: r.status, code: r.env.error!.code }; }],
    ['a foreign Origin', async () => { const r = await call('labels:save', {}, { Origin: 'https://attacker.example' }); return { status: r.status, code: r.env.error!.code }; }],
    ['malformed JSON', async () => { const r = await call('labels:save', '{"imageId": "1",'); return { status: r.status, code: r.env.error!.code }; }],
    ['label voxels of the wrong size', async () => {
      const r = await call('labels:save', { imageId: '1', parentVersionId: null, voxelsGzBase64: gzB64(new Uint8Array(10)), secondsSpent: 1 });
      return { status: r.status, code: r.env.error!.code };
    }],
    ['label values outside the schema', async () => {
      const [X, Y, Z] = app.store.images.require(3).shape;
      const v = new Uint8Array(X * Y * Z);
      v[5] = 7;
      const r = await call('labels:save', { imageId: '3', parentVersionId: null, voxelsGzBase64: gzB64(v), secondsSpent: 1 });
      return { status: r.status, code: r.env.error!.code };
    }],
    ['a parent version of another image', async () => {
      const [X, Y, Z] = app.store.images.require(3).shape;
      const r = await call('labels:save', { imageId: '3', parentVersionId: '1', voxelsGzBase64: gzB64(new Uint8Array(X * Y * Z)), secondsSpent: 1 });
      return { status: r.status, code: r.env.error!.code };
    }],
    ['base64 that is not gzip', async () => {
      const r = await call('labels:save', { imageId: '3', parentVersionId: null, voxelsGzBase64: Buffer.from('hello').toString('base64'), secondsSpent: 1 });
      return { status: r.status, code: r.env.error!.code };
    }],
    ['a file path ../ outside the project', async () => {
      const r = await req('GET', `/api/files/image/${encodeURIComponent(`../${path.basename(dir)}-outside.nii.gz`)}`);
      return { status: r.status, code: JSON.parse(r.body.toString()).error.code };
    }],
    ['an unknown image id', async () => {
      const r = await req('GET', '/api/files/image/999');
      return { status: r.status, code: JSON.parse(r.body.toString()).error.code };
    }],
  ];

  it.each(bad)('refuses %s and changes nothing', async (_name, run) => {
    const before = snapshot();
    const out = await run();
    expect(out.status).toBeGreaterThanOrEqual(400);
    expect(out.code).toMatch(/^[A-Z_]+$/);
    expect(snapshot()).toBe(before);
  });

  it('refuses to stream a registered path that points outside the project', async () => {
    // A row whose path escapes the folder (a tampered database) must not be served.
    const db = app.store.database;
    const row = db.prepare('SELECT * FROM images WHERE id = 1').get() as Record<string, unknown>;
    const info = db
      .prepare('INSERT INTO images (patient_id, path, sha256, shape, spacing, affine, dtype, modality, site, split, source_name, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)')
      .run(row.patient_id, `../${path.basename(dir)}-outside.nii.gz`, 'f'.repeat(64), row.shape, row.spacing, row.affine, row.dtype, row.modality, row.site, row.split, 'x', row.created_at);
    const r = await req('GET', `/api/files/image/${info.lastInsertRowid}`);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).error.code).toBe('PATH_OUTSIDE_PROJECT');
    expect(r.body.toString()).not.toContain('secret');
    db.prepare('DELETE FROM images WHERE id = ?').run(info.lastInsertRowid);
    expect(statSync(`${dir}-outside.nii.gz`).size).toBe(6);
  });
});
