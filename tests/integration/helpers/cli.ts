// Runs the real `segloop` command (bin/segloop.mjs) in a child process, as a user would.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { DATA_ROOT } from '../../data-root';

export const REPO = path.resolve(__dirname, '../../..');
export const DATA = DATA_ROOT;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: unknown;
}

export function segloop(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin/segloop.mjs'), ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  let json: unknown = null;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = null;
    }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}
