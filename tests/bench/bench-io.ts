// npm run bench:io — time reading all hippocampus images (full decode, scaled values) with our
// reader and with nibabel in the same run; prints medians and the ratio ours/nibabel (target <= 1).
import { HIPPOCAMPUS } from '../data-root';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../../main/core/imaging/nifti';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = path.join(HIPPOCAMPUS, 'images');
const pyScript = path.resolve(here, '../integration/ref/nifti_bench.py');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const files = readdirSync(dataDir)
  .filter((f) => f.endsWith('.nii.gz'))
  .sort()
  .map((f) => path.join(dataDir, f));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function oursRound(): Promise<{ seconds: number; voxels: number }> {
  const t0 = process.hrtime.bigint();
  let voxels = 0;
  for (const f of files) voxels += (await readNifti(f)).data.length;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, voxels };
}

async function main(): Promise<void> {
  console.log(`bench:io — ${files.length} hippocampus images, ${ROUNDS} rounds each (after one warm-up round)`);
  await oursRound(); // warm-up: page cache, JIT
  const ours: number[] = [];
  let oursVoxels = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const { seconds, voxels } = await oursRound();
    ours.push(seconds);
    oursVoxels = voxels;
  }
  // python times itself inside the script, so interpreter and nibabel import are not counted;
  // its first round is the warm-up, like ours.
  const out = execFileSync('/usr/bin/python3', [pyScript, String(ROUNDS + 1), ...files], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const py = JSON.parse(out) as { rounds_s: number[]; voxels: number };
  const nib = py.rounds_s.slice(1);
  if (py.voxels !== oursVoxels) throw new Error(`voxel counts differ: ours ${oursVoxels}, nibabel ${py.voxels}`);

  const mo = median(ours);
  const mn = median(nib);
  const fmt = (xs: number[]) => xs.map((x) => (x * 1000).toFixed(1)).join(', ');
  console.log(`voxels per round: ${oursVoxels}`);
  console.log(`ours    (readNifti):                  median ${(mo * 1000).toFixed(1)} ms  [${fmt(ours)}]`);
  console.log(`nibabel (np.asanyarray(img.dataobj)): median ${(mn * 1000).toFixed(1)} ms  [${fmt(nib)}]`);
  console.log(`ratio ours/nibabel: ${(mo / mn).toFixed(3)} (target <= 1.0)`);
}

await main();
