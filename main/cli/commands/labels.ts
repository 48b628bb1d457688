// `segloop labels set-classes` / `segloop labels classes`: declare which classes the current label
// of an image actually covers (partially labelled data: a site that only outlined class 1 has
// class 2 voxels drawn as background). Label versions are immutable, so setting the classes saves
// a NEW version pointing at the same content-addressed file (parent = the current version, same
// source, audited); the trainer's adaptive loss then reads labelled_classes of the newest version.
import type { Command } from 'commander';
import { SegloopError } from '../../../shared/errors';
import { ProjectStore, SPLITS, type LabelVersionRow, type MutationOptions, type Split } from '../../core/project';
import { emit } from '../output';
import { parseIdList } from '../../core/base/ids';

export interface LabelledClassesRow {
  imageId: number;
  labelVersionId: number;
  /** null = every class of the schema */
  labelledClasses: number[] | null;
}

/** Foreground classes of the schema (index > 0). */
function foregroundClasses(store: ProjectStore): number[] {
  return store.labelSchema.list().map((c) => c.idx).filter((k) => k > 0).sort((a, b) => a - b);
}

/**
 * Saves, for every image, a new label version equal to its newest one but with `classes` as its
 * labelled classes (null = all). Images whose newest version already says so are left alone.
 */
export function setLabelledClasses(store: ProjectStore, imageIds: readonly number[], classes: readonly number[] | null, opts: MutationOptions = {}): { changed: LabelVersionRow[]; unchanged: number[] } {
  const fg = foregroundClasses(store);
  let wanted: number[] | null = null;
  if (classes !== null) {
    wanted = [...new Set(classes)].sort((a, b) => a - b);
    const bad = wanted.filter((k) => !fg.includes(k));
    if (bad.length) throw new SegloopError('LABEL_OUT_OF_SCHEMA', `Class(es) ${bad.join(', ')} are not foreground classes of the label schema (${fg.join(', ') || 'none'}).`, { bad });
    if (!wanted.length) throw new SegloopError('INVALID_ARGUMENT', 'Give at least one labelled foreground class.');
    if (wanted.length === fg.length) wanted = null; // every class: store as "complete"
  }
  const same = (a: number[] | null, b: number[] | null): boolean => JSON.stringify(a) === JSON.stringify(b);
  return store.database
    .transaction(() => {
      const changed: LabelVersionRow[] = [];
      const unchanged: number[] = [];
      for (const id of new Set(imageIds)) {
        store.images.require(id);
        const lv = store.labelVersions.latestForImage(id);
        if (!lv) throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Image ${id} has no label yet: label or import it before declaring its classes.`, { imageId: id });
        const current = lv.labelledClasses ? [...lv.labelledClasses].sort((a, b) => a - b) : null;
        if (same(current, wanted)) {
          unchanged.push(id);
          continue;
        }
        changed.push(
          store.labelVersions.insertRow(
            { imageId: id, parentId: lv.id, path: lv.path, sha256: lv.sha256, source: lv.source, author: opts.actor ?? lv.author, modelId: lv.modelId, labelledClasses: wanted, voxelsChanged: 0 },
            opts,
          ),
        );
      }
      return { changed, unchanged };
    })
    .immediate();
}

export function labelledClassesOf(store: ProjectStore, imageIds?: readonly number[]): LabelledClassesRow[] {
  const latest = store.labelVersions.latestPerImage();
  const want = imageIds ? new Set(imageIds) : null;
  return latest.filter((lv) => !want || want.has(lv.imageId)).map((lv) => ({ imageId: lv.imageId, labelVersionId: lv.id, labelledClasses: lv.labelledClasses }));
}

function selectImages(store: ProjectStore, f: { images?: string; split?: string; site?: string; all?: boolean }): number[] {
  const given = [f.images !== undefined, f.split !== undefined, f.site !== undefined, Boolean(f.all)].filter(Boolean).length;
  if (given !== 1) throw new SegloopError('INVALID_ARGUMENT', 'Choose the images with exactly one of --images <ids>, --split <split>, --site <name> or --all.');
  if (f.site !== undefined) {
    const ids = store.images.list().filter((i) => i.site === f.site).map((i) => i.id);
    if (!ids.length) throw new SegloopError('IMAGE_NOT_FOUND', `No image of this project has site "${f.site}" (set with \`segloop import --site\`).`);
    return ids;
  }
  if (f.images !== undefined) return parseIdList('images', f.images) ?? [];
  if (f.split !== undefined) {
    if (!(SPLITS as readonly string[]).includes(f.split)) throw new SegloopError('INVALID_ARGUMENT', `--split must be one of ${SPLITS.join(', ')} (got "${f.split}").`);
    return store.images.list({ split: f.split as Split }).map((i) => i.id);
  }
  return store.images.list().map((i) => i.id);
}

function parseClasses(v: string): number[] | null {
  if (v.trim() === 'all') return null;
  const ks = v.split(',').map((s) => Number(s.trim()));
  if (!ks.length || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new SegloopError('INVALID_ARGUMENT', `--classes takes comma-separated foreground class indices or "all", got "${v}".`);
  return ks;
}

export function registerLabels(program: Command): void {
  const labels = program.command('labels').description('label versions: which classes each label covers (partially labelled data)');
  labels
    .command('set-classes <dir>')
    .description('declare the classes the current labels cover (saves a new, audited label version per image; same file)')
    .requiredOption('--classes <list>', 'comma-separated foreground class indices, or "all"')
    .option('--images <ids>', 'comma-separated image ids')
    .option('--split <split>', `every labelled image of this split (${SPLITS.join('|')})`)
    .option('--site <name>', 'every labelled image of this site')
    .option('--all', 'every labelled image')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: { classes: string; images?: string; split?: string; site?: string; all?: boolean; json?: boolean }) => {
      const classes = parseClasses(f.classes);
      const store = await ProjectStore.open(dir);
      try {
        let ids = selectImages(store, f);
        if (f.images === undefined) {
          const labelled = new Set(store.labelVersions.latestPerImage().map((lv) => lv.imageId));
          ids = ids.filter((id) => labelled.has(id));
        }
        const out = setLabelledClasses(store, ids, classes);
        const value = { changed: out.changed.map((lv) => ({ imageId: lv.imageId, labelVersionId: lv.id, parentId: lv.parentId, labelledClasses: lv.labelledClasses })), unchanged: out.unchanged };
        emit(f, value, () => `${out.changed.length} label version(s) saved with classes ${classes ? classes.join(',') : 'all'}; ${out.unchanged.length} already said so`);
      } finally {
        store.close();
      }
    });
  labels
    .command('classes <dir>')
    .description('the classes the newest label of each image covers ("all" unless declared)')
    .option('--images <ids>', 'comma-separated image ids')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, f: { images?: string; json?: boolean }) => {
      const store = await ProjectStore.open(dir, { readOnly: true });
      try {
        const rows = labelledClassesOf(store, parseIdList('images', f.images));
        emit(f, rows, () => rows.map((r) => `image ${r.imageId}  label version ${r.labelVersionId}  classes ${r.labelledClasses ? r.labelledClasses.join(',') : 'all'}`).join('\n') || 'no labelled images');
      } finally {
        store.close();
      }
    });
}
