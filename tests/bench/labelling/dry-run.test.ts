// The strategies planned in memory on a real case: each reaches the target Dice, b costs fewer
// strokes than a, and a prediction equal to the reference needs no correction at all.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../../main/core/imaging/nifti';
import { HIPPOCAMPUS } from '../../data-root';
import { simulatedSeconds } from './cost-model';
import { dryRun, dryRunCorrect } from './dry-run';
import { meanDice } from './plan';

const O = { target: 0.9, k: 3, radii: [2, 1], maxRounds: 3 };

describe('scripted annotator strategies, planned', () => {
  it('a and b reach the target on hippocampus_003; b with far fewer strokes; c from the truth does nothing but check', async () => {
    const vol = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
    const ref = Uint8Array.from(vol.data);
    const shape = vol.shape as [number, number, number];
    const spacing = vol.spacing as [number, number, number];
    const a = await dryRun('a', ref, shape, spacing, O);
    const b = await dryRun('b', ref, shape, spacing, O);
    expect(meanDice(a.labels, ref, [1, 2])).toBeGreaterThanOrEqual(0.9);
    expect(meanDice(b.labels, ref, [1, 2])).toBeGreaterThanOrEqual(0.9);
    expect(b.counts.strokes).toBeLessThan(a.counts.strokes / 3);
    expect(simulatedSeconds(b.counts)).toBeLessThan(simulatedSeconds(a.counts));
    // b: fill between slices + keep per class, and at least the first save
    expect(b.counts.buttons).toBeGreaterThanOrEqual(5);
    const c = dryRunCorrect(ref, ref, shape, spacing, O);
    expect(c.counts.strokes).toBe(0);
    expect(c.rounds).toBe(0);
    expect(c.counts.sliceVisits).toBe(new Set([...Array(shape[2]).keys()].filter((k) => ref.subarray(k * shape[0] * shape[1], (k + 1) * shape[0] * shape[1]).some((v) => v > 0))).size);
  }, 300_000);
});
