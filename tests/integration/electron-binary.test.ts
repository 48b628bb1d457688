// The one Electron-binary finder (scripts/electron-binary.mjs) that `npm start`, `npm run dist`,
// `segloop doctor` and the Electron e2e test share: the override folder, and its reasons.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { electronBinaryStatus } from '../../scripts/electron-binary.mjs';

const saved = process.env.ELECTRON_OVERRIDE_DIST_PATH;
const dirs: string[] = [];

afterEach(async () => {
  if (saved === undefined) delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
  else process.env.ELECTRON_OVERRIDE_DIST_PATH = saved;
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-electron-'));
  dirs.push(d);
  return d;
}

describe('electronBinaryStatus', () => {
  it('takes the binary from ELECTRON_OVERRIDE_DIST_PATH, and that folder as electronDist', async () => {
    const d = await tempDir();
    const bin = path.join(d, process.platform === 'win32' ? 'electron.exe' : 'electron');
    await fs.writeFile(bin, '');
    process.env.ELECTRON_OVERRIDE_DIST_PATH = d;
    expect(electronBinaryStatus()).toEqual({ present: true, path: bin, distDir: d, reason: `ELECTRON_OVERRIDE_DIST_PATH=${d}` });
  });

  it('says so when the override folder holds no binary (and does not fall back silently)', async () => {
    const d = await tempDir();
    process.env.ELECTRON_OVERRIDE_DIST_PATH = d;
    const s = electronBinaryStatus();
    expect(s.present).toBe(false);
    expect(s.path).toBeNull();
    expect(s.distDir).toBeNull();
    expect(s.reason).toMatch(/ELECTRON_OVERRIDE_DIST_PATH has no electron binary/);
  });

  it('without an override, reports the installed package: a binary that exists, or why there is none', () => {
    delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const s = electronBinaryStatus();
    if (s.present) {
      expect(existsSync(s.path!)).toBe(true);
      expect(s.path!.startsWith(s.distDir!)).toBe(true);
    } else {
      expect(s.reason).toMatch(/not installed|never downloaded|binary is missing/);
    }
  });
});
