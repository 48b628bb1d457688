// npm run fuzz -- [--cases N] [--seconds S] [--seed K] [--timeout-ms T] [--replay I] [--json FILE]
// Mutates the real files of ../shared/data and feeds them to the NIfTI and DICOM readers. Prints
// the cases run, the typed error codes seen, crashes, hangs and peak RSS; exits 1 on any defect.
import { writeFileSync } from 'node:fs';
import { makeCase } from './mutate';
import { loadSeeds } from './seeds';
import { runCase } from './fuzz-case';
import { runFuzz } from './fuzz-runner';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`--${name} needs a non-negative number (got ${process.argv[i + 1]})`);
    process.exit(2);
  }
  return v;
}

const seed = arg('seed', 1);
const replay = process.argv.indexOf('--replay');
if (replay >= 0) {
  const index = arg('replay', 0);
  process.env.SEGLOOP_MAX_IMAGE_BYTES ??= String(256 * 1024 * 1024);
  const c = makeCase(loadSeeds(), index, seed);
  console.log(`case ${index}: seed file ${c.seedName}, mutation ${c.mutation}, reader ${c.reader}, ${c.files.map((f) => `${f.name} ${f.bytes.length} B`).join(', ')}`);
  console.log(await runCase(c));
  process.exit(0);
}

const cases = arg('cases', 2000);
const seconds = arg('seconds', 0);
const timeoutMs = arg('timeout-ms', 15_000);
console.log(`fuzzing ${cases} cases (seed ${seed}${seconds ? `, at most ${seconds} s` : ''}, per-case timeout ${timeoutMs} ms)`);
const s = await runFuzz({
  cases,
  seconds,
  seed,
  timeoutMs,
  onProgress: (n, p) => console.log(`  ${n} cases: ${p.ok} read, ${p.typed} typed errors, ${p.untyped} untyped, ${p.hangs} hangs, ${p.crashes} crashes, peak RSS ${p.peakRssMiB} MiB`),
});
console.log(`\n${s.cases} cases in ${s.seconds} s (seed ${s.seed}): ${s.ok} read correctly, ${s.typed} refused with a typed error`);
console.log('typed error codes:', Object.entries(s.codes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '(none)');
console.log('mutations:', Object.entries(s.mutations).sort().map(([k, v]) => `${k} ${v}`).join(', '));
console.log(`untyped errors ${s.untyped}, crashes ${s.crashes}, hangs ${s.hangs}`);
console.log(`peak RSS of the reader process ${s.peakRssMiB} MiB (bound ${s.rssBoundMiB} MiB = 4 x the ${s.maxImageMiB} MiB image limit + 256 MiB)`);
for (const f of s.failures.slice(0, 10)) console.log(`  FAIL case ${f.index} ${f.kind} ${f.seedName ?? ''} ${f.mutation ?? ''}: ${f.detail.split('\n')[0]}  (replay: npm run fuzz -- --seed ${s.seed} --replay ${f.index})`);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt >= 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(s, null, 2));
const bad = s.untyped + s.crashes + s.hangs > 0 || s.peakRssMiB > s.rssBoundMiB;
process.exit(bad ? 1 : 0);
