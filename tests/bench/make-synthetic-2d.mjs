#!/usr/bin/env node
// Writes a synthetic 2D collection (issue 17) for `segloop import`:
//   node tests/bench/make-synthetic-2d.mjs <dir> [count=100] [seed=17] [width=800] [height=540]
// -> <dir>/images/*.nii.gz, <dir>/labels/*.nii.gz, <dir>/label-schema.json (main/core/ml/data/synthetic-2d.ts).
import { register } from 'tsx/esm/api';

register();
const { writeSynthetic2dCollection } = await import(new URL('../../main/core/ml/data/synthetic-2d.ts', import.meta.url).href);
const [dir, count = '100', seed = '17', width = '800', height = '540'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node tests/bench/make-synthetic-2d.mjs <dir> [count] [seed] [width] [height]');
  process.exit(2);
}
const t0 = Date.now();
const out = await writeSynthetic2dCollection(dir, { count: Number(count), seed: Number(seed), width: Number(width), height: Number(height) });
console.log(`wrote ${out.cases.length} frames of ${width}x${height} into ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
