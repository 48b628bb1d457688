import { describe, expect, it } from 'vitest';
import { appUrlChecker, isTrustedSender } from './ipc-guard';

const isApp = appUrlChecker('file:///opt/segloop/out/renderer', undefined);
const ev = (id: number, url: string, parent: unknown = null) => ({ sender: { id }, senderFrame: { url, parent } });

describe('IPC sender validation', () => {
  it('answers the top frame of our window on our page', () => {
    expect(isTrustedSender(ev(7, 'file:///opt/segloop/out/renderer/index.html#/cases'), 7, isApp)).toBe(true);
  });

  it('refuses another window, a subframe, a foreign page, a missing frame and no window', () => {
    expect(isTrustedSender(ev(8, 'file:///opt/segloop/out/renderer/index.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///opt/segloop/out/renderer/index.html', {}), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'https://evil.example/'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///home/user/Downloads/evil.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///opt/segloop/out/renderer-evil/index.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///opt/segloop/out/renderer/../../x.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: null }, 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///opt/segloop/out/renderer/index.html'), null, isApp)).toBe(false);
  });

  it('accepts the dev server origin only in development', () => {
    const dev = appUrlChecker('file:///x/renderer', 'http://localhost:5173/');
    expect(dev('http://localhost:5173/index.html')).toBe(true);
    expect(dev('http://localhost:5174/index.html')).toBe(false);
    expect(isApp('http://localhost:5173/index.html')).toBe(false);
  });
});
