#!/usr/bin/env node
// `npm start`: the desktop app where an Electron binary exists; otherwise the same app in the
// browser, served by `segloop serve` on the demo project ($SEGLOOP_HOME/demo, else ~/.segloop/demo).
// The Electron check never calls require('electron'), which would try to download the binary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { electronBinaryStatus } from './electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const electron = electronBinaryStatus();
if (electron.present && !process.env.SEGLOOP_NO_ELECTRON) {
  // Builds main, preload and renderer, then starts Electron on them.
  const child = spawn(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'preview', '--', ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.present ? 'SEGLOOP_NO_ELECTRON is set' : `Electron did not start: ${electron.reason}`;
  console.log(`${why}. Opening Segloop in your browser instead.`);
  if (!existsSync(path.join(root, 'out/renderer/index.html'))) {
    console.log('Building the user interface (first start only)…');
    run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn']);
  }
  register();
  const { ensureDemoProject } = await import(pathToFileURL(path.join(root, 'main/app/demo-project.ts')).href);
  const dir = args[0] ? path.resolve(args[0]) : await ensureDemoProject();
  process.argv = [process.argv[0], path.join(root, 'bin/segloop.mjs'), 'serve', dir, ...args.slice(1)];
  await import(pathToFileURL(path.join(root, 'main/cli/index.ts')).href);
}
