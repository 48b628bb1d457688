// electron-builder.yml is valid against electron-builder's own configuration schema, sets the
// fuses the shell's security relies on, and every file it names exists after `npm run build`
// (built into a temp folder under out/, so running e2e tests keep their out/renderer).
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from '../e2e/test-project';

const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describe('electron-builder.yml', () => {
  it('is valid against electron-builder’s configuration schema (and the check can fail)', () => {
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(validate({ ...config, asarUnpak: ['x'] })).toBe(false);
    expect(validate({ ...config, electronFuses: { runAsNode: 'no' } })).toBe(false);
  });

  it('flips the fuses: no run-as-node, no NODE_OPTIONS/--inspect, encrypted cookies, asar-only with integrity', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.publish).toBeNull(); // nothing is fetched or uploaded at run time
  });

  it('names only files that exist after `npm run build` (main, preload, worker, renderer, licences, demo, icon, native modules)', async () => {
    // inside the repository (so the bundle resolves node_modules like the real out/ does), beside
    // the out/renderer that running e2e tests serve, never over it
    mkdirSync(path.join(ROOT, 'out'), { recursive: true });
    const out = mkdtempSync(path.join(ROOT, 'out', '.packaging-test-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const env = { ...process.env, SEGLOOP_OUT_DIR: out };
    const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const lic = spawnSync(process.execPath, [path.join(ROOT, 'scripts/third-party-licenses.mjs'), path.join(out, 'licenses')], { cwd: ROOT, encoding: 'utf8' });
    expect(lic.status, lic.stderr).toBe(0);
    const inOut = (p: string) => (p.startsWith('out/') ? path.join(out, p.slice(4)) : path.join(ROOT, p));

    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(existsSync(inOut(pkg.main))).toBe(true);
    // main.ts loads these relative to itself
    expect(existsSync(path.join(out, 'preload/preload.cjs'))).toBe(true);
    expect(existsSync(path.join(out, 'main/worker.js'))).toBe(true);
    const html = readFileSync(path.join(out, 'renderer/index.html'), 'utf8');
    expect(html).toMatch(/http-equiv="Content-Security-Policy"/);
    for (const asset of html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)) expect(existsSync(path.join(out, 'renderer', asset[1])), asset[1]).toBe(true);

    for (const r of config.extraResources as { from: string }[]) expect(existsSync(inOut(r.from)), r.from).toBe(true);
    expect(readdirSync(path.join(out, 'licenses'))).toContain('THIRD_PARTY_LICENSES.txt');
    const licences = JSON.parse(readFileSync(path.join(out, 'licenses/licenses.json'), 'utf8')) as { name: string; hasText: boolean }[];
    for (const dep of Object.keys(pkg.dependencies)) expect(licences.map((l) => l.name), dep).toContain(dep);
    expect(licences.filter((l) => !l.hasText)).toEqual([]);
    expect(readFileSync(path.join(out, 'licenses/THIRD_PARTY_LICENSES.txt'), 'utf8')).toContain('CC BY-SA 4.0');

    const dirs = config.directories as { buildResources: string };
    expect(existsSync(path.join(ROOT, dirs.buildResources))).toBe(true);
    expect(existsSync(path.join(ROOT, (config.linux as { icon: string }).icon))).toBe(true);
    expect(existsSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    expect(readdirSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')).some((f) => f.endsWith('.wasm'))).toBe(true);

    // The bundled worker (what the app's utilityProcess runs) loads every import without tsx and
    // answers the worker protocol: started with an unknown task it names the tasks it has.
    const reply = await new Promise<unknown[]>((resolve, reject) => {
      const child = fork(path.join(out, 'main/worker.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      const msgs: unknown[] = [];
      let err = '';
      child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      child.on('message', (m) => {
        msgs.push(m);
        if ((m as { type: string }).type === 'error') {
          child.kill();
          resolve(msgs);
        }
      });
      child.on('exit', (code) => (msgs.some((m) => (m as { type: string }).type === 'error') ? undefined : reject(new Error(`worker exited ${code}: ${err}`))));
      child.send({ type: 'start', task: 'no-such-task', params: {} });
    });
    expect(reply.at(-1)).toMatchObject({ type: 'error', error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/train, predict, al-score/) } });
  }, 600_000);
});
