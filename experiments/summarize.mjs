// Tables for experiments/{dad,partial-labels}.md from the JSON files run-experiments.sh wrote.
//   node experiments/summarize.mjs [results dir]
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const OUT = process.argv[2] ?? '/tmp/segloop-exp/results';
const read = (f) => JSON.parse(readFileSync(path.join(OUT, f), 'utf8'));
const f4 = (v) => (v === null || v === undefined ? '-' : v.toFixed(4));

function arm(name) {
  if (!existsSync(path.join(OUT, `eval-${name}.json`))) return null;
  const t = read(`train-${name}.json`);
  const e = read(`eval-${name}.json`);
  return { name, t, e };
}

function table(names, baseline) {
  const rows = names.map(arm).filter(Boolean);
  if (!rows.length) return '(no results)';
  const classes = Object.keys(rows[0].e.overall.dice);
  const base = rows.find((r) => r.name === baseline);
  const lines = [
    `| arm | images trained (train/val) | steps | train s | ${classes.map((c) => `dev_test Dice ${c}`).join(' | ')} | mean | paired diff vs ${baseline} (95% CI) |`,
    `|---|---|---|---|${classes.map(() => '---').join('|')}|---|---|`,
  ];
  for (const r of rows) {
    let diff = '';
    if (base && r !== base) {
      const b = new Map(base.e.cases.map((c) => [c.id, c.meanDice]));
      const d = r.e.cases.map((c) => c.meanDice - b.get(c.id));
      const m = d.reduce((a, x) => a + x, 0) / d.length;
      const sd = Math.sqrt(d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1));
      const h = (1.96 * sd) / Math.sqrt(d.length);
      diff = `${m >= 0 ? '+' : ''}${m.toFixed(4)} [${(m - h).toFixed(4)}, ${(m + h).toFixed(4)}]`;
    }
    const log = readFileSync(path.join(OUT, `train-${r.name}.log`), 'utf8');
    const m = /data: (\d+) training images .*?, (\d+) validation images/.exec(log);
    lines.push(`| ${r.name} | ${m ? `${m[1]}/${m[2]}` : '?'} | ${r.t.steps} | ${r.t.trainSeconds} | ${classes.map((c) => f4(r.e.overall.dice[c])).join(' | ')} | ${f4(r.e.overall.meanDice)} | ${diff} |`);
  }
  return lines.join('\n');
}

console.log('## DAD\n');
console.log(table(['dad-full', 'dad-full-v2', 'dad-pruned70', 'random70'], 'dad-full-v2'));
if (existsSync(path.join(OUT, 'prune-plan.json'))) {
  const plan = read('prune-plan.json');
  const rnd = existsSync(path.join(OUT, 'prune-random.json')) ? read('prune-random.json') : null;
  const dadSet = new Set(plan.selected.map((s) => s.imageId));
  console.log(`\nDAD ranking of run ${plan.runId}: ${plan.ranked} images ranked, ${plan.unscored.length} never scored; excluded ${plan.selected.length}.`);
  console.log(`DAD of the excluded (lowest) images: ${f4(plan.selected.at(0)?.dad)} .. ${f4(plan.selected.at(-1)?.dad)}`);
  console.log(`moving distance per epoch: ${plan.movingDistance.map((m) => `${m.epoch}: ${m.distance.toFixed(4)}`).join(', ')}`);
  if (rnd) console.log(`random set: ${rnd.added.length} images, overlap with the DAD set: ${rnd.added.filter((id) => dadSet.has(id)).length}`);
}
console.log('\n## Partial labels\n');
console.log(table(['partial-naive', 'partial-adaptive-ld03'], 'partial-naive'));
