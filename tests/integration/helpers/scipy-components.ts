// The fixture of the connected-component tests (main/core/imaging/connected-components.test.ts,
// tests/integration/predict-postprocess.test.ts): a real hippocampus label, seeded speckle noise
// on it (so there are many components, some touching only by an edge or a corner), and
// scipy.ndimage.label on a mask as the reference (tests/integration/ref/predict_connected_components.py).
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNifti, writeNifti } from '../../../main/core/imaging/nifti';
import { createRng, type Rng } from '../../../main/core/base/rng';

const PY = '/usr/bin/python3';
const REF = path.resolve(__dirname, '../ref/predict_connected_components.py');
const LABEL = path.resolve(__dirname, '../../../resources/demo/labels/hippocampus_014.nii.gz');
/** Seed of the speckle noise (the tests' expected component counts were seen with it). */
const NOISE_SEED = 99;

/** python3 (with nibabel and scipy) is there to compute the reference. */
export const HAS_PYTHON = existsSync(PY);

export interface ScipyComponents {
  count: number;
  /** Voxels per component, in scipy's id order (id 1 first). */
  sizes: number[];
  /** scipy's component id of every voxel (0 = background), in our voxel order. */
  labels: ArrayLike<number>;
}

export interface ComponentsFixture {
  shape: [number, number, number];
  /** The label map with seeded speckle noise: every voxel value `v` becomes `noise(v, rng)`. */
  speckled(noise: (v: number, rng: Rng) => number): Uint8Array;
  /** scipy.ndimage.label of the non-zero voxels with generate_binary_structure(3, 1 | 2 | 3). */
  scipyLabel(mask: Uint8Array, connectivity: 6 | 18 | 26): Promise<ScipyComponents>;
  dispose(): Promise<void>;
}

export async function openComponentsFixture(): Promise<ComponentsFixture> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-cc-'));
  const lab = await readNifti(LABEL);
  const shape: [number, number, number] = [...lab.shape];
  let n = 0;
  return {
    shape,
    speckled(noise) {
      const rng = createRng(NOISE_SEED);
      return Uint8Array.from(lab.data, (v) => noise(v, rng));
    },
    async scipyLabel(mask, connectivity) {
      const id = n++;
      const maskFile = path.join(dir, `mask-${id}.nii.gz`);
      const outFile = path.join(dir, `cc${connectivity}-${id}.nii.gz`);
      await writeNifti(maskFile, { data: mask, shape, affine: lab.affine }, { dtype: 'uint8' });
      const ref = JSON.parse(execFileSync(PY, [REF, maskFile, outFile, String(connectivity)]).toString()) as { count: number; sizes: number[] };
      return { ...ref, labels: (await readNifti(outFile)).data };
    },
    async dispose() {
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
