// `segloop doctor`: what this machine offers Segloop — ML backend, SQLite, Electron, reference tools.
import type { Command } from 'commander';
import os from 'node:os';
import Database from 'better-sqlite3';
import { describeBackends, initBackend } from '../../core/ml/backend';
import { electronBinaryStatus } from '../../../scripts/electron-binary.mjs';
import { emit } from '../output';

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
