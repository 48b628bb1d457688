#!/usr/bin/env node
// npm run dist [-- --dir | <electron-builder args>]: packages the built app (run by `npm run dist`
// after `npm run build`). electron-builder needs the Electron binary for the target; it downloads
// it from GitHub unless one is on the machine, and hospital/CI machines here have no such access.
// So this script looks for one first and, where none exists, says exactly what to provide.
// It also keeps the Node-ABI better-sqlite3 binary that tests and the CLI use: electron-builder
// rebuilds native modules for Electron's ABI in place, which would break `npm test` afterwards.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinaryStatus } from './electron-binary.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronVersion = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')).version;
const platform = process.platform === 'win32' ? 'win32' : process.platform;
const arch = process.arch;
const zipName = `electron-v${electronVersion}-${platform}-${arch}.zip`;
// @electron/get's cache folder per OS (electron_config_cache overrides it)
const defaultCache =
  process.platform === 'darwin' ? path.join(os.homedir(), 'Library/Caches/electron') : process.platform === 'win32' ? path.join(os.homedir(), 'AppData/Local/electron/Cache') : path.join(os.homedir(), '.cache/electron');
const cacheDirs = [process.env.electron_config_cache, defaultCache].filter(Boolean);

function findElectron() {
  const status = electronBinaryStatus();
  if (status.present) return { how: status.reason, args: [`-c.electronDist=${status.distDir}`] };
  for (const dir of cacheDirs) {
    if (existsSync(path.join(dir, zipName))) return { how: path.join(dir, zipName), args: [] };
  }
  return null;
}

const found = findElectron();
if (!found) {
  console.error(`npm run dist: no Electron ${electronVersion} binary for ${platform}-${arch} on this machine (${electronBinaryStatus().reason}), and electron-builder would download it from github.com (not reachable here).
Provide one, then run npm run dist again — any of:
  • copy ${zipName} (from https://github.com/electron/electron/releases/tag/v${electronVersion}) into ${cacheDirs[0]}/
  • unpack it somewhere and set ELECTRON_OVERRIDE_DIST_PATH=<that folder>
  • install the electron npm package with its postinstall on a connected machine (node_modules/electron/dist)
The rest of the build (npm run build: main, preload, renderer, licences) has already run into out/.`);
  process.exit(2);
}

const sqlite = path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
const backup = path.join(os.tmpdir(), `segloop-better-sqlite3-node-abi-${process.pid}.node`);
if (existsSync(sqlite)) copyFileSync(sqlite, backup);
const extra = process.argv.slice(2);
console.log(`npm run dist: Electron ${electronVersion} from ${found.how}`);
const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/electron-builder/cli.js'), '--config', 'electron-builder.yml', ...found.args, ...extra], { cwd: ROOT, stdio: 'inherit' });
if (existsSync(backup)) copyFileSync(backup, sqlite); // back to Node's ABI for tests and the CLI
const release = path.join(ROOT, 'release');
if (existsSync(release)) {
  for (const f of readdirSync(release)) {
    const p = path.join(release, f);
    const st = statSync(p);
    if (st.isFile()) console.log(`  ${f}  ${(st.size / 2 ** 20).toFixed(1)} MiB`);
  }
}
process.exit(r.status ?? 1);
