// Unsaved-stroke recovery for the Labelling screen: 2 s after the last edit the unsaved labelmap is
// sent to the project as a draft (labels:draftSave), so a crashed window, a killed app or a power
// cut loses at most those seconds. When the case is opened again the draft is offered back
// (restore = one undoable edit; discard = the user's choice); a successful save removes it.
import { ref, type Ref } from 'vue';
import type { ApiClient } from '../../api';
import { gunzipIfNeeded, gzipBytes, parseNifti, toBase64 } from '../../viewers/nifti-parse';

export const DRAFT_DELAY_MS = 2000;

export interface RecoveredDraft {
  savedAt: string;
  changedVoxels: number;
  /** a newer label version was saved after the strokes were painted */
  stale: boolean;
  /** the label version the strokes were painted on (null: an empty label) */
  parentVersionId: string | null;
  voxels: Uint8Array;
}

/** The strokes of a draft: the voxels where it differs from the version it was painted on. */
export function strokesOf(draft: Uint8Array, parent: Uint8Array): { indices: Uint32Array; values: Uint8Array } {
  const idx: number[] = [];
  for (let i = 0; i < draft.length; i++) if (draft[i] !== parent[i]) idx.push(i);
  return { indices: Uint32Array.from(idx), values: Uint8Array.from(idx, (i) => draft[i]) };
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface DraftSource {
  imageId(): string | null;
  parentVersionId(): string | null;
  /** the labelmap and how many voxels differ from the saved version (0: nothing to keep) */
  snapshot(): { labels: Uint8Array; changed: number } | null;
  secondsSpent(): number;
}

export function useDraftRecovery(api: ApiClient, source: DraftSource) {
  const recovered: Ref<RecoveredDraft | null> = ref(null);
  const lastSavedAt = ref<string | null>(null);
  let timer = 0;
  let inFlight: Promise<void> | null = null;

  async function saveNow(): Promise<void> {
    const imageId = source.imageId();
    const snap = source.snapshot();
    if (!imageId || !snap || snap.changed === 0) return;
    try {
      const voxelsGzBase64 = toBase64(await gzipBytes(snap.labels));
      const r = await api.call('labels:draftSave', { imageId, parentVersionId: source.parentVersionId(), voxelsGzBase64, changedVoxels: snap.changed, secondsSpent: source.secondsSpent() });
      lastSavedAt.value = r.savedAt;
    } catch {
      // the draft is a safety net: failing to write it must never interrupt painting
    }
  }

  return {
    recovered,
    lastSavedAt,
    /** call after every edit: the draft is written DRAFT_DELAY_MS after the last one */
    schedule(): void {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        timer = 0;
        inFlight = saveNow().finally(() => (inFlight = null));
      }, DRAFT_DELAY_MS);
    },
    /** looks for a draft of this case (after the case has loaded) */
    async check(imageId: string): Promise<void> {
      try {
        const d = await api.call('labels:draftGet', { imageId });
        if (!d.draft || !d.voxelsGzBase64) return;
        const voxels = new Uint8Array(await gunzipIfNeeded(fromBase64(d.voxelsGzBase64).buffer as ArrayBuffer));
        recovered.value = { savedAt: d.draft.savedAt, changedVoxels: d.draft.changedVoxels, stale: d.draft.stale, parentVersionId: d.draft.parentVersionId, voxels };
      } catch {
        recovered.value = null;
      }
    },
    /**
     * The recovered strokes, to apply on top of what is on screen: only the voxels the user painted
     * (draft vs its own parent), so a newer version saved meanwhile is not reverted elsewhere.
     */
    async strokes(): Promise<{ indices: Uint32Array; values: Uint8Array } | null> {
      const d = recovered.value;
      if (!d) return null;
      let parent = new Uint8Array(d.voxels.length);
      if (d.parentVersionId !== null) parent = Uint8Array.from((await parseNifti(await api.readFile({ kind: 'label', id: d.parentVersionId }), `label version ${d.parentVersionId}`)).data);
      return strokesOf(d.voxels, parent);
    },
    /** the saved version now holds the strokes (or the user chose to drop them): remove the draft */
    async discard(imageId: string): Promise<void> {
      if (timer) window.clearTimeout(timer);
      timer = 0;
      await inFlight;
      recovered.value = null;
      await api.call('labels:draftDiscard', { imageId }).catch(() => undefined);
    },
    dispose(): void {
      if (timer) window.clearTimeout(timer);
      timer = 0;
    },
  };
}
