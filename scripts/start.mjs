#!/usr/bin/env node
// `npm start`: the desktop app where an Electron binary exists; otherwise the same app in the
// browser, served by `segloop serve` on the demo project ($SEGLOOP_HOME/demo, else ~/.segloop/demo).
// The Electron check never calls require('electron'), which would try to download the binary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function electronBinary() {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const bin = path.join(override, process.platform === 'win32' ? 'electron.exe' : 'electron');
    return existsSync(bin) ? { bin } : { why: `ELECTRON_OVERRIDE_DIST_PATH has no electron binary (${bin})` };
  }
  const pkg = path.join(root, 'node_modules/electron');
  if (!existsSync(pkg)) return { why: 'the electron npm package is not installed' };
  const pathTxt = path.join(pkg, 'path.txt');
  if (!existsSync(pathTxt)) return { why: 'its binary was never downloaded (this machine cannot reach the Electron release server)' };
  const bin = path.join(pkg, 'dist', readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? { bin } : { why: `its binary is missing (${bin})` };
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const electron = electronBinary();
if (electron.bin && !process.env.SEGLOOP_NO_ELECTRON) {
  // Builds main, preload and renderer, then starts Electron on them.
  const child = spawn(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'preview', '--', ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.bin ? 'SEGLOOP_NO_ELECTRON is set' : `Electron did not start: ${electron.why}`;
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
