// DAD pruning and partially labelled data as a user runs them: `segloop train` records per-image
// DAD scores (runs/<id>/dad.json), `segloop prune --lowest` puts the lowest-DAD images into the
// exclusion set (audited, nothing deleted), the next `segloop train` leaves them out and lists them
// in its data snapshot, `--restore` brings them back; `segloop labels set-classes` declares which
// classes a label covers (a new label version) and a run with the adaptive loss + label dropout trains on it.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../main/core/project';
import { copyLabelledDemoCases, DEMO } from './helpers/demo-labelled';
import { readDadFile, writeDadFile, DAD_FORMAT, DAD_METRIC } from '../../main/core/ml/dad';
import { listExclusions } from '../../main/core/ml/dad-exclusions';

const run = promisify(execFile);
const CLI = path.resolve('bin/segloop.mjs');
const TINY = ['--width', '4', '--depth', '3', '--steps-per-epoch', '3', '--batch-size', '4'];

let dir: string;
let p: string;

async function cli(args: string[]): Promise<{ json: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--json'], { maxBuffer: 1 << 24 });
  return { json: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

async function withStore<T>(fn: (s: ProjectStore) => T | Promise<T>): Promise<T> {
  const s = await ProjectStore.open(p);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-prune-cli-'));
  const { images: imgs, labels: labs } = await copyLabelledDemoCases(dir);
  p = path.join(dir, 'p');
  await run(process.execPath, [CLI, 'init', p]);
  await run(process.execPath, [CLI, 'import', p, '--images', imgs, '--labels', labs, '--schema', path.join(DEMO, 'label-schema.json')]);
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('segloop prune / labels', () => {
  let firstRun: number;
  let trainIds: string[];

  it('a training run records per-image DAD scores every epoch in runs/<id>/dad.json', async () => {
    const { json } = await cli(['train', p, '--epochs', '2', ...TINY]);
    firstRun = json.runId as number;
    const file = path.join(p, 'runs', String(firstRun), 'dad.json');
    const dad = await readDadFile(file);
    expect(dad.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    trainIds = dad.caseIds;
    expect(trainIds.length).toBe(4); // 5 images, 1 validation image
    // Every scored image is one of the run's training images; scores are Dice values.
    for (const e of dad.epochs) {
      for (const [id, [sum, n]] of Object.entries(e.cases)) {
        expect(trainIds).toContain(id);
        expect(sum / n).toBeGreaterThanOrEqual(0);
        expect(sum / n).toBeLessThanOrEqual(1);
      }
    }
    const log = await withStore((s) => s.trainingRuns.require(firstRun).log);
    expect(log).toContain(`runs/${firstRun}/dad.json`);
  });

  it('--lowest 50% excludes the two lowest-DAD images (audited, nothing deleted); the next train leaves them out; --restore brings them back', async () => {
    // Replace the measured scores with known ones: DAD = 0.1, 0.2, 0.3, 0.4 in trainIds order.
    const file = path.join(p, 'runs', String(firstRun), 'dad.json');
    const cases = Object.fromEntries(trainIds.map((id, i) => [id, [0.1 * (i + 1), 1] as [number, number]]));
    await writeDadFile(file, { format: DAD_FORMAT, metric: DAD_METRIC, numClasses: 3, caseIds: trainIds, epochs: [{ epoch: 1, cases }] });
    const lowest = trainIds.slice(0, 2).map((id) => Number(id.slice('image-'.length)));

    const before = await withStore((s) => ({ images: s.images.count(), versions: s.labelVersions.count(), files: s.images.list().map((i) => i.path) }));
    const dry = await cli(['prune', p, '--run', String(firstRun), '--lowest', '50%', '--dry-run']);
    expect((dry.json.selected as { imageId: number }[]).map((s) => s.imageId)).toEqual(lowest);
    expect(await withStore((s) => listExclusions(s))).toEqual([]); // a dry run changes nothing

    const { json } = await cli(['prune', p, '--run', String(firstRun), '--lowest', '50%']);
    expect(json.added).toEqual(lowest);
    await withStore((s) => {
      const ex = listExclusions(s);
      expect(ex.map((e) => e.imageId)).toEqual(lowest);
      expect(ex.map((e) => e.dad)).toEqual([0.1, 0.2].map((v) => expect.closeTo(v, 12)));
      expect(ex.every((e) => e.runId === firstRun)).toBe(true);
      const audit = s.audit.list({ action: 'training_exclusion.add' });
      expect(audit).toHaveLength(1);
      expect(audit[0].details).toMatchObject({ imageIds: lowest, runId: firstRun });
      // Nothing deleted.
      expect(s.images.count()).toBe(before.images);
      expect(s.labelVersions.count()).toBe(before.versions);
      for (const f of before.files) expect(existsSync(path.join(p, f))).toBe(true);
    });
    // Pruning the same images again adds nothing.
    const again = await cli(['prune', p, '--run', String(firstRun), '--lowest', '50%']);
    expect(again.json).toMatchObject({ added: [], alreadyExcluded: lowest });

    // The next training leaves them out and says so in its data snapshot and log; it uses the
    // adaptive loss with label dropout (settings recorded in the run config).
    const second = await cli(['train', p, '--epochs', '1', ...TINY, '--partial-loss', 'exclude', '--label-dropout', '0.3']);
    await withStore((s) => {
      const r = s.trainingRuns.require(second.json.runId as number);
      expect(r.status).toBe('completed');
      expect(r.dataSnapshot.excludedImageIds).toEqual(lowest);
      const trainedImages = r.dataSnapshot.labelVersionIds.map((id) => s.labelVersions.require(id).imageId);
      expect(trainedImages).toHaveLength(3);
      for (const id of lowest) expect(trainedImages).not.toContain(id);
      expect(r.log).toMatch(/2 image\(s\) left out by the training exclusion set/);
      expect(r.config).toMatchObject({ trainer: { partialLoss: 'exclude', labelDropout: 0.3 } });
    });
    const dad2 = await readDadFile(path.join(p, 'runs', String(second.json.runId), 'dad.json'));
    for (const id of lowest) expect(dad2.caseIds).not.toContain(`image-${id}`);

    const restored = await cli(['prune', p, '--restore']);
    expect(restored.json).toEqual({ restored: lowest });
    await withStore((s) => {
      expect(listExclusions(s)).toEqual([]);
      expect(s.audit.list({ action: 'training_exclusion.restore' })[0].details).toEqual({ imageIds: lowest });
    });
    const list = await cli(['prune', p, '--list']);
    expect(list.json).toEqual([]);
  });

  it('--random excludes a seeded random set of the same size; --restore --images restores only those', async () => {
    const a = await cli(['prune', p, '--run', String(firstRun), '--random', '0.5', '--seed', '7', '--dry-run']);
    const b = await cli(['prune', p, '--run', String(firstRun), '--random', '0.5', '--seed', '7']);
    const picked = (b.json.added as number[]).slice().sort((x, y) => x - y);
    expect(picked).toHaveLength(2);
    expect((a.json.selected as { imageId: number }[]).map((s) => s.imageId).sort((x, y) => x - y)).toEqual(picked);
    const one = await cli(['prune', p, '--restore', '--images', String(picked[0])]);
    expect(one.json).toEqual({ restored: [picked[0]] });
    expect((await withStore((s) => listExclusions(s))).map((e) => e.imageId)).toEqual([picked[1]]);
    await cli(['prune', p, '--restore']);
  });

  it('bad input gives a clear error and changes nothing', async () => {
    const fail = (args: string[], re: RegExp) => expect(cli(args)).rejects.toMatchObject({ stdout: expect.stringMatching(re) });
    await fail(['prune', p, '--lowest', '30%'], /need --run/);
    await fail(['prune', p, '--run', String(firstRun), '--lowest', '130%'], /fraction between 0 and 1/);
    await fail(['prune', p, '--run', String(firstRun), '--lowest', '30%', '--highest', '10%'], /exactly one of/);
    await fail(['prune', p, '--run', '999', '--lowest', '30%'], /Training run 999 does not exist/);
    await fail(['prune', p, '--restore', '--images', '1'], /not excluded from training/);
    await fs.rm(path.join(p, 'runs', String(firstRun), 'dad.json'));
    await fail(['prune', p, '--run', String(firstRun), '--lowest', '30%'], /recorded no DAD scores/);
    expect(await withStore((s) => listExclusions(s))).toEqual([]);
  });

  it('labels set-classes saves a new label version with the same file and the declared classes; classes lists them', async () => {
    const img = await withStore((s) => s.images.list()[0].id);
    const before = await withStore((s) => s.labelVersions.latestForImage(img));
    const { json } = await cli(['labels', 'set-classes', p, '--images', String(img), '--classes', '1']);
    expect(json).toMatchObject({ changed: [{ imageId: img, parentId: before?.id, labelledClasses: [1] }], unchanged: [] });
    await withStore((s) => {
      const now = s.labelVersions.latestForImage(img);
      expect(now?.labelledClasses).toEqual([1]);
      expect(now?.path).toBe(before?.path);
      expect(now?.sha256).toBe(before?.sha256);
      expect(s.labelVersions.require(before?.id as number).labelledClasses).toBeNull(); // the old version is untouched
      expect(s.audit.list({ action: 'label_version.create', entityId: now?.id })).toHaveLength(1);
    });
    const listed = await cli(['labels', 'classes', p, '--images', String(img)]);
    expect(listed.json).toEqual([{ imageId: img, labelVersionId: expect.any(Number), labelledClasses: [1] }]);
    const same = await cli(['labels', 'set-classes', p, '--images', String(img), '--classes', '1']);
    expect(same.json).toMatchObject({ changed: [], unchanged: [img] });
    const all = await cli(['labels', 'set-classes', p, '--images', String(img), '--classes', '1,2']);
    expect(all.json).toMatchObject({ changed: [{ labelledClasses: null }] }); // every class = complete
    await expect(cli(['labels', 'set-classes', p, '--images', String(img), '--classes', '7'])).rejects.toMatchObject({ stdout: expect.stringMatching(/LABEL_OUT_OF_SCHEMA/) });
    await expect(cli(['labels', 'set-classes', p, '--classes', '1'])).rejects.toMatchObject({ stdout: expect.stringMatching(/exactly one of/) });
    await expect(cli(['labels', 'set-classes', p, '--site', 'nowhere', '--classes', '1'])).rejects.toMatchObject({ stdout: expect.stringMatching(/No image of this project has site .*nowhere/) });
  });
});
