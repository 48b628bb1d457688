// Connected components against scipy.ndimage.label with generate_binary_structure(3, 1/2/3), on a
// real hippocampus label with seeded speckle noise added (so there are many components, some
// touching only by an edge or a corner — where 6-, 18- and 26-connectivity differ).
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../base/rng';
import { readNifti, writeNifti } from './nifti';
import { connectedComponents } from './connected-components';

const PY = '/usr/bin/python3';
const REF = path.resolve('tests/integration/ref/predict_connected_components.py');
const LABEL = path.resolve('resources/demo/labels/hippocampus_014.nii.gz');
const hasPython = existsSync(PY);

let dir: string;
let mask: Uint8Array;
let shape: [number, number, number];
let maskFile: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-cc-'));
  const lab = await readNifti(LABEL);
  shape = [...lab.shape];
  const rng = createRng(99);
  mask = Uint8Array.from(lab.data, (v) => (rng.chance(0.04) ? 1 : v === 1 ? 1 : 0));
  maskFile = path.join(dir, 'mask.nii.gz');
  await writeNifti(maskFile, { data: mask, shape, affine: lab.affine }, { dtype: 'uint8' });
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPython)('connected components vs scipy.ndimage.label (python3 with scipy required)', () => {
  const counts: Record<number, number> = {};
  for (const conn of [6, 18, 26] as const) {
    it(`${conn}-connectivity: same partition of the voxels as scipy`, async () => {
      const outFile = path.join(dir, `cc${conn}.nii.gz`);
      const ref = JSON.parse(execFileSync(PY, [REF, maskFile, outFile, String(conn)]).toString()) as { count: number; sizes: number[] };
      const refLabels = (await readNifti(outFile)).data;
      const ours = connectedComponents(mask, shape, conn);
      expect(ours.count).toBe(ref.count);
      expect(ref.count).toBeGreaterThan(20); // the noise made it a real test
      const bySize = (a: number, b: number) => a - b;
      expect(ours.sizes.slice(1).sort(bySize)).toEqual([...ref.sizes].sort(bySize));
      // scipy scans the nibabel array z fastest, we scan x fastest, so the ids differ: check for a
      // bijection between our ids and scipy's, voxel by voxel
      const map = new Map<number, number>();
      const back = new Map<number, number>();
      let mismatches = 0;
      for (let v = 0; v < mask.length; v++) {
        const a = ours.labels[v];
        const b = refLabels[v];
        if ((a === 0) !== (b === 0)) mismatches++;
        if (a === 0 || b === 0) continue;
        if (!map.has(a)) map.set(a, b);
        if (!back.has(b)) back.set(b, a);
        if (map.get(a) !== b || back.get(b) !== a) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(map.size).toBe(ref.count);
      // the predicate form gives the same answer
      const byPredicate = connectedComponents((i) => mask[i] !== 0, shape, conn);
      expect(byPredicate.sizes).toEqual(ours.sizes);
      counts[conn] = ours.count;
    }, 60_000);
  }

  it('more connectivity joins more pieces (6 > 18 > 26 components on this mask)', () => {
    expect(counts[6]).toBeGreaterThan(counts[18]);
    expect(counts[18]).toBeGreaterThan(counts[26]);
  });
});

describe('connected components: small cases and bad input', () => {
  it('tells edge and corner neighbours apart', () => {
    // 2x2x2: voxels 0 = (0,0,0) and 3 = (1,1,0) share an edge; 0 and 7 = (1,1,1) only a corner
    const corner = new Uint8Array(8);
    corner[0] = 1;
    corner[7] = 1;
    expect(connectedComponents(corner, [2, 2, 2], 6).count).toBe(2);
    expect(connectedComponents(corner, [2, 2, 2], 18).count).toBe(2);
    expect(connectedComponents(corner, [2, 2, 2], 26).count).toBe(1);
    const edge = new Uint8Array(8);
    edge[0] = 1;
    edge[3] = 1;
    expect(connectedComponents(edge, [2, 2, 2], 6).count).toBe(2);
    expect(connectedComponents(edge, [2, 2, 2], 18).sizes).toEqual([0, 2]);
  });

  it('rejects a mask whose size does not match the shape, and an unknown connectivity', () => {
    expect(() => connectedComponents(new Uint8Array(7), [2, 2, 2], 26)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => connectedComponents(new Uint8Array(8), [2, 2, 2], 8 as 6)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
