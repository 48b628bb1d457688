// Handler of 'labels:transform': one Segment Editor-style operation (core/imaging/label-edit-ops)
// on the labelmap the renderer holds. Checked like a save (geometry, schema, segment exists);
// writes nothing — the renderer applies the result as an undoable edit and saves when the user does.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SegloopError } from '../../shared/errors';
import type { LabelOp } from '../../shared/label-ops-schema';
import { parseDbId } from '../core/base/ids';
import * as ops from '../core/imaging/label-edit-ops';
import { fillBetweenSlices } from '../core/imaging/label-interpolation';
import { readNifti } from '../core/imaging/nifti';
import { regionGrow } from '../core/imaging/region-grow';
import { measureSlice, measureVolume } from '../core/imaging/shape-measures';
import type { ProjectStore } from '../core/project';
import type { Handlers } from './dispatch';
import { countDifferent, decodeLabelVoxels } from '../core/project/label-voxels';

const gzip = promisify(zlib.gzip);

export type LabelOps = Pick<Handlers, 'labels:transform' | 'labels:measure'>;

/** `image` reads the image's intensities, for the operations that look at them (region growing). */
export async function applyLabelOp(labels: Uint8Array, shape: ops.Shape3, spacing: ops.Spacing3, op: LabelOp, image?: () => Promise<ArrayLike<number>>): Promise<Uint8Array> {
  return (await applyLabelOpDetailed(labels, shape, spacing, op, image)).labels;
}

export async function applyLabelOpDetailed(
  labels: Uint8Array,
  shape: ops.Shape3,
  spacing: ops.Spacing3,
  op: LabelOp,
  image?: () => Promise<ArrayLike<number>>,
): Promise<{ labels: Uint8Array; tolerances?: number[] }> {
  if (op.kind === 'regionGrow') {
    if (!image) throw new SegloopError('INVALID_ARGUMENT', 'Region growing needs the image intensities.');
    return regionGrow(labels, await image(), shape, op);
  }
  return { labels: await applyMaskOp(labels, shape, spacing, op) };
}

async function applyMaskOp(labels: Uint8Array, shape: ops.Shape3, spacing: ops.Spacing3, op: Exclude<LabelOp, { kind: 'regionGrow' }>): Promise<Uint8Array> {
  switch (op.kind) {
    case 'keepLargest':
      return ops.keepLargestIsland(labels, shape, op.segment, op.connectivity);
    case 'removeSmall':
      return ops.removeSmallIslands(labels, shape, op.segment, op.minVoxels, op.connectivity);
    case 'keepAt':
      return ops.keepIslandAt(labels, shape, op.segment, op.voxelIndex, op.connectivity);
    case 'grow':
      return ops.growMargin(labels, shape, spacing, op.segment, op.mm, op.overwrite);
    case 'shrink':
      return ops.shrinkMargin(labels, shape, spacing, op.segment, op.mm);
    case 'open':
      return ops.openingSmooth(labels, shape, spacing, op.segment, op.mm);
    case 'close':
      return ops.closingSmooth(labels, shape, spacing, op.segment, op.mm);
    case 'median':
      return ops.medianSmooth(labels, shape, spacing, op.segment, op.mm);
    case 'fillHoles':
      return ops.fillHoles(labels, shape, op.segment);
    case 'merge':
      return ops.mergeSegment(labels, op.segment, op.from);
    case 'clear':
      return ops.clearSegment(labels, op.segment);
    case 'interpolate':
      return (await fillBetweenSlices(labels, shape, spacing, op.segment, op.axis)).labels;
  }
}

export function labelOps(deps: { store: ProjectStore }): LabelOps {
  const { store } = deps;
  return {
    async 'labels:transform'(input) {
      const img = store.images.require(parseDbId(input.imageId, 'IMAGE_NOT_FOUND', 'image'));
      const known = new Set(store.labelSchema.list().map((c) => c.idx));
      for (const s of [input.op.segment, ...('from' in input.op ? [input.op.from] : [])]) {
        if (!known.has(s)) throw new SegloopError('LABEL_OUT_OF_SCHEMA', `Segment ${s} is not in the label schema (${[...known].sort((a, b) => a - b).join(', ')}).`);
      }
      const labels = await decodeLabelVoxels(store, img, input.voxelsGzBase64);
      const readImage = async () => (await readNifti(await store.resolve(img.path))).data;
      const r = await applyLabelOpDetailed(labels, img.shape as unknown as ops.Shape3, img.spacing as unknown as ops.Spacing3, input.op, readImage);
      return { voxelsGzBase64: (await gzip(r.labels)).toString('base64'), changedVoxels: countDifferent(r.labels, labels), ...(r.tolerances ? { tolerances: r.tolerances } : {}) };
    },

    async 'labels:measure'(input) {
      const img = store.images.require(parseDbId(input.imageId, 'IMAGE_NOT_FOUND', 'image'));
      const labels = await decodeLabelVoxels(store, img, input.voxelsGzBase64);
      const [X, Y, Z] = img.shape as [number, number, number];
      const spacing = img.spacing as [number, number, number];
      const segments = store.labelSchema
        .list()
        .filter((c) => c.idx > 0)
        .sort((a, b) => a.idx - b.idx)
        .map((c) => {
          const v = measureVolume(labels, [X, Y, Z], spacing, c.idx);
          const s = Z === 1 && v.voxels > 0 ? measureSlice(labels, X, Y, [spacing[0], spacing[1]], c.idx) : null;
          return {
            segment: c.idx,
            name: c.name,
            voxels: v.voxels,
            volumeMm3: v.volumeMm3,
            extentMm: v.extentMm,
            plane: s
              ? { areaMm2: s.areaMm2, perimeterMm: s.perimeterMm, semiMajorMm: s.ellipse!.semiMajorMm, semiMinorMm: s.ellipse!.semiMinorMm, ellipseCircumferenceMm: s.ellipse!.circumferenceMm, maxDiameterMm: s.maxDiameterMm }
              : null,
          };
        });
      return { segments };
    },
  };
}
