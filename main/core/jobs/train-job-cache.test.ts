// The preprocessing cache through the real path: trainInProject -> worker process -> pool, with
// the project's .segloop/cache. A second training on the same data reads every case from the
// cache; the project stays intact (integrity check) and nothing outside .segloop/cache is written.
import { promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../imaging/nifti';
import { ProjectStore } from '../project';
import type { TaskEvent } from '../worker/protocol';
import { trainInProject } from './train-job';

const DEMO = path.resolve('resources/demo');
const IDS = ['014', '070', '098', '104'];
const TINY = { model: { depth: 3, baseWidth: 4 }, batchSize: 2, stepsPerEpoch: 1, valFraction: 0.25, patchSize: [48, 64], recordDad: false };

let dir: string;
let store: ProjectStore;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-train-cache-'));
  store = await ProjectStore.create(dir, { name: 'train-cache' });
  store.labelSchema.set([
    { idx: 0, name: 'background', colour: '#000000' },
    { idx: 1, name: 'anterior', colour: '#ff0000' },
    { idx: 2, name: 'posterior', colour: '#0000ff' },
  ]);
  for (const id of IDS) {
    const file = path.join(DEMO, 'images', `hippocampus_${id}.nii.gz`);
    const img = await readNifti(file);
    const { row } = await store.addImageFile({
      sourcePath: file, patientExternalId: `patient-${id}`, shape: [...img.shape], spacing: [...img.spacing],
      affine: img.affine.map((r) => [...r]), dtype: img.diskDtype, modality: 'MR',
    });
    const bytes = new Uint8Array(await fs.readFile(path.join(DEMO, 'labels', `hippocampus_${id}.nii.gz`)));
    await store.addLabelVersionFile({ imageId: row.id, source: 'imported', author: 'test', bytes });
  }
});

afterAll(async () => {
  store?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const loadingMessages = (events: TaskEvent[]): string[] =>
  events.filter((e): e is Extract<TaskEvent, { type: 'progress' }> => e.type === 'progress' && e.message.startsWith('loading')).map((e) => e.message);

describe('training job with the preprocessing cache', { timeout: 600_000 }, () => {
  it('first run fills .segloop/cache/<plan>/ with one file per case; the second reads them all from it', async () => {
    const first: TaskEvent[] = [];
    const a = await trainInProject(store, { epochs: 1, config: TINY, onEvent: (e) => first.push(e) });
    expect(a.run.status).toBe('completed');
    const n = IDS.length;
    expect(loadingMessages(first)).toEqual(Array.from({ length: n + 1 }, (_, i) => `loading ${i}/${n} images`));
    const cacheRoot = path.join(dir, '.segloop', 'cache');
    const plans = readdirSync(cacheRoot);
    expect(plans).toHaveLength(1);
    expect(readdirSync(path.join(cacheRoot, plans[0])).filter((f) => f.endsWith('.case'))).toHaveLength(n);

    const second: TaskEvent[] = [];
    const b = await trainInProject(store, { epochs: 1, config: TINY, onEvent: (e) => second.push(e) });
    expect(b.run.status).toBe('completed');
    expect(loadingMessages(second).at(-1)).toBe(`loading ${n}/${n} images (${n} from the cache)`);
    expect(second.some((e) => e.type === 'log' && /case memory: .*at most \d+ MB/.test(e.message))).toBe(true);
    // same data, same seed, same plan: the cached arrays train exactly like the fresh ones
    expect(b.result.history[0].trainLoss).toBe(a.result.history[0].trainLoss);
    await expect(store.checkIntegrity().then((r) => r.ok)).resolves.toBe(true);
  });
});
