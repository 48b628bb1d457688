import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_ENTRY } from '../core/worker/worker-host';
import { createUtilityLauncher, type UtilityChild, type UtilityProcessModule } from './utility-launcher';

class FakeChild extends EventEmitter {
  pid = 4242;
  stdout = new PassThrough();
  stderr = new PassThrough();
  posted: unknown[] = [];
  killed = 0;
  postMessage(m: unknown) {
    this.posted.push(m);
  }
  kill() {
    this.killed++;
    return true;
  }
}

function fakeUtility() {
  const forks: { script: string; options: unknown; child: FakeChild }[] = [];
  const mod: UtilityProcessModule = {
    fork(script, _args, options) {
      const child = new FakeChild();
      forks.push({ script, options, child });
      return child as unknown as UtilityChild;
    },
  };
  return { mod, forks };
}

describe('utilityProcess worker launcher', () => {
  it('forks the bundled worker for the default entry and maps the WorkerProcess interface onto it', () => {
    const { mod, forks } = fakeUtility();
    const launch = createUtilityLauncher(mod, { [DEFAULT_WORKER_ENTRY]: '/app/out/main/worker.js' });
    const w = launch(DEFAULT_WORKER_ENTRY);
    expect(forks[0].script).toBe('/app/out/main/worker.js');
    expect(forks[0].options).toMatchObject({ stdio: 'pipe' });
    expect(w.pid).toBe(4242);
    const child = forks[0].child;
    const got: unknown[] = [];
    const logs: string[] = [];
    const exits: [number | null, unknown][] = [];
    w.onMessage((m) => got.push(m));
    w.onStderr((s) => logs.push(s));
    w.onExit((code, sig) => exits.push([code, sig]));
    w.send({ type: 'start', task: 'train', params: {} });
    expect(child.posted).toEqual([{ type: 'start', task: 'train', params: {} }]);
    child.emit('message', { type: 'ready', pid: 4242 });
    child.stderr.write('oops\n');
    child.stdout.write('printed\n');
    expect(got).toEqual([{ type: 'ready', pid: 4242 }]);
    expect(logs.sort()).toEqual(['oops\n', 'printed\n']);
    w.kill('SIGTERM');
    expect(child.killed).toBe(1);
    child.emit('exit', 134);
    expect(exits).toEqual([[134, null]]);
    // after the exit nothing more is sent or killed
    w.send({ type: 'cancel' });
    w.kill();
    expect(child.posted).toHaveLength(1);
    expect(child.killed).toBe(1);
  });

  it('refuses a TypeScript entry that has no bundle instead of forking something that cannot run', () => {
    const { mod, forks } = fakeUtility();
    const launch = createUtilityLauncher(mod, {});
    expect(() => launch('/src/main/core/worker/test-entry.ts')).toThrow(/No bundled worker/);
    expect(forks).toHaveLength(0);
    launch('/app/out/main/other.js');
    expect(forks[0].script).toBe('/app/out/main/other.js');
  });
});
