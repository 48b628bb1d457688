// The benchmark's project: a copy of the bundled demo (8 hippocampus cases, 5 with their imported
// label — the training data for strategy c) plus the cases to label, taken from the shared data's
// dev_test split and imported WITHOUT a label. Their reference label stays outside the project,
// in ../shared/data, and is read only to plan strokes (the scripted annotator "knows" the truth)
// and to score the saved result.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDemoProject } from '../../../main/app/demo-project';
import { readNifti } from '../../../main/core/imaging/nifti';
import { ProjectStore } from '../../../main/core/project';
import { HIPPOCAMPUS } from '../../data-root';

export interface BenchCase {
  name: string;
  imageId: string;
  referencePath: string;
}

/** dev_test ids in the order of splits.json (sorted): the first `n` are the benchmark's cases. */
export function benchCaseNames(n: number): string[] {
  const splits = JSON.parse(readFileSync(path.join(HIPPOCAMPUS, 'splits.json'), 'utf8')) as { dev_test: string[] };
  if (n > splits.dev_test.length) throw new Error(`--cases ${n}: the dev_test split has ${splits.dev_test.length} cases`);
  return splits.dev_test.slice(0, n);
}

export async function createBenchProject(dir: string, names: string[]): Promise<BenchCase[]> {
  await createDemoProject(dir);
  const store = await ProjectStore.open(dir);
  try {
    const out: BenchCase[] = [];
    for (const name of names) {
      const src = path.join(HIPPOCAMPUS, 'images', `${name}.nii.gz`);
      const vol = await readNifti(src);
      const { row } = await store.addImageFile({
        sourcePath: src,
        patientExternalId: name,
        shape: vol.shape,
        spacing: vol.spacing,
        affine: vol.affine,
        dtype: vol.diskDtype,
        modality: 'MR',
        split: 'pool',
        sourceName: `${name}.nii.gz`,
      });
      out.push({ name, imageId: String(row.id), referencePath: path.join(HIPPOCAMPUS, 'labels', `${name}.nii.gz`) });
    }
    return out;
  } finally {
    store.close();
  }
}
