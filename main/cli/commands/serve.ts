// `segloop serve <dir>`: the project over HTTP + WebSocket on 127.0.0.1, token-protected, with
// the built user interface. For browsers, thin clients and machines without Electron.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegloopError } from '../../../shared/errors';
import { openProjectApp } from '../../app/project-app';
import { startServer } from '../../server/server';
import { emit, type JsonFlag } from '../output';

export const DEFAULT_UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../out/renderer');

interface ServeOpts extends JsonFlag {
  port: string;
  host: string;
  ui?: string | false;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a project to a browser on this machine (127.0.0.1 only, token-protected)')
    .argument('<dir>', 'project folder')
    .option('--port <n>', 'port (0 = any free port)', '0')
    .option('--host <host>', 'listen address: 127.0.0.1, localhost or ::1 only', '127.0.0.1')
    .option('--ui <dir>', 'folder of the built user interface', DEFAULT_UI_DIR)
    .option('--no-ui', 'serve the API only')
    .option('--json', 'print the address as JSON')
    .action(async (dir: string, opts: ServeOpts) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new SegloopError('INVALID_ARGUMENT', `--port ${opts.port} is not a port number (0-65535).`);
      }
      const uiDir = opts.ui === false ? null : (opts.ui ?? DEFAULT_UI_DIR);
      const app = await openProjectApp(path.resolve(dir), { transport: 'http' });
      let server;
      try {
        server = await startServer({ api: app, host: opts.host, port, staticDir: uiDir && existsSync(path.join(uiDir, 'index.html')) ? uiDir : null });
      } catch (err) {
        app.dispose();
        throw err;
      }
      const uiMissing = uiDir !== null && !existsSync(path.join(uiDir, 'index.html'));
      emit(opts, { ok: true, value: { url: server.openUrl, port: server.port, project: path.resolve(dir), ui: !uiMissing } }, () =>
        [
          `Segloop is serving ${app.store.name} (${path.resolve(dir)})`,
          `Open: ${server.openUrl}`,
          uiMissing ? `(no user interface: ${uiDir} is not built — run \`npm run build:renderer\`)` : 'Only this machine can connect; the token in the URL is required. Ctrl+C stops.',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      app.dispose();
    });
}
