// Where the Electron binary is, found without `require('electron')` (which would start a download
// from a server this machine and CI cannot reach). The one finder behind `npm start`
// (scripts/start.mjs), `npm run dist` (scripts/dist.mjs), `segloop doctor` and the Electron e2e
// test's skip reason. Plain .mjs because the two scripts run under bare Node, before any
// TypeScript loader; its types are in electron-binary.d.mts.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * @returns {{ present: boolean, path: string | null, distDir: string | null, reason: string }}
 *   `distDir` is the folder electron-builder takes as `electronDist` (the one holding the binary).
 */
export function electronBinaryStatus() {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const bin = path.join(override, process.platform === 'win32' ? 'electron.exe' : 'electron');
    return existsSync(bin)
      ? { present: true, path: bin, distDir: override, reason: `ELECTRON_OVERRIDE_DIST_PATH=${override}` }
      : { present: false, path: null, distDir: null, reason: `ELECTRON_OVERRIDE_DIST_PATH has no electron binary (${bin})` };
  }
  let pkgDir;
  try {
    pkgDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { present: false, path: null, distDir: null, reason: 'the electron npm package is not installed' };
  }
  const pathTxt = path.join(pkgDir, 'path.txt');
  if (!existsSync(pathTxt)) {
    return { present: false, path: null, distDir: null, reason: 'the Electron binary was never downloaded (no network access to its release server)' };
  }
  const distDir = path.join(pkgDir, 'dist');
  const bin = path.join(distDir, readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? { present: true, path: bin, distDir, reason: distDir } : { present: false, path: null, distDir: null, reason: `its binary is missing (${bin})` };
}
