// npm run bench:preprocess — loading + preprocessing time and peak RSS of a training's images
// for synthetic 2D collections (800 x 540 x 1, pixel sizes 0.05-0.3 mm), three ways in one run:
//   reference  the old trainer path: every case read + preprocessCase one after the other, all kept in memory
//   cold       the pool (worker threads) with an empty cache: preprocess + write .case files
//   warm       the pool with the cache filled: hash the sources, check the cache files
// cold and warm then read every case once through the lazy LRU store (what the first epochs do),
// so their peak RSS includes that. Each phase runs in its own child process (peak RSS is per
// process, worker threads included); rounds alternate ref/cold/warm (ABAB). The spec is what
// `segloop train` would choose: the project's plan (fingerprint -> proposePlan), timed as well.
//
//   BENCH_SIZES=100,400,1600 (default)   BENCH_ROUNDS=2 (1 for sizes >= 1000)   BENCH_DATA=/tmp
//   SEGLOOP_CASE_MEMORY_MB: the LRU budget (default: a fifth of RAM, 256 MB..2 GB)
// Collections are generated once into $BENCH_DATA/segloop-bench-2d-<n> and reused.
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../../main/core/imaging/nifti';
import { planFromCases } from '../../main/core/jobs/train-job';
import { loadTrainingCases } from '../../main/core/ml/data/case-cache-loader';
import { defaultCaseMemoryBudget } from '../../main/core/ml/data/case-cache-store';
import { defaultPoolSize } from '../../main/core/ml/data/preprocess-pool';
import { preprocessCase, type PreprocessSpec } from '../../main/core/ml/data/preprocess';
import type { CaseSource, TrainingCase } from '../../main/core/ml/data/sampler';
import { writeSynthetic2dCollection } from '../../main/core/ml/data/synthetic-2d';
import type { TrainCase } from '../../main/core/ml/trainer';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../..');
const SELF = fileURLToPath(import.meta.url);
const W = 800;
const H = 540;

interface PhaseResult {
  seconds: number;
  touchSeconds: number;
  peakRssMB: number;
  hits: number;
}

const rssMB = (): number => process.resourceUsage().maxRSS / 1024;

async function collection(n: number): Promise<TrainCase[]> {
  const dir = path.join(process.env.BENCH_DATA ?? os.tmpdir(), `segloop-bench-2d-${n}`);
  const done = path.join(dir, 'complete.json');
  if (!existsSync(done)) {
    const t0 = performance.now();
    await fs.rm(dir, { recursive: true, force: true });
    await writeSynthetic2dCollection(dir, { count: n, width: W, height: H, seed: 17 });
    await fs.writeFile(done, JSON.stringify({ n, width: W, height: H, seed: 17 }));
    console.log(`  generated ${n} images into ${dir} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const names = (await fs.readdir(path.join(dir, 'images'))).filter((f) => f.endsWith('.nii.gz')).sort();
  if (names.length !== n) throw new Error(`${dir} holds ${names.length} images, expected ${n}: delete it to regenerate`);
  return names.map((f) => ({
    id: f.replace(/\.nii\.gz$/, ''), patientId: f, imagePath: path.join(dir, 'images', f), labelPath: path.join(dir, 'labels', f), labelledClasses: null, fixedSplit: null,
  }));
}

// ---- child side: one phase, prints one JSON line ----
async function runPhase(phase: string, casesFile: string, specJson: string, cacheDir: string): Promise<void> {
  const cases = JSON.parse(await fs.readFile(casesFile, 'utf8')) as TrainCase[];
  const spec = JSON.parse(specJson) as PreprocessSpec;
  const t0 = performance.now();
  let out: PhaseResult;
  if (phase === 'ref') {
    const kept: TrainingCase[] = [];
    for (const c of cases) {
      const pre = preprocessCase([await readNifti(c.imagePath)], await readNifti(c.labelPath), spec, c.id);
      kept.push({ id: c.id, images: pre.images, label: pre.label! });
    }
    out = { seconds: (performance.now() - t0) / 1000, touchSeconds: 0, peakRssMB: rssMB(), hits: 0 };
    if (kept.length !== cases.length) throw new Error('lost cases');
  } else {
    let hits = 0;
    const loaded = await loadTrainingCases(cases, [], {
      spec, cacheDir, labelled: () => undefined,
      emit: (e) => {
        if (e.type === 'progress') hits = Number(/\((\d+) from the cache\)/.exec(e.message)?.[1] ?? hits);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const src = loaded.trainSource as CaseSource;
    if (Array.isArray(src)) throw new Error('expected the lazy source');
    for (let i = 0; i < src.size; i++) src.get(i);
    out = { seconds, touchSeconds: (performance.now() - t1) / 1000, peakRssMB: rssMB(), hits };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function child(phase: string, casesFile: string, spec: PreprocessSpec, cacheDir: string): PhaseResult {
  const out = execFileSync(process.execPath, [path.join(REPO, 'bin/run-ts.mjs'), SELF, '--phase', phase, casesFile, JSON.stringify(spec), cacheDir], {
    encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as PhaseResult;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '100,400,1600').split(',').map(Number);
  const loads: number[] = [os.loadavg()[0]];
  console.log(`bench:preprocess — synthetic ${W}x${H}x1 collections of ${sizes.join(', ')} images; pool ${defaultPoolSize(1e9)} threads; LRU budget ${Math.round(defaultCaseMemoryBudget() / 2 ** 20)} MB; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
  const rows: string[] = [];
  for (const n of sizes) {
    const cases = await collection(n);
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-bench-pre-'));
    try {
      const casesFile = path.join(work, 'cases.json');
      await fs.writeFile(casesFile, JSON.stringify(cases));
      const tp = performance.now();
      const { plan } = await planFromCases(cases, 2, null);
      const planSeconds = (performance.now() - tp) / 1000;
      const spec: PreprocessSpec = { targetSpacing: plan.targetSpacing, normalisation: plan.normalisation, numClasses: 2 };
      console.log(`\n${n} images: plan target spacing [${plan.targetSpacing.map((v) => v.toFixed(3)).join(', ')}] mm (fingerprint read in ${planSeconds.toFixed(1)} s)`);
      const rounds = Number(process.env.BENCH_ROUNDS ?? (n >= 1000 ? 1 : 2));
      const res: Record<'ref' | 'cold' | 'warm', PhaseResult[]> = { ref: [], cold: [], warm: [] };
      const cacheDir = path.join(work, 'cache');
      for (let r = 0; r < rounds; r++) {
        for (const phase of ['ref', 'cold', 'warm'] as const) {
          if (phase === 'cold') await fs.rm(cacheDir, { recursive: true, force: true });
          const p = child(phase, casesFile, spec, cacheDir);
          res[phase].push(p);
          loads.push(os.loadavg()[0]);
          console.log(`  round ${r + 1} ${phase.padEnd(4)} ${p.seconds.toFixed(1).padStart(7)} s load${phase === 'ref' ? '' : ` + ${p.touchSeconds.toFixed(1)} s reading every case once`}, peak RSS ${p.peakRssMB.toFixed(0)} MB${phase === 'warm' ? `, ${p.hits} cache hits` : ''}  (load avg ${os.loadavg()[0].toFixed(2)})`);
        }
      }
      const cacheMB = Number(execFileSync('du', ['-sm', cacheDir], { encoding: 'utf8' }).split('\t')[0]);
      const m = (k: 'ref' | 'cold' | 'warm', f: (p: PhaseResult) => number): number => median(res[k].map(f));
      const ref = m('ref', (p) => p.seconds);
      const row = `| ${n} | ${planSeconds.toFixed(1)} | ${ref.toFixed(1)} / ${m('ref', (p) => p.peakRssMB).toFixed(0)} | ${m('cold', (p) => p.seconds).toFixed(1)} / ${m('cold', (p) => p.peakRssMB).toFixed(0)} | ${m('warm', (p) => p.seconds).toFixed(1)} / ${m('warm', (p) => p.peakRssMB).toFixed(0)} | ${m('warm', (p) => p.touchSeconds).toFixed(1)} | ${(m('cold', (p) => p.seconds) / ref).toFixed(2)}x | ${(m('warm', (p) => p.seconds) / ref).toFixed(3)}x | ${cacheMB} |`;
      rows.push(row);
      console.log(`  cold/ref ${(m('cold', (p) => p.seconds) / ref).toFixed(2)}x, warm/ref ${(m('warm', (p) => p.seconds) / ref).toFixed(3)}x; cache ${cacheMB} MB on disk`);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
  const maxLoad = Math.max(...loads);
  console.log('\n| images | plan fingerprint s | reference s / peak RSS MB | cold s / MB | warm s / MB | warm: read all once s | cold/ref | warm/ref | cache MB |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\n1-minute load average during the run: ${Math.min(...loads).toFixed(2)}..${maxLoad.toFixed(2)} on ${os.cpus().length} cores${maxLoad > 2 ? ' — ABOVE 2: other work competed for the CPU, ratios are indicative only; re-run in a quiet window' : ''}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--phase') await runPhase(argv[1], argv[2], argv[3], argv[4]);
else await main();
