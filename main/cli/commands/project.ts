// `segloop init`, `segloop import`, `segloop info`: create a project, bring studies in, count what is there.
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

export function registerProjectCommands(program: Command): void {
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
