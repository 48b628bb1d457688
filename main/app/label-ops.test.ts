// labels:transform on a real project: the result of an operation comes back (equal to the core
// function's), bad input is refused with a typed error, and nothing is ever written.
import { rmSync } from 'node:fs';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestProject } from '../../tests/e2e/test-project';
import { failure } from '../../tests/expect-failure';
import { growMargin, type Shape3, type Spacing3 } from '../core/imaging/label-edit-ops';
import { readNifti } from '../core/imaging/nifti';
import { regionGrow } from '../core/imaging/region-grow';
import { measureVolume } from '../core/imaging/shape-measures';
import { readStoredLabel } from '../core/project/label-voxels';
import { openProjectApp, type ProjectApp } from './project-app';

let dir = '';
let app: ProjectApp;
beforeEach(async () => {
  ({ dir } = await makeTestProject({ labelled: 1 }));
  app = await openProjectApp(dir, { transport: 'ipc', author: 'ops' });
});
afterEach(() => {
  app.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('labels:transform', () => {
  it('returns the operation applied to the labelmap sent, and writes nothing', async () => {
    const v = app.store.labelVersions.latestPerImage()[0];
    const img = app.store.images.require(v.imageId);
    const labels = await readStoredLabel(app.store, v.path);
    const before = { versions: app.store.labelVersions.latestPerImage().length, audit: app.store.audit.count() };
    const r = await app.handlers['labels:transform']({ imageId: String(img.id), voxelsGzBase64: zlib.gzipSync(labels).toString('base64'), op: { kind: 'grow', segment: 1, mm: 1.5, overwrite: false } });
    const got = new Uint8Array(zlib.gunzipSync(Buffer.from(r.voxelsGzBase64, 'base64')));
    const want = growMargin(labels, img.shape as unknown as Shape3, img.spacing as unknown as Spacing3, 1, 1.5);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
    expect(r.changedVoxels).toBeGreaterThan(0);
    expect({ versions: app.store.labelVersions.latestPerImage().length, audit: app.store.audit.count() }).toEqual(before);
  });

  it('region growing reads the stored image: equals core on it, reports the tolerance, refuses a seed outside', async () => {
    const v = app.store.labelVersions.latestPerImage()[0];
    const img = app.store.images.require(v.imageId);
    const labels = await readStoredLabel(app.store, v.path);
    const image = (await readNifti(await app.store.resolve(img.path))).data;
    const seed = labels.findIndex((x) => x === 1);
    const op = { kind: 'regionGrow' as const, segment: 1, seeds: [seed], tolerance: 'auto' as const, connectivity: 6 as const, overwrite: false };
    const r = await app.handlers['labels:transform']({ imageId: String(img.id), voxelsGzBase64: zlib.gzipSync(labels).toString('base64'), op });
    const want = regionGrow(labels, image, img.shape as unknown as Shape3, op);
    expect(Buffer.compare(Buffer.from(zlib.gunzipSync(Buffer.from(r.voxelsGzBase64, 'base64'))), Buffer.from(want.labels))).toBe(0);
    expect(r.tolerances).toEqual(want.tolerances);
    expect(r.tolerances![0]).toBeGreaterThan(0);
    const n = img.shape[0] * img.shape[1] * img.shape[2];
    const bad = await failure(app.handlers['labels:transform']({ imageId: String(img.id), voxelsGzBase64: zlib.gzipSync(labels).toString('base64'), op: { ...op, seeds: [n] } }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a segment outside the schema, a wrong-sized labelmap and an unknown image', async () => {
    const img = app.store.images.require(1);
    const n = img.shape[0] * img.shape[1] * img.shape[2];
    const ok = zlib.gzipSync(new Uint8Array(n)).toString('base64');
    const h = app.handlers['labels:transform'];
    expect((await failure(h({ imageId: '1', voxelsGzBase64: ok, op: { kind: 'clear', segment: 9 } }))).code).toBe('LABEL_OUT_OF_SCHEMA');
    expect((await failure(h({ imageId: '1', voxelsGzBase64: ok, op: { kind: 'merge', segment: 1, from: 7 } }))).code).toBe('LABEL_OUT_OF_SCHEMA');
    expect((await failure(h({ imageId: '1', voxelsGzBase64: zlib.gzipSync(new Uint8Array(5)).toString('base64'), op: { kind: 'fillHoles', segment: 1 } }))).code).toBe('LABEL_GEOMETRY_MISMATCH');
    expect((await failure(h({ imageId: '12345', voxelsGzBase64: ok, op: { kind: 'fillHoles', segment: 1 } }))).code).toBe('IMAGE_NOT_FOUND');
    expect((await failure(h({ imageId: '1', voxelsGzBase64: ok, op: { kind: 'keepAt', segment: 1, voxelIndex: 0, connectivity: 6 } }))).code).toBe('INVALID_ARGUMENT');
  });

  it('labels:measure gives every segment of the schema its voxels, mm³ and extent (no plane measures for a 3D image)', async () => {
    const v = app.store.labelVersions.latestPerImage()[0];
    const img = app.store.images.require(v.imageId);
    const labels = await readStoredLabel(app.store, v.path);
    const r = await app.handlers['labels:measure']({ imageId: String(img.id), voxelsGzBase64: zlib.gzipSync(labels).toString('base64') });
    expect(r.segments.map((s) => s.segment)).toEqual([1, 2]);
    for (const s of r.segments) {
      const want = measureVolume(labels, img.shape as unknown as [number, number, number], img.spacing as unknown as [number, number, number], s.segment);
      expect(s).toMatchObject({ voxels: want.voxels, volumeMm3: want.volumeMm3, extentMm: want.extentMm, plane: null });
      expect(s.voxels).toBeGreaterThan(0);
    }
  });
});
