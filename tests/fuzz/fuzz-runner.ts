// The fuzz driver: feeds cases to a child process one at a time with a per-case timeout, so a
// hang (timeout) or a crash (the child dies) is recorded and the run goes on in a fresh child.
// Memory is bounded by SEGLOOP_MAX_IMAGE_BYTES in the child; its peak RSS is checked against a
// stated bound. Used by `npm run fuzz` and by the deterministic slice in fuzz.test.ts.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult } from './fuzz-case';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

export interface FuzzOptions {
  cases: number;
  /** stop after this many seconds even if fewer cases ran (0 = no limit) */
  seconds?: number;
  seed?: number;
  /** per-case timeout; a case still running then is a hang */
  timeoutMs?: number;
  /** the reader's image bound inside the child (SEGLOOP_MAX_IMAGE_BYTES) */
  maxImageBytes?: number;
  /** extra environment for the child (the runner's self-test plants a crash and a hang) */
  env?: Record<string, string>;
  onProgress?: (done: number, summary: FuzzSummary) => void;
}

export interface Failure {
  index: number;
  kind: 'untyped' | 'hang' | 'crash';
  seedName?: string;
  mutation?: string;
  reader?: string;
  detail: string;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  ok: number;
  typed: number;
  codes: Record<string, number>;
  untyped: number;
  hangs: number;
  crashes: number;
  failures: Failure[];
  peakRssMiB: number;
  /** the stated bound on the child's peak RSS: 4 x the image bound + 256 MiB of runtime */
  rssBoundMiB: number;
  maxImageMiB: number;
  seconds: number;
  mutations: Record<string, number>;
}

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
}

function startChild(seed: number, maxImageBytes: number, extraEnv: Record<string, string> = {}): Child {
  const proc = fork(path.join(ROOT, 'bin/run-ts.mjs'), [path.join(HERE, 'fuzz-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv, SEGLOOP_FUZZ_SEED: String(seed), SEGLOOP_MAX_IMAGE_BYTES: String(maxImageBytes) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  proc.stderr?.resume();
  const ready = new Promise<void>((resolve, reject) => {
    const onMsg = (m: { ready?: boolean }) => {
      if (m.ready) {
        proc.off('message', onMsg);
        resolve();
      }
    };
    proc.on('message', onMsg);
    proc.once('exit', (code, sig) => reject(new Error(`fuzz child exited before it was ready (code ${code}, signal ${sig})`)));
  });
  return { proc, ready };
}

type Reply = { kind: 'result'; result: CaseResult; maxRssKb: number } | { kind: 'hang' } | { kind: 'crash'; detail: string };

function runOne(child: Child, index: number, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    const { proc } = child;
    const done = (r: Reply) => {
      clearTimeout(timer);
      proc.off('message', onMsg);
      proc.off('exit', onExit);
      resolve(r);
    };
    const onMsg = (m: { result?: CaseResult; maxRssKb?: number }) => {
      if (m.result && m.result.index === index) done({ kind: 'result', result: m.result, maxRssKb: m.maxRssKb ?? 0 });
    };
    const onExit = (code: number | null, sig: string | null) => done({ kind: 'crash', detail: `child died (code ${code}, signal ${sig})` });
    const timer = setTimeout(() => done({ kind: 'hang' }), timeoutMs);
    proc.on('message', onMsg);
    proc.once('exit', onExit);
    proc.send({ index });
  });
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const seed = opts.seed ?? 1;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxImageBytes = opts.maxImageBytes ?? 256 * 1024 * 1024;
  const started = Date.now();
  const s: FuzzSummary = {
    seed,
    cases: 0,
    ok: 0,
    typed: 0,
    codes: {},
    untyped: 0,
    hangs: 0,
    crashes: 0,
    failures: [],
    peakRssMiB: 0,
    rssBoundMiB: Math.round((4 * maxImageBytes) / 2 ** 20 + 256),
    maxImageMiB: Math.round(maxImageBytes / 2 ** 20),
    seconds: 0,
    mutations: {},
  };
  let child = startChild(seed, maxImageBytes, opts.env);
  await child.ready;
  try {
    for (let i = 0; i < opts.cases; i++) {
      if (opts.seconds && (Date.now() - started) / 1000 >= opts.seconds) break;
      const r = await runOne(child, i, timeoutMs);
      s.cases++;
      if (r.kind === 'result') {
        const res = r.result;
        s.peakRssMiB = Math.max(s.peakRssMiB, Math.round(r.maxRssKb / 1024));
        const mk = res.mutation.split(':')[0];
        s.mutations[`${res.reader}/${mk}`] = (s.mutations[`${res.reader}/${mk}`] ?? 0) + 1;
        if (res.outcome === 'ok') s.ok++;
        else if (res.outcome === 'typed') {
          s.typed++;
          s.codes[res.code!] = (s.codes[res.code!] ?? 0) + 1;
        } else {
          s.untyped++;
          s.failures.push({ index: i, kind: 'untyped', seedName: res.seedName, mutation: res.mutation, reader: res.reader, detail: res.stack ?? res.message ?? '' });
        }
      } else {
        if (r.kind === 'hang') s.hangs++;
        else s.crashes++;
        s.failures.push({ index: i, kind: r.kind, detail: r.kind === 'hang' ? `no answer within ${timeoutMs} ms` : r.detail });
        child.proc.kill('SIGKILL');
        child = startChild(seed, maxImageBytes, opts.env);
        await child.ready;
      }
      if (opts.onProgress && s.cases % 500 === 0) opts.onProgress(s.cases, s);
    }
  } finally {
    child.proc.kill('SIGKILL');
  }
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  return s;
}
