// The simulation's report, from the saved round files alone (so it can be regenerated, and
// written for a partly finished run): summary.json, rounds.csv (one row per seed x strategy x
// round: labelled images, labelled foreground voxels, test Dice per class and mean), a
// learning-curve SVG (mean +- sd over seeds vs labelled images), and paired differences of each
// strategy against improved-random per round with a percentile bootstrap CI that resamples
// seeds and test cases (pairs = same seed, same round, same test case).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../project/files';
import { createRng } from '../ml/data/prng';
import type { RoundRecord } from './simulate';

export interface SummaryRow {
  strategy: string;
  round: number;
  labelled: number;
  seeds: number;
  meanDice: number;
  sdDice: number;
  meanDicePerClass: number[];
  meanForegroundVoxels: number;
}

export interface PairedRow {
  strategy: string;
  round: number;
  seeds: number;
  diff: number;
  ciLow: number;
  ciHigh: number;
}

const avg = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const sd = (xs: readonly number[]): number => {
  if (xs.length < 2) return 0;
  const m = avg(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};
const caseMean = (d: readonly (number | null)[]): number | null => {
  const v = d.filter((x): x is number => x !== null);
  return v.length ? avg(v) : null;
};

export async function readRoundRecords(outDir: string): Promise<RoundRecord[]> {
  const dir = path.join(outDir, 'rounds');
  let names: string[] = [];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: RoundRecord[] = [];
  for (const n of names.sort()) out.push(JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')) as RoundRecord);
  return out;
}

export function summarise(records: readonly RoundRecord[]): SummaryRow[] {
  const groups = new Map<string, RoundRecord[]>();
  for (const r of records) groups.set(`${r.strategy}\u0000${r.round}`, [...(groups.get(`${r.strategy}\u0000${r.round}`) ?? []), r]);
  return [...groups.values()]
    .map((rs) => {
      const K1 = rs[0].meanDicePerClass.length;
      return {
        strategy: rs[0].strategy,
        round: rs[0].round,
        labelled: rs[0].labelledIds.length,
        seeds: rs.length,
        meanDice: avg(rs.map((r) => r.meanDice ?? 0)),
        sdDice: sd(rs.map((r) => r.meanDice ?? 0)),
        meanDicePerClass: Array.from({ length: K1 }, (_, k) => avg(rs.map((r) => r.meanDicePerClass[k] ?? 0))),
        meanForegroundVoxels: avg(rs.map((r) => r.labelledForegroundVoxels)),
      };
    })
    .sort((a, b) => a.strategy.localeCompare(b.strategy) || a.round - b.round);
}

/** Paired difference (strategy - baseline) of per-case mean Dice; bootstrap over seeds x cases. */
export function pairedVsBaseline(records: readonly RoundRecord[], baseline = 'improved-random', iterations = 2000): PairedRow[] {
  const key = (r: RoundRecord): string => `${r.seed}\u0000${r.round}`;
  const base = new Map(records.filter((r) => r.strategy === baseline).map((r) => [key(r), r]));
  const out: PairedRow[] = [];
  const strategies = [...new Set(records.map((r) => r.strategy))].filter((s) => s !== baseline).sort();
  const rounds = [...new Set(records.map((r) => r.round))].sort((a, b) => a - b);
  for (const s of strategies) {
    for (const round of rounds) {
      // diffs[seed] = per test case differences
      const perSeed: number[][] = [];
      for (const r of records.filter((x) => x.strategy === s && x.round === round)) {
        const b = base.get(key(r));
        if (!b) continue;
        const d: number[] = [];
        for (const [id, dice] of Object.entries(r.testDice)) {
          const x = caseMean(dice);
          const y = b.testDice[id] ? caseMean(b.testDice[id]) : null;
          if (x !== null && y !== null) d.push(x - y);
        }
        if (d.length) perSeed.push(d);
      }
      if (!perSeed.length) continue;
      const point = avg(perSeed.map(avg));
      const rng = createRng(round * 131 + s.length * 7);
      const boots: number[] = [];
      for (let it = 0; it < iterations; it++) {
        const seedMeans: number[] = [];
        for (let i = 0; i < perSeed.length; i++) {
          const d = perSeed[rng.int(perSeed.length)];
          let t = 0;
          for (let j = 0; j < d.length; j++) t += d[rng.int(d.length)];
          seedMeans.push(t / d.length);
        }
        boots.push(avg(seedMeans));
      }
      boots.sort((a, b) => a - b);
      out.push({ strategy: s, round, seeds: perSeed.length, diff: point, ciLow: boots[Math.floor(0.025 * iterations)], ciHigh: boots[Math.min(iterations - 1, Math.floor(0.975 * iterations))] });
    }
  }
  return out;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export function learningCurveSvg(rows: readonly SummaryRow[]): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 170, t: 20, b: 50 };
  const xs = rows.map((r) => r.labelled);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const ys = rows.flatMap((r) => [r.meanDice - r.sdDice, r.meanDice + r.sdDice]);
  const y0 = Math.max(0, Math.floor(Math.min(...ys) * 10) / 10);
  const y1 = Math.min(1, Math.ceil(Math.max(...ys) * 10) / 10 || 1);
  const X = (v: number): number => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number): number => H - m.b - ((v - y0) / Math.max(1e-9, y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (const v of [...new Set(xs)].sort((a, b) => a - b)) parts.push(`<text x="${X(v)}" y="${H - m.b + 16}" text-anchor="middle">${v}</text>`);
  for (let v = y0; v <= y1 + 1e-9; v += 0.1) parts.push(`<text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text><line x1="${m.l}" y1="${Y(v)}" x2="${W - m.r}" y2="${Y(v)}" stroke="#eee"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">labelled images</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">test mean foreground Dice (mean ± sd over seeds)</text>`);
  const strategies = [...new Set(rows.map((r) => r.strategy))].sort();
  strategies.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = rows.filter((r) => r.strategy === s).sort((a, b) => a.labelled - b.labelled);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${X(p.labelled).toFixed(1)},${Y(p.meanDice).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      parts.push(`<line x1="${X(p.labelled) + i}" y1="${Y(p.meanDice - p.sdDice)}" x2="${X(p.labelled) + i}" y2="${Y(p.meanDice + p.sdDice)}" stroke="${c}"/><circle cx="${X(p.labelled)}" cy="${Y(p.meanDice)}" r="3" fill="${c}"/>`);
    }
    parts.push(`<rect x="${W - m.r + 12}" y="${m.t + 18 * i}" width="12" height="12" fill="${c}"/><text x="${W - m.r + 30}" y="${m.t + 18 * i + 10}">${s}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function writeSimulationReport(outDir: string): Promise<{ files: string[]; lines: string[]; table: SummaryRow[]; paired: PairedRow[] }> {
  const records = await readRoundRecords(outDir);
  const table = summarise(records);
  const paired = pairedVsBaseline(records);
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const csv = ['seed,strategy,round,labelled_images,labelled_foreground_voxels,mean_dice,' + (records[0]?.meanDicePerClass.map((_, k) => `dice_class_${k + 1}`).join(',') ?? '') + ',train_steps,train_seconds'];
  for (const r of [...records].sort((a, b) => a.strategy.localeCompare(b.strategy) || a.seed - b.seed || a.round - b.round)) {
    csv.push([r.seed, r.strategy, r.round, r.labelledIds.length, r.labelledForegroundVoxels, r.meanDice?.toFixed(4) ?? '', ...r.meanDicePerClass.map((d) => d?.toFixed(4) ?? ''), r.trainSteps, Math.round(r.trainSeconds)].join(','));
  }
  const files = ['summary.json', 'rounds.csv', 'learning-curve.svg'].map((f) => path.join(outDir, f));
  await writeFileAtomic(files[0], enc(`${JSON.stringify({ table, paired, records: records.length }, null, 1)}\n`));
  await writeFileAtomic(files[1], enc(`${csv.join('\n')}\n`));
  if (table.length) await writeFileAtomic(files[2], enc(learningCurveSvg(table)));
  const lines = table.map((t) => `${t.strategy.padEnd(18)} round ${t.round} (${t.labelled} labelled, ${t.seeds} seeds): ${t.meanDice.toFixed(4)} ± ${t.sdDice.toFixed(4)}`);
  for (const p of paired) lines.push(`${p.strategy} - improved-random, round ${p.round}: ${p.diff >= 0 ? '+' : ''}${p.diff.toFixed(4)} [${p.ciLow.toFixed(4)}, ${p.ciHigh.toFixed(4)}]`);
  return { files, lines, table, paired };
}
