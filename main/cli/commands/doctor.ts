// `segloop doctor`: what this machine offers Segloop — ML backend, SQLite, Electron, reference tools.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeBackends, initBackend } from '../../core/ml/backend';
import { emit } from '../output';

const require = createRequire(import.meta.url);

export interface ElectronBinaryStatus {
  present: boolean;
  path: string | null;
  reason: string;
}

/** Finds the Electron binary without touching `require('electron')`, which would start a download. */
export function electronBinaryStatus(): ElectronBinaryStatus {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { present: false, path: null, reason: 'the electron npm package is not installed' };
  }
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathTxt = path.join(pkgDir, 'path.txt');
  if (override) {
    const bin = path.join(override, process.platform === 'win32' ? 'electron.exe' : 'electron');
    return existsSync(bin)
      ? { present: true, path: bin, reason: 'ELECTRON_OVERRIDE_DIST_PATH' }
      : { present: false, path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH has no electron binary (${bin})` };
  }
  if (!existsSync(pathTxt)) {
    return { present: false, path: null, reason: 'the Electron binary was never downloaded (no network access to its release server)' };
  }
  const bin = path.join(pkgDir, 'dist', readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? { present: true, path: bin, reason: 'downloaded' } : { present: false, path: null, reason: `missing ${bin}` };
}

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('report the ML backend that loads (and why others were skipped), SQLite version, Electron binary')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const backends = await describeBackends();
      const chosen = await initBackend();
      const electron = electronBinaryStatus();
      const report = {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        memoryMB: Math.round(os.totalmem() / 2 ** 20),
        sqlite: sqliteVersion(),
        electron,
        backend: chosen,
        backends,
      };
      emit(opts, report, () =>
        [
          `node       ${report.node} (${report.platform}, ${report.cpus} cores, ${report.memoryMB} MB)`,
          `sqlite     ${report.sqlite}`,
          `electron   ${electron.present ? `present: ${electron.path}` : `absent: ${electron.reason}`}`,
          `ml backend ${chosen.name} (${chosen.threads} thread${chosen.threads === 1 ? '' : 's'}, SIMD ${chosen.simd ? 'yes' : 'no'})`,
          ...chosen.tried.map((t) => `  ${t.ok ? 'ok  ' : 'skip'} ${t.name.padEnd(15)} ${t.reason}`),
          ...(chosen.replacedKernels.length ? [`  our kernels: ${chosen.replacedKernels.join(', ')}`] : []),
          'backends on this machine',
          ...backends.map((b) => `  ${b.available ? 'yes ' : 'no  '} ${b.name.padEnd(15)} ${b.detail}`),
        ].join('\n'),
      );
    });
}
