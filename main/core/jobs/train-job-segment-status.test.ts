// Training knows which classes of an image are complete from its segment status: in a version
// that records statuses only the classes marked done are labelled, so a class still in progress
// (or flagged) reaches the partial-label loss as missing — predicting it where the label says
// background costs nothing. Versions without statuses (imported here) keep labelled_classes.
import { rmSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, makeTestProject } from '../../../tests/e2e/test-project';
import { readNifti } from '../imaging/nifti';
import { segmentationLossParts } from '../ml/losses';
import { ProjectStore } from '../project';
import { saveLabelVersion } from '../project/label-voxels';
import { collectCases } from './train-job';

let dir = '';
let store: ProjectStore;
let reference: Uint8Array; // image 1's imported label: both hippocampus classes present
let shape: number[] = [];
let inProgressVersion = 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  ({ dir } = await makeTestProject({ labelled: 2 }));
  store = await ProjectStore.open(dir, { actor: 'test' });
  const img = store.images.require(1);
  const lab = await readNifti(path.join(DEMO, 'labels', img.sourceName!));
  reference = Uint8Array.from(lab.data);
  shape = lab.shape;
  expect(new Set(reference)).toEqual(new Set([0, 1, 2]));
  // Same voxels, now with statuses: anterior (1) done, posterior (2) still in progress.
  const parent = store.labelVersions.latestForImage(1)!;
  const saved = await saveLabelVersion(store, {
    imageId: 1,
    parentVersionId: parent.id,
    voxelsGzBase64: zlib.gzipSync(reference).toString('base64'),
    source: 'manual',
    author: 'ana',
    secondsSpent: 5,
    segmentStatus: [
      { classIdx: 1, status: 'done' },
      { classIdx: 2, status: 'in_progress' },
    ],
  });
  inProgressVersion = saved.row.id;
}, 120_000);

afterAll(() => {
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The trainer's K flags for TrainCase.labelledClasses (null = every class; background always). */
const flags = (classes: number[] | null, K: number): number[] => Array.from({ length: K }, (_, k) => (k === 0 || classes === null || classes.includes(k) ? 1 : 0));

describe('training and segment status', () => {
  it('a class marked in progress is not labelled for that image; an untracked (imported) label keeps every class', async () => {
    const snap = await collectCases(store, null, false);
    const byId = new Map(snap.cases.map((c) => [c.id, c]));
    expect(byId.get('image-1')?.labelledClasses).toEqual([1]);
    expect(byId.get('image-2')?.labelledClasses).toBeNull();
    expect(snap.incompleteByStatus).toEqual([{ imageId: 1, complete: [1] }]);

    // Marking posterior done in a newer version makes the image complete; the older version
    // (a resumed run's snapshot) keeps what it was saved with.
    const done = await saveLabelVersion(store, {
      imageId: 1,
      parentVersionId: inProgressVersion,
      voxelsGzBase64: zlib.gzipSync(reference).toString('base64'),
      source: 'manual',
      author: 'ana',
      secondsSpent: 1,
      segmentStatus: [
        { classIdx: 1, status: 'done' },
        { classIdx: 2, status: 'done' },
      ],
    });
    const now = await collectCases(store, null, false);
    expect(now.cases.find((c) => c.id === 'image-1')?.labelledClasses).toEqual([1, 2]);
    expect(now.labelVersionIds).toContain(done.row.id);
    const resumed = await collectCases(store, [inProgressVersion], true);
    expect(resumed.cases[0].labelledClasses).toEqual([1]);
    // Flagged is not complete either.
    const flagged = await saveLabelVersion(store, {
      imageId: 1,
      parentVersionId: done.row.id,
      voxelsGzBase64: zlib.gzipSync(reference).toString('base64'),
      source: 'manual',
      author: 'ana',
      secondsSpent: 1,
      segmentStatus: [
        { classIdx: 1, status: 'flagged', note: 'check with radiologist' },
        { classIdx: 2, status: 'done' },
      ],
    });
    expect((await collectCases(store, [flagged.row.id], true)).cases[0].labelledClasses).toEqual([2]);
  });

  it('the loss treats the in-progress class as unlabelled: moving probability between it and background changes nothing', async () => {
    const snap = await collectCases(store, [inProgressVersion], true);
    const K = 3;
    const mask = [flags(snap.cases[0].labelledClasses, K)];
    expect(mask).toEqual([[1, 1, 0]]);
    // One axial slice of the real label that holds both classes, as the trainer's 2D target.
    const [X, Y, Z] = shape;
    const z = Array.from({ length: Z }, (_, k) => k).find((k) => {
      const s = new Set<number>();
      for (let i = 0; i < X * Y; i++) s.add(reference[k * X * Y + i]);
      return s.has(1) && s.has(2);
    })!;
    const slice = Array.from(reference.subarray(z * X * Y, (z + 1) * X * Y));
    const N = slice.length;
    // Deterministic logits (a fixed pseudo-random pattern), then the same logits with probability
    // moved between background and posterior at every voxel (p0 + p2 kept).
    const logits = Array.from({ length: N }, (_, v) => [Math.sin(v * 1.3), Math.cos(v * 0.7), Math.sin(v * 0.31 + 1)]);
    const moved = logits.map(([a, b, c]) => {
      const lse = Math.log(Math.exp(a) + Math.exp(c));
      return [lse + Math.log(0.2), b, lse + Math.log(0.8)];
    });
    const target = tf.tensor(slice, [1, X, Y], 'int32');
    const loss = (l: number[][], m?: number[][]): number =>
      tf.tidy(() => segmentationLossParts(tf.tensor(l.flat(), [1, X, Y, K]), target, { numClasses: K }, m).total.dataSync()[0]);
    expect(loss(moved, mask)).toBeCloseTo(loss(logits, mask), 5);
    // Had posterior counted as labelled (the image marked done), the same change would be penalised.
    expect(Math.abs(loss(moved) - loss(logits))).toBeGreaterThan(1e-2);
    target.dispose();
  });
});
