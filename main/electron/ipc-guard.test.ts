import { describe, expect, it } from 'vitest';
import { isTrustedSender } from './ipc-guard';
import { isAppUrl } from './security-policy';

const isApp = (url: string) => isAppUrl(url);
const ev = (id: number, url: string, parent: unknown = null) => ({ sender: { id }, senderFrame: { url, parent } });

describe('IPC sender validation', () => {
  it('answers the top frame of our window on our page', () => {
    expect(isTrustedSender(ev(7, 'app://segloop/index.html#/cases'), 7, isApp)).toBe(true);
  });

  it('refuses another window, a subframe, a foreign page, a missing frame and no window', () => {
    expect(isTrustedSender(ev(8, 'app://segloop/index.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'app://segloop/index.html', {}), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'https://evil.example/'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'file:///home/user/Downloads/evil.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'app://segloop.evil/index.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'app://other/index.html'), 7, isApp)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: null }, 7, isApp)).toBe(false);
    expect(isTrustedSender(ev(7, 'app://segloop/index.html'), null, isApp)).toBe(false);
  });

  it('accepts the dev server origin only in development', () => {
    const dev = (url: string) => isAppUrl(url, 'http://localhost:5173/');
    expect(dev('http://localhost:5173/index.html')).toBe(true);
    expect(dev('http://localhost:5174/index.html')).toBe(false);
    expect(isApp('http://localhost:5173/index.html')).toBe(false);
  });
});
