// Which labels a new training run takes: the newest label of every image outside the test split;
// labels the model made (ai_accepted, pseudo) only when "include accepted pseudo-labels" is on.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, makeTestProject } from '../../../tests/e2e/test-project';
import { ProjectStore } from '../project';
import type { LabelSource } from '../project/types';
import { collectCases, PSEUDO_LABEL_SOURCES } from './train-job';

let dir = '';
let store: ProjectStore;
/** image id -> the label version id its newest label has */
const newest = new Map<number, number>();

beforeAll(async () => {
  // Five demo cases with their imported label; then a newer label of another source on four of them.
  ({ dir } = await makeTestProject({ labelled: 5 }));
  store = await ProjectStore.open(dir, { actor: 'test' });
  const model = store.models.create({ architecture: 'unet2d', config: {} });
  const images = store.images.list().slice(0, 5);
  for (const v of store.labelVersions.latestPerImage()) newest.set(v.imageId, v.id);
  const sources: [number, LabelSource][] = [[1, 'ai_accepted'], [2, 'pseudo'], [3, 'ai_edited'], [4, 'manual']];
  for (const [k, source] of sources) {
    const img = images[k];
    // The same voxels as the imported label (collectCases picks versions; it does not read voxels).
    const bytes = new Uint8Array(readFileSync(path.join(DEMO, 'labels', img.sourceName!)));
    const { row } = await store.addLabelVersionFile({ imageId: img.id, source, author: 'test', bytes, modelId: source === 'manual' ? null : model.id, checkConflict: false });
    newest.set(img.id, row.id);
  }
  // The frozen test split is never trained on, whatever its labels are.
  store.database.prepare("UPDATE images SET split = 'test' WHERE id = ?").run(images[0].id);
}, 120_000);

afterAll(() => {
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('collectCases (the data snapshot of a new run)', () => {
  it('leaves out both ai_accepted and pseudo labels unless the switch is on; ai_edited and manual always count', async () => {
    const images = store.images.list();
    const sourceOf = (lvId: number): string => store.labelVersions.require(lvId).source;

    const off = await collectCases(store, null, false);
    expect(off.labelVersionIds.map(sourceOf).sort()).toEqual(['ai_edited', 'manual']);
    expect(off.labelVersionIds.some((id) => PSEUDO_LABEL_SOURCES.has(sourceOf(id)))).toBe(false);
    // Image 2's newest label is the model's (accepted): it is left out, not trained on its older imported label.
    expect(off.cases.map((c) => c.id)).toEqual([`image-${images[3].id}`, `image-${images[4].id}`]);

    const on = await collectCases(store, null, true);
    expect(on.labelVersionIds.map(sourceOf).sort()).toEqual(['ai_accepted', 'ai_edited', 'manual', 'pseudo']);
    expect(new Set(on.labelVersionIds)).toEqual(new Set([1, 2, 3, 4].map((k) => newest.get(images[k].id)!)));
    expect(on.cases.map((c) => c.id)).not.toContain(`image-${images[0].id}`);

    // A resumed run keeps exactly its snapshot.
    const again = await collectCases(store, off.labelVersionIds, true);
    expect(again.labelVersionIds).toEqual(off.labelVersionIds);
  });
});
