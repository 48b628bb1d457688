// `segloop init`, `segloop import`, `segloop info`: create a project, bring studies in, count what is there.
// `segloop quarantine`: what recovery set aside (list, restore one, empty with --yes); nothing is ever
// deleted automatically, so this is where a user decides.
import type { Command } from 'commander';
import path from 'node:path';
import { ProjectStore, SPLITS, type Split } from '../../core/project';
import { importStudy, type ImportReport } from '../../core/project/import/importer';
import { SegloopError } from '../../../shared/errors';
import { emit } from '../output';

async function withStore<T>(dir: string, fn: (store: ProjectStore) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  const store = await ProjectStore.open(dir, options);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function parseSplit(value: string | undefined): Split | undefined {
  if (value === undefined) return undefined;
  if (!(SPLITS as readonly string[]).includes(value)) {
    throw new SegloopError('INVALID_ARGUMENT', `--split must be one of ${SPLITS.join(', ')} (got "${value}")`);
  }
  return value as Split;
}

export function formatImportReport(r: ImportReport): string {
  const lines = r.files
    .filter((f) => f.status === 'failed' || f.status === 'skipped')
    .map((f) => `  ${f.status.toUpperCase().padEnd(8)} ${f.kind.padEnd(12)} ${f.file}\n           ${f.code}: ${f.message}`);
  const notes = r.files.filter((f) => f.note).map((f) => `  NOTE     ${f.kind.padEnd(12)} ${f.file}\n           ${f.note}`);
  return [
    `images added ${r.imagesAdded}, label versions added ${r.labelVersionsAdded}`,
    `files: ${r.counts.imported} imported, ${r.counts.unchanged} already in the project, ${r.counts.failed} failed, ${r.counts.skipped} skipped`,
    `label schema: ${r.schema.map((c) => `${c.index}=${c.name}`).join(', ') || '(none yet)'}`,
    ...(lines.length ? ['problems:', ...lines] : []),
    ...(notes.length ? ['notes:', ...notes] : []),
  ].join('\n');
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

interface QuarantineOpts {
  restore?: string;
  to?: string;
  empty?: boolean;
  batch?: string;
  yes?: boolean;
  json?: boolean;
}

async function quarantineCommand(dir: string, opts: QuarantineOpts): Promise<void> {
  if (opts.restore !== undefined && opts.empty) throw new SegloopError('INVALID_ARGUMENT', 'Give either --restore <id> or --empty, not both.');
  if (opts.to !== undefined && opts.restore === undefined) throw new SegloopError('INVALID_ARGUMENT', '--to goes with --restore <id>.');
  if (opts.batch !== undefined && !opts.empty) throw new SegloopError('INVALID_ARGUMENT', '--batch goes with --empty.');
  if (opts.restore !== undefined) {
    const id = opts.restore;
    const done = await withStore(dir, (store) => store.restoreFromQuarantine(id, opts.to));
    emit(opts, { ok: true, restored: done }, () => `restored ${done.from} (${formatBytes(done.bytes)}) to ${done.to}`);
    return;
  }
  if (opts.empty) {
    // Read first (no lock), so that a refusal can say exactly what would go.
    const listing = await withStore(dir, (store) => store.quarantine(), { readOnly: true });
    const doomed = listing.entries.filter((e) => opts.batch === undefined || e.batch === opts.batch);
    if (!opts.yes) {
      throw new SegloopError(
        'CONFIRMATION_REQUIRED',
        `This would delete ${doomed.length} quarantined file(s), ${formatBytes(doomed.reduce((n, e) => n + e.bytes, 0))}, for good. Look at them first (\`segloop quarantine ${dir}\`), then add --yes.`,
        { files: doomed.length },
      );
    }
    const gone = await withStore(dir, (store) => store.emptyQuarantine(opts.batch));
    emit(opts, { ok: true, ...gone }, () => `deleted ${gone.deleted} quarantined file(s), ${formatBytes(gone.bytes)} (recorded in the audit log)`);
    return;
  }
  // Listing is read-only: it works while `segloop serve` or the app has the project open.
  const listing = await withStore(dir, (store) => store.quarantine(), { readOnly: true });
  emit(opts, listing, () =>
    listing.entries.length === 0
      ? `the quarantine (${listing.dir}) is empty`
      : [
          `${listing.entries.length} file(s) in ${listing.dir}, ${formatBytes(listing.totalBytes)} in all:`,
          ...listing.entries.map((e) => `  ${e.id}  ${formatBytes(e.bytes)}${e.referencedBy ? '  (a row names this path: --restore puts it back)' : ''}`),
          'restore one: segloop quarantine <dir> --restore <id> [--to <file>]; delete: --empty [--batch <date>] --yes',
        ].join('\n'),
  );
}

export function registerProjectCommands(program: Command): void {
  program
    .command('quarantine <dir>')
    .description('list the files recovery set aside in .segloop/quarantine (with sizes); --restore one, or --empty --yes (audited)')
    .option('--restore <id>', 'take one file out: back to its place (if a row names it and it is missing) or to --to')
    .option('--to <file>', 'with --restore: where to put the file (never over an existing one)')
    .option('--empty', 'delete the quarantined files (all, or --batch <date>); needs --yes')
    .option('--batch <date>', 'with --empty: only this batch (its folder name)')
    .option('--yes', 'confirm --empty')
    .option('--json', 'machine-readable output')
    .action(quarantineCommand);

  program
    .command('init <dir>')
    .description('create an empty project folder (project.db + voxel folders)')
    .option('--name <name>', 'project name (default: the folder name)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { name?: string; json?: boolean }) => {
      const store = await ProjectStore.create(dir, { name: opts.name ?? path.basename(path.resolve(dir)) });
      const info = store.info();
      store.close();
      emit(opts, { ok: true, project: info }, () => `created project "${info.name}" in ${info.dir}`);
    });

  program
    .command('import <dir>')
    .description('import images (NIfTI files or DICOM series) and optional labels matched by name')
    .requiredOption('--images <path>', 'folder or file of images')
    .option('--labels <path>', 'folder or file of label volumes named like their images')
    .option('--split <split>', `put the images in a split (${SPLITS.join('|')})`)
    .option('--patient-pattern <regex>', 'regular expression on the file name; its first group is the patient id')
    .option('--schema <file>', 'label schema JSON ({ "labels": [{ "index", "name", "colour" }] }); inferred from the labels if absent')
    .option('--site <name>', 'site or domain of these images')
    .option('--modality <name>', 'modality of NIfTI images (DICOM carries its own)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { images: string; labels?: string; split?: string; patientPattern?: string; schema?: string; site?: string; modality?: string; json?: boolean }) => {
      const report = await withStore(dir, (store) =>
        importStudy(store, {
          images: opts.images,
          labels: opts.labels,
          split: parseSplit(opts.split),
          patientPattern: opts.patientPattern,
          schemaFile: opts.schema,
          site: opts.site,
          modality: opts.modality,
          onProgress: opts.json
            ? undefined
            : (p) => {
                if (p.total >= 20 && p.done % 10 === 0 && p.done > 0) process.stderr.write(`  ${p.done}/${p.total}\n`);
              },
        }),
      );
      emit(opts, report, () => formatImportReport(report));
      if (report.counts.failed > 0) process.exitCode = 3;
    });

  program
    .command('info <dir>')
    .description('counts of patients, images, labelled images, label versions by source, models')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) => {
      // Read-only: no lock, no recovery, so `info` is safe while `segloop serve` writes.
      const info = await withStore(dir, async (store) => store.info(), { readOnly: true });
      emit(opts, info, () =>
        [
          `project        ${info.name} (${info.dir}, schema v${info.schemaVersion})`,
          `patients       ${info.patients}`,
          `images         ${info.images}  (${Object.entries(info.imagesBySplit).map(([k, v]) => `${k} ${v}`).join(', ')})`,
          `labelled       ${info.labelledImages}`,
          `label versions ${info.labelVersions}  (${Object.entries(info.labelVersionsBySource).map(([k, v]) => `${k} ${v}`).join(', ')})`,
          `models         ${info.models}${info.promotedModelVersion !== null ? `  (promoted v${info.promotedModelVersion})` : ''}`,
          `training runs  ${info.trainingRuns}`,
        ].join('\n'),
      );
    });
}
