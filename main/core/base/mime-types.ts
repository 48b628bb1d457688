// The Content-Type of each file the bundled renderer is made of: one table for both ways the UI
// is served (the Electron app:// protocol and the headless HTTP server), so a file type added to
// the build cannot work in one and arrive as application/octet-stream (which browsers refuse to
// run as a module or compile as wasm) in the other.
import path from 'node:path';

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Content-Type for a file name by its extension (any case); unknown types are application/octet-stream. */
export function contentTypeFor(file: string): string {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}
