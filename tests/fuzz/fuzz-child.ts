// Fuzz worker process: receives case indices over IPC, builds each case, runs it, replies with the
// result and its own peak RSS. A hang or a crash here is seen (and survived) by the parent.
import { loadSeeds } from './seeds';
import { makeCase } from './mutate';
import { runCase } from './fuzz-case';

const seeds = loadSeeds();
const runSeed = Number(process.env.SEGLOOP_FUZZ_SEED ?? 1);
// the runner's own test: "crash@3,hang@5" makes case 3 kill this process and case 5 never answer
const selfTest = new Map((process.env.SEGLOOP_FUZZ_SELFTEST ?? '').split(',').filter(Boolean).map((p) => {
  const [what, at] = p.split('@');
  return [Number(at), what] as const;
}));

process.on('message', (msg: { index: number }) => {
  void (async () => {
    const planted = selfTest.get(msg.index);
    if (planted === 'crash') process.exit(70);
    if (planted === 'hang') return;
    const c = makeCase(seeds, msg.index, runSeed);
    const result = await runCase(c);
    process.send?.({ result, maxRssKb: process.resourceUsage().maxRSS });
  })();
});
process.send?.({ ready: true, seeds: seeds.length });
