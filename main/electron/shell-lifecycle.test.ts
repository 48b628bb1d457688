// The IPC layer and the lifecycle on a real project: untrusted frames, unknown operations, junk
// payloads for every operation of the contract, file requests that try to leave the project, and
// the quit sequence (waits for a running call, cancels jobs, releases the project's writer lock).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors';
import { operations } from '../../shared/contract';
import { createRng } from '../core/base/rng';
import { ProjectStore } from '../core/project/project-store';
import { makeTestProject } from '../../tests/e2e/test-project';
import { openProjectApp, type ProjectApp } from '../app/project-app';
import { buildMenuTemplate, createIpcHandlers, prepareQuit, projectFromArgv, type IpcEventLike } from './shell-lifecycle';

const ours: IpcEventLike = { sender: { id: 1 }, senderFrame: { url: 'app://segloop/index.html', parent: null } };
const foreign: IpcEventLike = { sender: { id: 1 }, senderFrame: { url: 'https://evil.example/', parent: null } };
const trusted = (e: IpcEventLike) => e.senderFrame?.url.startsWith('app://segloop/') === true && e.senderFrame.parent === null;

let dir = '';
let app: ProjectApp | null = null;
beforeEach(async () => {
  ({ dir } = await makeTestProject({ labelled: 1 }));
  app = await openProjectApp(dir, { transport: 'ipc', author: 'shell-test' });
});
afterEach(() => {
  app?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function handlers() {
  return createIpcHandlers({ app: () => app, trusted, readFile: async () => new Uint8Array([1, 2, 3]) });
}

type Envelope = { ok: boolean; error?: { code: string } };

/** Values no operation's schema accepts: wrong types, deep nesting, huge strings, prototype tricks. */
function junk(seed: number): unknown[] {
  const rng = createRng(seed);
  let deep: unknown = 0;
  for (let i = 0; i < 2000; i++) deep = [deep];
  const out: unknown[] = [42, -1, NaN, 'x'.repeat(100_000), true, [], [1, 2, 3], deep, JSON.parse('{"__proto__": {"polluted": 1}}')];
  for (let i = 0; i < 20; i++) {
    const o: Record<string, unknown> = {};
    for (const k of ['imageId', 'id', 'jobId', 'modelId', 'strategy', 'count', 'labels', 'reason', 'parentVersionId', 'decision', 'budget', 'kind', 'path']) {
      if (rng.chance(0.5)) o[k] = [null, -7, 1e308, 'a/../../etc/passwd', { $gt: 1 }, [[]], '', 'ñ'.repeat(50)][rng.int(8)];
    }
    o[`unknown_${i}`] = rng.next();
    out.push(o);
  }
  return out;
}

describe('IPC layer', () => {
  it('refuses a call from an unexpected frame before doing anything', async () => {
    const h = handlers();
    expect(await h.invoke(foreign, 'project:info', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await h.file(foreign, { kind: 'image', id: '1' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await h.invoke({ sender: { id: 1 }, senderFrame: { url: 'app://segloop/index.html', parent: {} } }, 'project:info', {})).toMatchObject({ ok: false });
    expect(await h.invoke(ours, 'project:info', {})).toMatchObject({ ok: true });
  });

  it('answers an unknown operation with NOT_FOUND, whatever its name', async () => {
    const h = handlers();
    for (const name of ['nope', '__proto__', 'constructor', 'toString', '', 12, null, { name: 'project:info' }, 'project:info '.repeat(1000)]) {
      const r = (await h.invoke(ours, name, {})) as Envelope;
      expect(r.ok, String(name).slice(0, 40)).toBe(false);
      expect(r.error?.code).toBe('NOT_FOUND');
    }
  });

  it('refuses junk for every operation of the contract with a typed error, never a throw, and writes nothing', async () => {
    const h = handlers();
    const names = Object.keys(operations);
    expect(names.length).toBeGreaterThan(20);
    const before = app!.store.info();
    let refused = 0;
    for (const name of names) {
      for (const input of junk(names.indexOf(name) + 1)) {
        const r = (await h.invoke(ours, name, input)) as Envelope;
        if (r.ok) continue; // an input some operation happens to accept (e.g. only unknown keys of a lenient read)
        refused++;
        expect(ERROR_CODES as readonly string[], `${name}: ${r.error?.code}`).toContain(r.error?.code);
      }
    }
    expect(refused).toBeGreaterThan(names.length * 20);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(app!.jobs.list().filter((j) => j.status === 'running' || j.status === 'queued')).toEqual([]);
    expect(app!.store.info()).toEqual(before);
  }, 300_000);

  it('refuses file requests that are not an image/label id of this project', async () => {
    const h = handlers();
    for (const req of [{ kind: 'image', id: '../../etc/passwd' }, { kind: 'label', id: '/etc/passwd' }, { kind: 'image', id: '999999' }, { kind: 'file', path: '/etc/passwd' }, 'x', null]) {
      const r = (await h.file(ours, req)) as Envelope;
      expect(r.ok, JSON.stringify(req)).toBe(false);
      expect(['VALIDATION_FAILED', 'IMAGE_NOT_FOUND', 'LABEL_VERSION_NOT_FOUND', 'NOT_FOUND', 'PATH_OUTSIDE_PROJECT']).toContain(r.error?.code);
    }
    expect(await h.file(ours, { kind: 'image', id: '1' })).toMatchObject({ ok: true });
  });

  it('says PROJECT_NOT_FOUND when no project is open', async () => {
    const h = createIpcHandlers({ app: () => null, trusted, readFile: async () => new Uint8Array() });
    expect(await h.invoke(ours, 'project:info', {})).toMatchObject({ ok: false, error: { code: 'PROJECT_NOT_FOUND' } });
  });
});

describe('quit sequence', () => {
  it('waits for a running call, cancels running and queued jobs, then releases the project', async () => {
    const h = handlers();
    const jobs = app!.jobs;
    let release: () => void = () => {};
    const running = jobs.submit(
      'test-long',
      (ctx) =>
        new Promise<void>((resolve, reject) => {
          release = resolve;
          ctx.signal.addEventListener('abort', () => setTimeout(() => reject(new Error('cancelled')), 50));
        }),
      { exclusive: true },
    );
    const queued = jobs.submit('test-queued', async () => undefined, { exclusive: true });
    running.result.catch(() => undefined);
    queued.result.catch(() => undefined);
    const call = h.invoke(ours, 'cases:list', {});
    expect(h.inFlight).toBe(1);
    const current = app!;
    const report = await prepareQuit({ drain: h.drain, jobs, dispose: () => current.dispose(), trainingStopTimeoutMs: 10_000 });
    app = null;
    release();
    expect(((await call) as Envelope).ok).toBe(true);
    expect(h.inFlight).toBe(0);
    expect(report.stoppedJobs.sort()).toEqual([running.id, queued.id].sort());
    expect(report.timedOut).toEqual([]);
    expect(jobs.get(running.id).status).toBe('cancelled');
    // the writer lock is released: another writer can open the project now
    const again = await ProjectStore.open(dir);
    again.close();
  });
});

describe('launch arguments and menu', () => {
  it('reads --project from a command line (second instance) relative to its cwd', () => {
    expect(projectFromArgv(['/opt/segloop', '--project', 'p1'], '/home/u')).toBe(path.resolve('/home/u', 'p1'));
    expect(projectFromArgv(['/opt/segloop', '--project=/data/p2'], '/x')).toBe('/data/p2');
    expect(projectFromArgv(['/opt/segloop', '--project', '--other'], '/x')).toBeNull();
    expect(projectFromArgv(['/opt/segloop'], '/x')).toBeNull();
  });

  it('has open/new/recent/reveal/quit, and reload/devtools only in development', () => {
    const calls: string[] = [];
    const actions = {
      openProject: () => calls.push('open'),
      createProject: () => calls.push('create'),
      openRecent: (d: string) => calls.push(`recent:${d}`),
      revealProject: () => calls.push('reveal'),
      openDocs: () => calls.push('docs'),
      quit: () => calls.push('quit'),
    };
    const packaged = buildMenuTemplate(actions, ['/p/a', '/p/b'], { packaged: true, platform: 'linux' });
    const file = packaged[0].submenu as { id?: string; click?: () => void; submenu?: { label: string; click: () => void }[] }[];
    expect(file.map((i) => i.id).filter(Boolean)).toEqual(['open-project', 'create-project', 'open-recent', 'reveal-project', 'quit']);
    for (const i of file) i.click?.();
    file.find((i) => i.id === 'open-recent')!.submenu![1].click();
    expect(calls).toEqual(['open', 'create', 'reveal', 'quit', 'recent:/p/b']);
    const roles = (t: typeof packaged) => JSON.stringify(t.map((m) => m.submenu));
    expect(roles(packaged)).not.toMatch(/toggleDevTools|"reload"/);
    expect(roles(buildMenuTemplate(actions, [], { packaged: false, platform: 'linux' }))).toMatch(/toggleDevTools/);
  });
});
