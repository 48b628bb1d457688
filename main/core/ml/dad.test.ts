import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import {
  createDadRecorder, dynamicAverageDice, movingDistance, rankByDad, readDadFile, selectByDad, targetDice, writeDadFile, type DadEpochRecord,
} from './dad';

const here = path.dirname(fileURLToPath(import.meta.url));

// Hand-made history: 4 images, 3 epochs. "c" is not drawn in epoch 2; "d" never has a target.
// Per-epoch d_i^t = sum/n:
//   a: 0.2, 0.4, 0.6  -> DAD 0.4         b: 0.9, 0.8, 0.7 -> DAD 0.8
//   c: 0.5, -,   0.9  -> DAD 0.7 (2 epochs)
const HISTORY: DadEpochRecord[] = [
  { epoch: 1, cases: { a: [0.4, 2], b: [0.9, 1], c: [1.5, 3] } },
  { epoch: 2, cases: { a: [0.4, 1], b: [1.6, 2] } },
  { epoch: 3, cases: { a: [1.2, 2], b: [0.7, 1], c: [0.9, 1] } },
];

describe('DAD ranking math (dynamic average over epochs, literature 002)', () => {
  it('averages the per-epoch Dice over the epochs in which each image was scored', () => {
    const dad = dynamicAverageDice(HISTORY);
    expect(dad.get('a')?.dad).toBeCloseTo(0.4, 12);
    expect(dad.get('b')?.dad).toBeCloseTo(0.8, 12);
    expect(dad.get('c')?.dad).toBeCloseTo(0.7, 12);
    expect(dad.get('c')?.epochsScored).toBe(2);
    expect(dad.has('d')).toBe(false);
    // Up to epoch 1 only: the first epoch's values.
    const first = dynamicAverageDice(HISTORY, 1);
    expect(first.get('a')?.dad).toBeCloseTo(0.2, 12);
    expect(first.get('c')?.dad).toBeCloseTo(0.5, 12);
  });

  it('ranks lowest DAD first and selects the lowest or highest fraction', () => {
    const r = rankByDad(HISTORY);
    expect(r.map((x) => x.id)).toEqual(['a', 'c', 'b']);
    expect(r.map((x) => x.rank)).toEqual([0, 1, 2]);
    expect(selectByDad(r, 0.3).map((x) => x.id)).toEqual(['a']); // ceil(0.9) = 1
    expect(selectByDad(r, 0.5).map((x) => x.id)).toEqual(['a', 'c']); // ceil(1.5) = 2
    expect(selectByDad(r, 0.34, 'highest').map((x) => x.id)).toEqual(['b', 'c']);
    expect(() => selectByDad(r, 0)).toThrow(/between 0 and 1/);
    expect(() => selectByDad(r, 1)).toThrow(/between 0 and 1/);
  });

  it('ties are broken by id, so the ranking is reproducible', () => {
    const tied: DadEpochRecord[] = [{ epoch: 1, cases: { z: [0.5, 1], y: [0.5, 1], x: [1, 2] } }];
    expect(rankByDad(tied).map((x) => x.id)).toEqual(['x', 'y', 'z']);
  });

  it('moving distance: mean rank change between consecutive epochs over the images ranked at both, / N', () => {
    // epoch 1 ranks: a0 c1 b2. epoch 2 (DAD up to 2): a 0.3, b 0.85, c 0.5 -> a0 c1 b2: distance 0.
    // epoch 3: a 0.4, b 0.8, c 0.7 -> a0 c1 b2: 0. Make a history where the order flips:
    const md = movingDistance(HISTORY);
    expect(md).toEqual([{ epoch: 2, distance: 0 }, { epoch: 3, distance: 0 }]);
    const flip: DadEpochRecord[] = [
      { epoch: 1, cases: { a: [0.1, 1], b: [0.5, 1], c: [0.9, 1] } },
      { epoch: 2, cases: { a: [1.7, 1], b: [0.5, 1], c: [0.1, 1] } }, // DAD a 0.9, b 0.5, c 0.5 -> b0 c1 a2
    ];
    // ranks: a 0->2, b 1->0, c 2->1: sum |d| = 4, over 3 images, / 3 = 4/9
    expect(movingDistance(flip)[0].distance).toBeCloseTo(4 / 9, 12);
  });
});

describe('targetDice and the recorder', () => {
  it('matches numpy on a real hippocampus label (two samples in one batch, all and partial labels)', () => {
    const label = path.join(HIPPOCAMPUS, 'labels', 'hippocampus_006.nii.gz');
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'ref', 'dad_reference.py')], { input: JSON.stringify({ label }), encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      pred: number[]; ref: number[]; all: number[]; only1: number[];
    };
    const n = ref.ref.length / 2;
    for (const b of [0, 1]) {
      expect(targetDice(ref.pred, ref.ref, 3, undefined, b * n, n)).toBeCloseTo(ref.all[b], 12);
      expect(targetDice(ref.pred, ref.ref, 3, [1, 1, 0], b * n, n)).toBeCloseTo(ref.only1[b], 12);
    }
    const rec = createDadRecorder({ numClasses: 3, caseIds: ['p', 'q'], labelled: new Map([['q', [1, 1, 0]]]) });
    rec.observe(['p', 'q'], Int32Array.from(ref.pred), Int32Array.from(ref.ref));
    const e1 = rec.endEpoch(1);
    expect(e1.cases.p[0]).toBeCloseTo(ref.all[0], 12);
    expect(e1.cases.q[0]).toBeCloseTo(ref.only1[1], 12);
  });

  it('skips samples without a labelled target, accumulates repeated draws, and discards an unfinished epoch', () => {
    const rec = createDadRecorder({ numClasses: 3, caseIds: ['a', 'b'], labelled: new Map([['b', [1, 0, 1]]]) });
    // a: pred == ref on class 1 -> 1; b: only class 1 present but b labels only class 2 -> not scored.
    rec.observe(['a', 'b'], [1, 1, 0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 1, 1, 0, 0]);
    // a again: pred 1 0 vs ref 1 1 -> 2*1/(1+2) = 2/3
    rec.observe(['a'], [1, 0, 0, 0], [1, 1, 0, 0]);
    expect(rec.endEpoch(1).cases).toEqual({ a: [1 + 2 / 3, 2] });
    rec.observe(['a'], [0, 0, 0, 0], [1, 1, 0, 0]);
    rec.discardEpoch();
    expect(rec.endEpoch(2).cases).toEqual({});
    expect(() => rec.observe(['a', 'b'], [1, 2, 3], [1, 2, 3])).toThrow(/do not split/);
  });

  it('round-trips dad.json and refuses a broken or missing file with the file name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'segloop-dad-'));
    const rec = createDadRecorder({ numClasses: 3, caseIds: ['a', 'b', 'c', 'd'], previous: HISTORY });
    const file = path.join(dir, 'dad.json');
    await writeDadFile(file, rec.file());
    const back = await readDadFile(file);
    expect(back.epochs).toEqual(HISTORY);
    expect(back.caseIds).toEqual(['a', 'b', 'c', 'd']);
    writeFileSync(file, '{"format":"segloop-dad-1","epochs":[');
    await expect(readDadFile(file)).rejects.toMatchObject({ code: 'PROJECT_CORRUPT' });
    writeFileSync(file, JSON.stringify({ ...rec.file(), epochs: [{ epoch: 1, cases: { a: [0.5, 0] } }] }));
    await expect(readDadFile(file)).rejects.toMatchObject({ code: 'PROJECT_CORRUPT' });
    await expect(readDadFile(path.join(dir, 'none.json'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
