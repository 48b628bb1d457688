// The post-processing built on connected components (whose labelling itself is tested in
// main/core/imaging/connected-components.test.ts), against scipy.ndimage.label on a real
// hippocampus label with seeded speckle noise added (so there are many components).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePostprocess, postprocessLabels } from '../../main/core/ml/postprocess';
import { HAS_PYTHON, openComponentsFixture, type ComponentsFixture } from './helpers/scipy-components';

let fixture: ComponentsFixture;
let noisy: Uint8Array;
let shape: [number, number, number];

beforeAll(async () => {
  fixture = await openComponentsFixture();
  shape = fixture.shape;
  // 3 % of the voxels set to a random foreground class.
  noisy = fixture.speckled((v, rng) => (rng.chance(0.03) ? 1 + rng.int(2) : v));
});

afterAll(async () => {
  await fixture?.dispose();
});

describe.skipIf(!HAS_PYTHON)('post-processing vs scipy.ndimage.label (python3 with scipy required)', () => {
  it('largest-component and minimum-size filters keep exactly what scipy says they should', async () => {
    // the class-1 mask of the noisy map, as the post-processing sees it
    const ref = await fixture.scipyLabel(Uint8Array.from(noisy, (v) => (v === 1 ? 1 : 0)), 26);
    const refLabels = ref.labels;
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
