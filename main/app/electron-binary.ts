// Whether an Electron binary is installed, found without `require('electron')` (which would start
// a download): used by `segloop doctor`, and by the Electron e2e test to skip with its reason.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
