// Label editing operations against scipy.ndimage on a real hippocampus label made messy on
// purpose (specks, holes, a bridge), at an anisotropic spacing, for every operation.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { createRng } from '../base/rng';
import {
  clearSegment,
  closingSmooth,
  fillHoles,
  growMargin,
  keepIslandAt,
  keepLargestIsland,
  medianSmooth,
  mergeSegment,
  openingSmooth,
  removeSmallIslands,
  shrinkMargin,
  type Shape3,
  type Spacing3,
} from './label-edit-ops';
import { readNifti } from './nifti';

type Op = { kind: string; segment: number; mm?: number; minVoxels?: number; index?: number; connectivity?: 6 | 18 | 26 };

async function messyLabel(): Promise<{ labels: Uint8Array; shape: Shape3 }> {
  const lab = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
  const labels = Uint8Array.from(lab.data);
  const rng = createRng(11);
  // specks of segment 1 in the background, holes inside it, some segment-2 voxels scattered
  for (let k = 0; k < 150; k++) {
    const i = rng.int(labels.length);
    if (labels[i] === 0) labels[i] = 1;
    else if (labels[i] === 1 && rng.chance(0.5)) labels[i] = 0;
    else if (rng.chance(0.2)) labels[i] = 2;
  }
  return { labels, shape: lab.shape as Shape3 };
}

function scipy(labels: Uint8Array, shape: Shape3, spacing: Spacing3, ops: Op[]): Uint8Array[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'ref/label_edit_ops_ref.py')], {
    input: JSON.stringify({ shape, spacing, labels: Array.from(labels), ops }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as number[][]).map((a) => Uint8Array.from(a));
}

function diff(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('label editing operations equal scipy.ndimage', () => {
  it('islands, margins, opening/closing, median and hole filling on a messy real label (anisotropic voxels)', async () => {
    const { labels, shape } = await messyLabel();
    const spacing: Spacing3 = [1, 1.5, 2.5];
    const clicked = labels.findIndex((v) => v === 1);
    const ops: Op[] = [
      { kind: 'keepLargest', segment: 1, connectivity: 6 },
      { kind: 'keepLargest', segment: 1, connectivity: 26 },
      { kind: 'removeSmall', segment: 1, minVoxels: 5, connectivity: 18 },
      { kind: 'keepAt', segment: 1, index: clicked, connectivity: 6 },
      { kind: 'grow', segment: 1, mm: 2.6 },
      { kind: 'shrink', segment: 1, mm: 1.6 },
      { kind: 'open', segment: 1, mm: 1.6 },
      { kind: 'close', segment: 2, mm: 2.6 },
      { kind: 'median', segment: 1, mm: 1.6 },
      { kind: 'fillHoles', segment: 1 },
    ];
    const ours = [
      keepLargestIsland(labels, shape, 1, 6),
      keepLargestIsland(labels, shape, 1, 26),
      removeSmallIslands(labels, shape, 1, 5, 18),
      keepIslandAt(labels, shape, 1, clicked, 6),
      growMargin(labels, shape, spacing, 1, 2.6),
      shrinkMargin(labels, shape, spacing, 1, 1.6),
      openingSmooth(labels, shape, spacing, 1, 1.6),
      closingSmooth(labels, shape, spacing, 2, 2.6),
      medianSmooth(labels, shape, spacing, 1, 1.6),
      fillHoles(labels, shape, 1),
    ];
    const ref = scipy(labels, shape, spacing, ops);
    ops.forEach((op, k) => {
      expect(diff(ours[k], ref[k]), `${op.kind} (${JSON.stringify(op)})`).toBe(0);
      // and the operation did something on this messy label (a test of the test data)
      expect(diff(ours[k], labels), `${op.kind} changed nothing`).toBeGreaterThan(0);
    });
  }, 120_000);

  it('fills holes in the plane of a 2D (W x H x 1) image, and never fills a hole holding another segment', () => {
    const shape: Shape3 = [7, 7, 1];
    const l = new Uint8Array(49);
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) l[y * 7 + x] = 1;
    l[3 * 7 + 3] = 0; // a hole
    l[2 * 7 + 2] = 2; // another segment inside: left alone
    const f = fillHoles(l, shape, 1);
    expect(f[3 * 7 + 3]).toBe(1);
    expect(f[2 * 7 + 2]).toBe(2);
    expect(diff(f, l)).toBe(1);
  });

  it('logical merge and clear, and clear errors for bad input', () => {
    const l = Uint8Array.from([0, 1, 1, 0, 2, 2, 0, 1]);
    expect(Array.from(mergeSegment(l, 1, 2))).toEqual([0, 1, 1, 0, 1, 1, 0, 1]);
    expect(Array.from(clearSegment(l, 1))).toEqual([0, 0, 0, 0, 2, 2, 0, 0]);
    expect(() => mergeSegment(l, 1, 1)).toThrow(/different segments/);
    expect(() => keepIslandAt(l, [8, 1, 1], 1, 0)).toThrow(/not part of segment 1/);
    expect(() => growMargin(l, [8, 1, 1], [1, 1, 1], 1, -1)).toThrow(/radius/);
    expect(() => growMargin(l, [4, 1, 1], [1, 1, 1], 1, 1)).toThrow(expect.objectContaining({ code: 'LABEL_GEOMETRY_MISMATCH' }));
  });
});
