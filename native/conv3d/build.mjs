#!/usr/bin/env node
// `npm run build:native`: builds the optional conv3d addon with node-gyp against the Node headers
// the OS ships (/usr/include/node, Debian/Ubuntu `nodejs`/`libnode-dev`) when they exist, so no
// header download is needed; elsewhere node-gyp fetches the headers of the running Node.
// Needs a C++ compiler and a CBLAS (Debian/Ubuntu: `apt-get install libopenblas-dev`; macOS:
// Accelerate, nothing to install). The product works without the addon (see
// main/core/ml/kernels/native-conv3d.ts); a failed build only means the wasm kernels stay.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', `--directory=${here}`];
if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build:native failed: the app keeps using the wasm conv3d kernels (needs g++ and libopenblas-dev).');
  process.exit(r.status ?? 1);
}
console.log(`built ${path.join(here, 'build', 'Release', 'segloop_conv3d.node')}`);
