// Handlers of 'labels:draftSave' / 'labels:draftGet' / 'labels:draftDiscard': the unsaved labelmap
// of a case, kept in <project>/.segloop/drafts/ so that a crash of the window, the app or the
// machine does not lose what a clinician painted since the last save. One draft per image, replaced
// atomically on each save; checked like a real save (geometry, schema); removed when the case is
// saved or when the user discards it (an explicit decision; never automatically).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SegloopError } from '../../shared/errors';
import { writeFileAtomic } from '../core/base/fs';
import { parseDbId } from '../core/base/ids';
import type { ProjectStore } from '../core/project';
import type { Handlers } from './dispatch';
import { decodeLabelVoxels } from '../core/project/label-voxels';

export type DraftOps = Pick<Handlers, 'labels:draftSave' | 'labels:draftGet' | 'labels:draftDiscard'>;

export const DRAFTS_DIR = '.segloop/drafts';

const StoredDraft = z.object({
  version: z.literal(1),
  imageId: z.number().int().positive(),
  parentVersionId: z.number().int().positive().nullable(),
  savedAt: z.string(),
  author: z.string(),
  changedVoxels: z.number().int().nonnegative(),
  secondsSpent: z.number().nonnegative(),
  voxelsGzBase64: z.string(),
});
type StoredDraft = z.infer<typeof StoredDraft>;

function parseId(raw: string, code: 'IMAGE_NOT_FOUND' | 'LABEL_VERSION_NOT_FOUND'): number {
  return parseDbId(raw, code, code === 'IMAGE_NOT_FOUND' ? 'image' : 'label version');
}

function draftFile(store: ProjectStore, imageId: number): string {
  return path.join(store.dir, DRAFTS_DIR, `image-${imageId}.json`);
}

async function readDraft(store: ProjectStore, imageId: number): Promise<StoredDraft | null> {
  let raw: string;
  try {
    raw = await fs.readFile(draftFile(store, imageId), 'utf8');
  } catch {
    return null;
  }
  try {
    const d = StoredDraft.parse(JSON.parse(raw));
    return d.imageId === imageId ? d : null;
  } catch {
    // an unreadable draft is not silently dropped: it stays on disk for inspection, and is not offered
    return null;
  }
}

export function draftOps(deps: { store: ProjectStore; author: string }): DraftOps {
  const { store, author } = deps;
  const newestVersionId = (imageId: number): number | null => store.labelVersions.latestPerImage().find((v) => v.imageId === imageId)?.id ?? null;
  return {
    async 'labels:draftSave'(input) {
      store.assertWritable();
      const img = store.images.require(parseId(input.imageId, 'IMAGE_NOT_FOUND'));
      const parent = input.parentVersionId === null ? null : parseId(input.parentVersionId, 'LABEL_VERSION_NOT_FOUND');
      if (parent !== null && store.labelVersions.get(parent)?.imageId !== img.id) {
        throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${input.parentVersionId} is not a version of image ${img.id}.`);
      }
      await decodeLabelVoxels(store, img, input.voxelsGzBase64); // same checks as a real save
      const draft: StoredDraft = {
        version: 1,
        imageId: img.id,
        parentVersionId: parent,
        savedAt: new Date().toISOString(),
        author,
        changedVoxels: input.changedVoxels,
        secondsSpent: input.secondsSpent,
        voxelsGzBase64: input.voxelsGzBase64,
      };
      await fs.mkdir(path.join(store.dir, DRAFTS_DIR), { recursive: true });
      await writeFileAtomic(draftFile(store, img.id), Buffer.from(JSON.stringify(draft)));
      return { savedAt: draft.savedAt };
    },

    async 'labels:draftGet'(input) {
      const img = store.images.require(parseId(input.imageId, 'IMAGE_NOT_FOUND'));
      const d = await readDraft(store, img.id);
      if (!d) return { draft: null, voxelsGzBase64: null };
      const newest = newestVersionId(img.id);
      return {
        draft: {
          imageId: String(d.imageId),
          parentVersionId: d.parentVersionId === null ? null : String(d.parentVersionId),
          savedAt: d.savedAt,
          author: d.author,
          changedVoxels: d.changedVoxels,
          secondsSpent: d.secondsSpent,
          stale: newest !== d.parentVersionId,
        },
        voxelsGzBase64: d.voxelsGzBase64,
      };
    },

    async 'labels:draftDiscard'(input) {
      store.assertWritable();
      const img = store.images.require(parseId(input.imageId, 'IMAGE_NOT_FOUND'));
      const d = await readDraft(store, img.id);
      if (!d) return { discarded: false };
      // the user's explicit choice in the restore prompt (or the draft's strokes were just saved)
      await fs.rm(draftFile(store, img.id), { force: true });
      return { discarded: true };
    },
  };
}
