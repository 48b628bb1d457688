// `segloop split <dir>`: patient-grouped train/val/test split (frozen once made), `--check` for
// leakage and counts, `--assign-new` for images imported after the split.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { ProjectStore } from '../../core/project';
import { assignNewImages, createSplit, splitStatus, type SplitCounts, type SplitName, type SplitStatus } from '../../core/project/splits';
import { emit } from '../output';

interface SplitFlags {
  test: string;
  val: string;
  seed: string;
  stratify?: string;
  force?: boolean;
  check?: boolean;
  assignNew?: boolean;
  actor?: string;
  json?: boolean;
}

const ORDER: SplitName[] = ['train', 'val', 'test', 'pool', 'none'];

function share(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new SegloopError('INVALID_ARGUMENT', `--${name} must be a share in [0, 1) such as 0.2 (got "${v}").`);
  return n;
}

function countsTable(counts: Record<SplitName, SplitCounts>, bySite: SplitStatus['bySite']): string[] {
  const out = ['  split   patients  images  labelled images'];
  for (const s of ORDER) {
    const c = counts[s];
    if (c.images === 0 && (s === 'none' || s === 'pool')) continue;
    out.push(`  ${s.padEnd(6)}  ${String(c.patients).padStart(8)}  ${String(c.images).padStart(6)}  ${String(c.labelledImages).padStart(15)}`);
  }
  if (bySite.length > 1 || (bySite[0] && bySite[0].site !== '(none)')) {
    out.push('  patients per site: ' + bySite.map((b) => `${b.site} ${ORDER.filter((s) => b.patients[s] > 0).map((s) => `${s} ${b.patients[s]}`).join('/')}`).join('; '));
  }
  return out;
}

export function registerSplit(program: Command): void {
  program
    .command('split <dir>')
    .description('split patients (never single images) into train/val/test; frozen once made; --check reports leakage')
    .option('--test <share>', 'share of labelled patients held out for testing', '0.2')
    .option('--val <share>', 'share of labelled patients for validation', '0.1')
    .option('--seed <n>', 'random seed (same seed, same split)', '1')
    .option('--stratify <key>', 'draw the shares per "site"')
    .option('--force', 're-split a project that already has a split (recorded in the audit log)')
    .option('--check', 'only report the current split and any patient leakage (exit 1 on leakage)')
    .option('--assign-new', 'place images imported after the split: new patients go to train/pool only')
    .option('--actor <name>', 'who is recorded in the audit log (default: the OS user)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, flags: SplitFlags) => {
      if ([flags.check, flags.assignNew, flags.force].filter(Boolean).length > 1) {
        throw new SegloopError('INVALID_ARGUMENT', 'Use one of --check, --assign-new and --force at a time.');
      }
      const store = await ProjectStore.open(dir, { recover: false });
      try {
        if (flags.check) {
          const st = splitStatus(store);
          emit(flags, st, () => [
            `split of ${store.dir}: ${st.frozen ? `frozen${st.created ? ` (${st.created.action} at ${st.created.at} by ${st.created.actor})` : ''}` : 'not created yet'}`,
            ...countsTable(st.counts, st.bySite),
            st.unassignedImages ? `  ${st.unassignedImages} image(s) have no split: run segloop split --assign-new` : '',
            st.leakage.length
              ? `LEAKAGE: ${st.leakage.map((l) => `patient ${l.patient} in ${l.splits.join(' and ')}`).join('; ')}`
              : 'no patient leakage: every patient is in one split',
          ].filter(Boolean).join('\n'));
          if (st.leakage.length) process.exitCode = 1;
          return;
        }
        if (flags.assignNew) {
          const r = assignNewImages(store, { actor: flags.actor });
          emit(flags, r, () => [
            `${r.assigned.length} image(s) placed`,
            ...r.assigned.map((a) => `  image ${a.imageId} (${a.patient}) -> ${a.split} (${a.reason})`),
            ...(r.joinedHeldOut.length ? [`NOTE: ${r.joinedHeldOut.length} image(s) joined val/test because their patient is there already.`] : []),
          ].join('\n'));
          return;
        }
        const seed = Number(flags.seed);
        if (!Number.isInteger(seed)) throw new SegloopError('INVALID_ARGUMENT', `--seed must be an integer (got "${flags.seed}").`);
        if (flags.stratify !== undefined && flags.stratify !== 'site') throw new SegloopError('INVALID_ARGUMENT', `--stratify accepts only "site" (got "${flags.stratify}").`);
        const r = createSplit(store, {
          test: share('test', flags.test),
          val: share('val', flags.val),
          seed,
          stratifyBy: flags.stratify === 'site' ? 'site' : null,
          force: flags.force ?? false,
          actor: flags.actor,
        });
        emit(flags, r, () => [
          `${r.forced ? 'Re-split (forced, audited)' : 'Split created'}: test ${r.test}, val ${r.val} of ${r.eligiblePatients} ${r.eligibility === 'labelled' ? 'labelled ' : ''}patients, seed ${r.seed}${r.stratifyBy ? ', stratified by site' : ''}; ${r.imagesChanged} image(s) moved`,
          ...countsTable(r.counts, r.bySite),
          `  test patients: ${r.patients.test.slice(0, 12).join(', ')}${r.patients.test.length > 12 ? ', …' : ''}`,
          'The split is now frozen: a second `segloop split` refuses unless --force.',
        ].join('\n'));
      } finally {
        store.close();
      }
    });
}
