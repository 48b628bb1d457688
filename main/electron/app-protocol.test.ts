import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { handleAppRequest, resolveAppRequest } from './app-protocol';
import { CONTENT_SECURITY_POLICY } from './security-policy';

const base = mkdtempSync(path.join(os.tmpdir(), 'segloop-protocol-'));
const renderer = path.join(base, 'renderer');
mkdirSync(path.join(renderer, 'assets'), { recursive: true });
writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>x</title>');
writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
writeFileSync(path.join(renderer, 'assets', 'k.wasm'), Buffer.from([0, 97, 115, 109]));
writeFileSync(path.join(base, 'secret.txt'), 'outside');
symlinkSync(path.join(base, 'secret.txt'), path.join(renderer, 'assets', 'link.txt'));
mkdirSync(path.join(base, 'renderer-evil'));
writeFileSync(path.join(base, 'renderer-evil', 'x.js'), 'evil');

describe('app:// protocol handler (confined to the renderer bundle)', () => {
  it('serves files of the bundle with their type, the CSP and nosniff', async () => {
    const r = await handleAppRequest({ url: 'app://segloop/assets/app.js', method: 'GET' }, renderer);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/javascript/);
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toBe('console.log(1)');
    const w = await handleAppRequest({ url: 'app://segloop/assets/k.wasm' }, renderer);
    expect(w.headers.get('content-type')).toBe('application/wasm');
    const root = await handleAppRequest({ url: 'app://segloop/' }, renderer);
    expect(await root.text()).toContain('<title>x</title>');
  });

  it.each([
    ['app://segloop/../secret.txt', [403, 404]],
    ['app://segloop/assets/..%2f..%2fsecret.txt', [400]],
    ['app://segloop/%2e%2e/secret.txt', [403, 404]],
    ['app://segloop/assets/%5c..%5csecret.txt', [400]],
    ['app://segloop/assets/link.txt', [403]],
    ['app://segloop/../renderer-evil/x.js', [403, 404]],
    ['app://other/index.html', [403]],
    ['file:///etc/passwd', [403]],
    ['app://segloop/assets/missing.js', [404]],
    ['app://segloop/assets', [404]],
    ['app://segloop/%E0%A4%A', [400]],
    ['app://segloop/index.html%00.js', [400]],
  ])('refuses %s', async (url, statuses) => {
    const r = await resolveAppRequest(url, renderer);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(statuses).toContain(r.status);
    const res = await handleAppRequest({ url }, renderer);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await res.text()).not.toContain('outside');
  });

  it('answers only GET and HEAD', async () => {
    expect((await handleAppRequest({ url: 'app://segloop/index.html', method: 'POST' }, renderer)).status).toBe(405);
  });
});
