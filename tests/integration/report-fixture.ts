// FIXTURE for the evaluation-report tests (integration and e2e): a project built with the store
// API from real hippocampus cases (../shared/data), where the "model predictions" are NOT model
// output but deterministic edits of the reference labels — v1 = reference shifted 2 voxels along
// i (and class 2 erased on one case), v2 = reference shifted 1 voxel along i. They give
// known, different, non-trivial errors so the report numbers can be checked.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { encodeNifti, readNifti } from '../../main/core/imaging/nifti';
import type { Mat4 } from '../../main/core/imaging/volume';
import { ProjectStore } from '../../main/core/project';
import type { ImageRow, LabelVersionRow, ModelRow } from '../../main/core/project';
import { HIPPOCAMPUS } from '../data-root';

export const SCHEMA = [
  { idx: 0, name: 'background', colour: '#000000' },
  { idx: 1, name: 'anterior hippocampus', colour: '#e6553a' },
  { idx: 2, name: 'posterior hippocampus', colour: '#3a8ee6' },
];

/** dev_test cases (splits.json): the first 6 are test (sites A/B alternating), the last 4 train. */
export const TEST_CASES = ['hippocampus_003', 'hippocampus_008', 'hippocampus_025', 'hippocampus_033', 'hippocampus_038', 'hippocampus_039'];
export const TRAIN_CASES = ['hippocampus_045', 'hippocampus_048', 'hippocampus_068', 'hippocampus_074'];
/** v1's prediction of this test case has no class 2 at all ('prediction empty'). */
export const V1_EMPTY_CLASS2 = 'hippocampus_025';

export function shiftLabels(data: ArrayLike<number>, shape: readonly number[], di: number): Uint8Array {
  const [X, Y, Z] = shape;
  const out = new Uint8Array(X * Y * Z);
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    const si = i - di;
    if (si >= 0 && si < X) out[i + X * (j + Y * k)] = data[si + X * (j + Y * k)];
  }
  return out;
}

export function labelBytes(data: Uint8Array, shape: readonly number[], affine: Mat4): Uint8Array {
  return new Uint8Array(zlib.gzipSync(encodeNifti({ data, shape: [shape[0], shape[1], shape[2]], affine }, { dtype: 'uint8', description: 'segloop test fixture' })));
}

export interface EvalFixture {
  dir: string;
  images: Map<string, ImageRow>;
  refs: Map<string, LabelVersionRow>;
  v1: ModelRow;
  v2: ModelRow;
  /** No training run, no predictions. */
  v3: ModelRow;
}

export async function makeEvalProject(dir: string): Promise<EvalFixture> {
  const store = await ProjectStore.create(dir, { name: 'Evaluation fixture' }, { actor: 'fixture' });
  try {
    store.labelSchema.set(SCHEMA);
    const images = new Map<string, ImageRow>();
    const refs = new Map<string, LabelVersionRow>();
    const labels = new Map<string, { data: Uint8Array; shape: number[]; affine: Mat4 }>();
    for (const [n, name] of [...TEST_CASES, ...TRAIN_CASES].entries()) {
      const src = path.join(HIPPOCAMPUS, 'images', `${name}.nii.gz`);
      const vol = await readNifti(src);
      const isTest = n < TEST_CASES.length;
      const { row } = await store.addImageFile({
        sourcePath: src, patientExternalId: name, shape: vol.shape, spacing: vol.spacing, affine: vol.affine, dtype: vol.diskDtype, modality: 'MR',
        site: n % 2 === 0 ? 'site-A' : 'site-B', split: isTest ? 'test' : 'train', sourceName: `${name}.nii.gz`,
      });
      images.set(name, row);
      const labelFile = path.join(HIPPOCAMPUS, 'labels', `${name}.nii.gz`);
      const ref = (await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'fixture', bytes: readFileSync(labelFile) })).row;
      refs.set(name, ref);
      const lab = await readNifti(labelFile);
      labels.set(name, { data: Uint8Array.from(lab.data), shape: lab.shape, affine: lab.affine });
    }
    // Two train labels corrected by hand: 300 s and 120 s on top of the imported (untimed) version.
    const corrected: LabelVersionRow[] = [];
    for (const [name, seconds] of [[TRAIN_CASES[0], 300], [TRAIN_CASES[1], 120]] as const) {
      const l = labels.get(name);
      if (!l) throw new Error(name);
      const data = Uint8Array.from(l.data);
      data[data.findIndex((v) => v === 1)] = 0;
      corrected.push((await store.addLabelVersionFile({ imageId: images.get(name)?.id as number, parentId: refs.get(name)?.id, source: 'manual', author: 'fixture', secondsSpent: seconds, bytes: labelBytes(data, l.shape, l.affine) })).row);
    }
    const run1 = store.trainingRuns.create({ config: { fixture: true }, dataSnapshot: { labelVersionIds: corrected.map((v) => v.id) } });
    store.trainingRuns.finish(run1.id, 'completed');
    const run2 = store.trainingRuns.create({
      config: { fixture: true },
      dataSnapshot: { labelVersionIds: [...corrected.map((v) => v.id), refs.get(TRAIN_CASES[2])?.id as number, refs.get(TRAIN_CASES[3])?.id as number] },
    });
    store.trainingRuns.finish(run2.id, 'completed');
    const fake = new TextEncoder().encode('fixture weights: not a model');
    let v1 = store.models.create({ architecture: 'fixture-shift2', config: {}, trainingRunId: run1.id, metrics: { valMeanDice: 0.7 } });
    v1 = await store.addModelWeightsFile(v1.id, fake, 'v1.bin');
    let v2 = store.models.create({ architecture: 'fixture-shift1', config: {}, trainingRunId: run2.id, parentId: v1.id, metrics: { valMeanDice: 0.8 } });
    v2 = await store.addModelWeightsFile(v2.id, new TextEncoder().encode('fixture weights v2'), 'v2.bin');
    let v3 = store.models.create({ architecture: 'fixture-imported', config: {} });
    v3 = await store.addModelWeightsFile(v3.id, new TextEncoder().encode('fixture weights v3'), 'v3.bin');
    for (const name of TEST_CASES) {
      const l = labels.get(name);
      const img = images.get(name);
      if (!l || !img) throw new Error(name);
      let p1 = shiftLabels(l.data, l.shape, 2);
      if (name === V1_EMPTY_CLASS2) p1 = p1.map((v) => (v === 2 ? 0 : v));
      await store.addPredictionFiles({ imageId: img.id, modelId: v1.id, tta: false, scores: { fixture: 'shift2' }, bytes: labelBytes(p1, l.shape, l.affine) });
      await store.addPredictionFiles({ imageId: img.id, modelId: v2.id, tta: false, scores: { fixture: 'shift1' }, bytes: labelBytes(shiftLabels(l.data, l.shape, 1), l.shape, l.affine) });
    }
    return { dir, images, refs, v1, v2, v3 };
  } finally {
    store.close();
  }
}
