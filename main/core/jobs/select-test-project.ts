// For tests of active learning on a real project: the 8 bundled demo cases imported (the first
// `labelled` with their reference label, `test` of the others in the test split), and a tiny
// 2D U-Net really trained a few steps on the labelled ones in the worker process. Its scores are
// those of an undertrained model, which is all a selection test needs: real probability maps.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNifti } from '../imaging/nifti';
import { trainInProject } from './train-job';
import { ProjectStore } from '../project';
import type { ModelRow } from '../project/types';

export const DEMO_DIR = path.resolve(__dirname, '../../../resources/demo');

export const TINY_TRAINING = { model: { depth: 2, baseWidth: 4 }, batchSize: 2, stepsPerEpoch: 2, valFraction: 0, patchSize: [32, 32], seed: 5 };

export interface TinyProject {
  dir: string;
  store: ProjectStore;
  /** Image ids in file-name order. */
  imageIds: number[];
  labelledIds: number[];
  testIds: number[];
  model: ModelRow | null;
}

export async function makeTinyAlProject(opts: { labelled?: number; test?: number; train?: boolean } = {}): Promise<TinyProject> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-al-'));
  const store = await ProjectStore.create(dir, { name: 'al tiny' }, { actor: 'test' });
  const schema = JSON.parse(await fs.readFile(path.join(DEMO_DIR, 'label-schema.json'), 'utf8')) as { labels: { index: number; name: string; colour: string }[] };
  store.labelSchema.set(schema.labels.map((l) => ({ idx: l.index, name: l.name, colour: l.colour })));
  const names = (await fs.readdir(path.join(DEMO_DIR, 'images'))).filter((f) => f.endsWith('.nii.gz')).sort();
  const labelledNames = new Set((await fs.readdir(path.join(DEMO_DIR, 'labels'))).filter((f) => f.endsWith('.nii.gz')));
  const nLabelled = opts.labelled ?? 3;
  const nTest = opts.test ?? 1;
  const imageIds: number[] = [];
  const labelledIds: number[] = [];
  const testIds: number[] = [];
  for (const name of names) {
    const src = path.join(DEMO_DIR, 'images', name);
    const vol = await readNifti(src);
    const label = labelledIds.length < nLabelled && labelledNames.has(name);
    const test = !label && testIds.length < nTest;
    const { row } = await store.addImageFile({
      sourcePath: src,
      patientExternalId: name.replace(/\.nii\.gz$/, ''),
      shape: vol.shape,
      spacing: vol.spacing,
      affine: vol.affine,
      dtype: vol.diskDtype,
      modality: 'MR',
      split: test ? 'test' : 'pool',
      sourceName: name,
    });
    imageIds.push(row.id);
    if (test) testIds.push(row.id);
    if (label) {
      await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'test', bytes: new Uint8Array(await fs.readFile(path.join(DEMO_DIR, 'labels', name))) });
      labelledIds.push(row.id);
    }
  }
  let model: ModelRow | null = null;
  if (opts.train ?? true) {
    const out = await trainInProject(store, { architecture: 'unet2d', epochs: 1, config: TINY_TRAINING, actor: 'test' });
    model = out.model;
  }
  return { dir, store, imageIds, labelledIds, testIds, model };
}

export async function disposeTinyAlProject(p: TinyProject | undefined): Promise<void> {
  if (!p) return;
  try {
    p.store.close();
  } catch {
    /* already closed by the test */
  }
  await fs.rm(p.dir, { recursive: true, force: true });
}
