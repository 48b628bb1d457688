// Builds a small project from the bundled demo cases with the store API, for the transport and
// end-to-end tests: every image imported, the first `labelled` cases with their imported label.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../../main/core/imaging/nifti';
import { ProjectStore } from '../../main/core/project';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO = path.join(ROOT, 'resources/demo');

export async function makeTestProject(opts: { labelled?: number; dir?: string } = {}): Promise<{ dir: string; names: string[] }> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'segloop-e2e-'));
  const store = await ProjectStore.create(dir, { name: 'E2E hippocampus' }, { actor: 'e2e' });
  try {
    const schema = JSON.parse(readFileSync(path.join(DEMO, 'label-schema.json'), 'utf8')) as { labels: { index: number; name: string; colour: string }[] };
    store.labelSchema.set(schema.labels.map((l) => ({ idx: l.index, name: l.name, colour: l.colour })));
    const names = readdirSync(path.join(DEMO, 'images')).filter((f) => f.endsWith('.nii.gz')).sort();
    for (const [i, name] of names.entries()) {
      const src = path.join(DEMO, 'images', name);
      const vol = await readNifti(src);
      const { row } = await store.addImageFile({
        sourcePath: src,
        patientExternalId: name.replace(/\.nii\.gz$/, ''),
        shape: vol.shape,
        spacing: vol.spacing,
        affine: vol.affine,
        dtype: vol.diskDtype,
        modality: 'MR',
        split: 'pool',
        sourceName: name,
      });
      if (i < (opts.labelled ?? 0)) {
        await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'e2e', bytes: readFileSync(path.join(DEMO, 'labels', name)) });
      }
    }
    return { dir, names };
  } finally {
    store.close();
  }
}
