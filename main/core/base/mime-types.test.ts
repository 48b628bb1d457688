import { describe, expect, it } from 'vitest';
import { contentTypeFor } from './mime-types';

describe('contentTypeFor', () => {
  it('gives browsers the types they insist on for modules, wasm and pages', () => {
    expect(contentTypeFor('/out/renderer/assets/index-abc.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('worker.MJS')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('tfjs-backend-wasm-simd.wasm')).toBe('application/wasm');
    expect(contentTypeFor('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeFor('a/b.css')).toBe('text/css; charset=utf-8');
  });

  it('falls back to application/octet-stream for unknown or missing extensions', () => {
    expect(contentTypeFor('scan.nii.gz')).toBe('application/octet-stream');
    expect(contentTypeFor('LICENSE')).toBe('application/octet-stream');
    expect(contentTypeFor('.html.bak')).toBe('application/octet-stream');
  });
});
