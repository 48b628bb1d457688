// The post-processing built on connected components (whose labelling itself is tested in
// main/core/imaging/connected-components.test.ts), against scipy.ndimage.label on a real
// hippocampus label with seeded speckle noise added (so there are many components).
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../main/core/imaging/nifti';
import { createRng } from '../../main/core/ml/data/prng';
import { parsePostprocess, postprocessLabels } from '../../main/core/ml/postprocess';

const PY = '/usr/bin/python3';
const REF = path.resolve('tests/integration/ref/predict_connected_components.py');
const LABEL = path.resolve('resources/demo/labels/hippocampus_014.nii.gz');
const hasPython = existsSync(PY);

let dir: string;
let noisy: Uint8Array;
let shape: [number, number, number];
let maskFile: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-cc-'));
  const lab = await readNifti(LABEL);
  shape = [...lab.shape];
  const rng = createRng(99);
  noisy = Uint8Array.from(lab.data, (v) => (rng.chance(0.03) ? 1 + rng.int(2) : v));
  // class-1 mask of the noisy map, as the post-processing sees it
  maskFile = path.join(dir, 'mask.nii.gz');
  await writeNifti(maskFile, { data: Uint8Array.from(noisy, (v) => (v === 1 ? 1 : 0)), shape, affine: lab.affine }, { dtype: 'uint8' });
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPython)('post-processing vs scipy.ndimage.label (python3 with scipy required)', () => {
  it('largest-component and minimum-size filters keep exactly what scipy says they should', async () => {
    const outFile = path.join(dir, 'cc26b.nii.gz');
    const ref = JSON.parse(execFileSync(PY, [REF, maskFile, outFile, '26']).toString()) as { count: number; sizes: number[] };
    const refLabels = (await readNifti(outFile)).data;
    const largest = ref.sizes.indexOf(Math.max(...ref.sizes)) + 1;
    const lcc = postprocessLabels(noisy, shape, 3, { largestComponent: [1], connectivity: 26 }).labels;
    const min = postprocessLabels(noisy, shape, 3, { minComponentVoxels: { 1: 5 }, connectivity: 26 }).labels;
    for (let v = 0; v < noisy.length; v++) {
      if (noisy[v] !== 1) {
        // other classes untouched
        expect(lcc[v]).toBe(noisy[v]);
        expect(min[v]).toBe(noisy[v]);
        continue;
      }
      expect(lcc[v]).toBe(refLabels[v] === largest ? 1 : 0);
      expect(min[v]).toBe(ref.sizes[refLabels[v] - 1] >= 5 ? 1 : 0);
    }
  });
});

describe('post-processing options', () => {
  it('parses the CLI form and rejects unknown parts', () => {
    expect(parsePostprocess('none')).toBeNull();
    expect(parsePostprocess('lcc,min:20,c6')).toEqual({ largestComponent: true, minComponentVoxels: 20, connectivity: 6 });
    expect(parsePostprocess('lcc,c18')).toEqual({ largestComponent: true, connectivity: 18 });
    expect(() => parsePostprocess('blur')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

});
