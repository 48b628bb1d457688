// Label voxels as they cross the wire (gzip + base64, uint8 in nibabel order) and as the project
// stores them (NIfTI in the image's geometry): decode + check against the image and the schema,
// and saveLabelVersion, the one path by which an edited label becomes a new version (labels:save;
// review edits and drafts decode through the same functions).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SegloopError } from '../../../shared/errors';
import { encodeNifti, readNifti } from '../imaging/nifti';
import type { Mat4 } from '../imaging/volume';
import type { ProjectStore } from './project-store';
import type { NewSegmentStatus } from './segment-status-repository';
import type { ImageRow, LabelSource, LabelVersionRow } from './types';

const gunzip = promisify(zlib.gunzip);
const gzip = promisify(zlib.gzip);

export async function decodeLabelVoxels(store: ProjectStore, img: ImageRow, base64: string): Promise<Uint8Array> {
  const [X, Y, Z] = img.shape as [number, number, number];
  let voxels: Uint8Array;
  try {
    voxels = new Uint8Array(await gunzip(Buffer.from(base64, 'base64'), { maxOutputLength: X * Y * Z + 1 }));
  } catch {
    throw new SegloopError('VALIDATION_FAILED', `The label voxels are not gzip data of ${X * Y * Z} bytes (image ${img.id} is ${X}×${Y}×${Z}). Nothing was saved.`);
  }
  if (voxels.length !== X * Y * Z) {
    throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The label has ${voxels.length} voxels but image ${img.id} has ${X}×${Y}×${Z} = ${X * Y * Z}. Nothing was saved.`, {
      expected: X * Y * Z,
      got: voxels.length,
    });
  }
  checkInSchema(store, voxels);
  return voxels;
}

export function checkInSchema(store: ProjectStore, voxels: Uint8Array): void {
  const allowed = new Set(store.labelSchema.list().map((c) => c.idx));
  allowed.add(0);
  const outside = [...new Set<number>(voxels)].filter((v) => !allowed.has(v));
  if (outside.length > 0) {
    throw new SegloopError('LABEL_OUT_OF_SCHEMA', `The label uses values ${outside.join(', ')} that are not in the label schema (${[...allowed].join(', ')}). Nothing was saved.`, {
      values: outside,
    });
  }
}

/** The voxels of a stored label-like NIfTI (label version or prediction) as uint8. */
export async function readStoredLabel(store: ProjectStore, relPath: string): Promise<Uint8Array> {
  const vol = await readNifti(await store.resolve(relPath));
  return vol.data instanceof Uint8Array ? vol.data : Uint8Array.from(vol.data);
}

export async function encodeLabelFile(img: ImageRow, voxels: Uint8Array): Promise<Uint8Array> {
  const [X, Y, Z] = img.shape as [number, number, number];
  return new Uint8Array(await gzip(encodeNifti({ data: voxels, shape: [X, Y, Z], affine: img.affine as Mat4 }, { dtype: 'uint8', description: 'segloop label' })));
}

export function countDifferent(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

export interface SaveLabelInput {
  imageId: number;
  /** The version the edit started from (null for a first label): the diff is counted against it. */
  parentVersionId: number | null;
  voxelsGzBase64: string;
  source: LabelSource;
  author: string;
  secondsSpent: number;
  /**
   * Segment status per foreground class, stored with the version in one transaction. Classes the
   * list leaves out get the default (done if painted — saving is the annotator's statement, as before
   * statuses existed; in progress must be chosen — else not started); absent or null:
   * the version records no status (untracked: training keeps the older rule).
   */
  segmentStatus?: readonly NewSegmentStatus[] | null;
}

/** The given statuses plus a default for every other foreground class of the schema. */
export function withDefaultStatuses(store: ProjectStore, voxels: Uint8Array, given: readonly NewSegmentStatus[]): NewSegmentStatus[] {
  store.labelVersions.statuses.validate(given);
  const painted = new Set<number>(voxels);
  const listed = new Set(given.map((e) => e.classIdx));
  const rest = store.labelSchema
    .list()
    .filter((c) => c.idx > 0 && !listed.has(c.idx))
    .map((c): NewSegmentStatus => ({ classIdx: c.idx, status: painted.has(c.idx) ? 'done' : 'not_started', note: null }));
  return [...given, ...rest].sort((a, b) => a.classIdx - b.classIdx);
}

/**
 * Stores an edited label as a new version: the parent must be a version of the same image, the
 * voxels must fit the image and the schema, and the version records how many voxels changed. A
 * parent that is no longer the latest is refused by the store (LABEL_CONFLICT); nothing is written
 * on any error.
 */
export async function saveLabelVersion(store: ProjectStore, input: SaveLabelInput): Promise<{ row: LabelVersionRow; voxelsChanged: number }> {
  const img = store.images.require(input.imageId);
  let parent: LabelVersionRow | null = null;
  if (input.parentVersionId !== null) {
    parent = store.labelVersions.get(input.parentVersionId);
    if (!parent || parent.imageId !== img.id) {
      throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${input.parentVersionId} is not a version of image ${img.id}: reload the case and save again.`, {
        imageId: img.id,
        parentVersionId: String(input.parentVersionId),
      });
    }
  }
  const voxels = await decodeLabelVoxels(store, img, input.voxelsGzBase64);
  // Checked before any file is written: a bad status loses nothing and leaves no file behind.
  const segmentStatus = input.segmentStatus ? withDefaultStatuses(store, voxels, input.segmentStatus) : null;
  const before = parent ? await readStoredLabel(store, parent.path) : new Uint8Array(voxels.length);
  const voxelsChanged = countDifferent(voxels, before);
  const bytes = await encodeLabelFile(img, voxels);
  const added = await store.addLabelVersionFile(
    {
      imageId: img.id,
      parentId: parent?.id ?? null,
      source: input.source,
      author: input.author,
      voxelsChanged,
      secondsSpent: input.secondsSpent,
      segmentStatus,
      bytes: new Uint8Array(bytes),
    },
    { actor: input.author },
  );
  return { row: added.row, voxelsChanged };
}
