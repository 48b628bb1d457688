#!/usr/bin/env node
// npm run dist [-- --dir | <electron-builder args>]: packages the built app (run by `npm run dist`
// after `npm run build`). electron-builder needs the Electron binary for the target; it downloads
// it from GitHub unless one is on the machine, and hospital/CI machines here have no such access.
// So this script looks for one first and, where none exists, says exactly what to provide.
// It also keeps the Node-ABI better-sqlite3 binary that tests and the CLI use: electron-builder
// rebuilds native modules for Electron's ABI in place, which would break `npm test` afterwards.
// And it checks and stages the native conv3d addon the package carries (see stageNativeAddon).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinaryStatus } from './electron-binary.mjs';
import { ADDON_BUILD_RELATIVE, builderOs, stageAddon, stageDir } from './native-addon.mjs';

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

// The native conv3d addon: electron-builder.yml ships out/native/<os>-<arch>/ as
// <resources>/native/conv3d/build/Release/. Staged here, for the host platform, only after it is
// checked: built, needing nothing the user's machine lacks (Linux: no libopenblas/libgfortran),
// loading in a clean process and computing a convolution. A wrong or missing addon would not break
// the app (it falls back to the wasm kernels) but would silently ship 3D training ~3x slower, so
// it stops the packaging instead; SEGLOOP_DIST_WITHOUT_NATIVE=1 packages without it on purpose.
function targets(args) {
  const flags = { linux: ['--linux', '-l'], win32: ['--win', '-w', '--windows'], darwin: ['--mac', '-m', '--macos', '-o'] };
  const platforms = Object.keys(flags).filter((p) => flags[p].some((f) => args.includes(f)));
  const archs = ['x64', 'arm64', 'ia32', 'armv7l', 'universal'].filter((a) => args.includes(`--${a}`));
  return (platforms.length ? platforms : [process.platform]).flatMap((p) => (archs.length ? archs : [process.arch]).map((a) => ({ platform: p, arch: a })));
}

function fail(message) {
  console.error(`npm run dist: ${message}\nOr set SEGLOOP_DIST_WITHOUT_NATIVE=1 to package without the addon (3D training then runs on the slower wasm kernels).`);
  process.exit(3);
}

function stageNativeAddon(args) {
  for (const { platform: p, arch: a } of targets(args)) {
    const dir = stageDir(builderOs(p), a);
    const host = p === process.platform && a === process.arch;
    if (process.env.SEGLOOP_DIST_WITHOUT_NATIVE === '1') {
      rmSync(dir, { recursive: true, force: true });
      console.warn(`npm run dist: SEGLOOP_DIST_WITHOUT_NATIVE=1: the ${p}-${a} package ships no native conv3d addon`);
      continue;
    }
    if (!host) {
      // cross-packaging: the addon has to be built on that platform (docs/ml-results.md, "Shipping the native addon")
      if (!existsSync(path.join(dir, 'segloop_conv3d.node'))) fail(`packaging for ${p}-${a} needs the native conv3d addon built on ${p}-${a}: put segloop_conv3d.node (and any DLL it needs) into ${path.relative(ROOT, dir)}/.`);
      console.log(`npm run dist: native conv3d addon for ${p}-${a} taken as provided in ${path.relative(ROOT, dir)}/ (not checked here)`);
      continue;
    }
    try {
      const r = stageAddon(path.join(ROOT, ADDON_BUILD_RELATIVE), dir);
      console.log(`npm run dist: native conv3d addon staged in ${path.relative(ROOT, dir)}/ (${r.files.join(', ')}; ${(r.bytes / 2 ** 20).toFixed(1)} MiB; BLAS: ${r.blas}; loads and computes: ${r.blasInfo})`);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
  }
}

stageNativeAddon(process.argv.slice(2));
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
