import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { DATA, segloop } from './helpers/cli';
import type { ImportReport } from '../../main/core/project/import/importer';
import { readNifti } from '../../main/core/imaging/nifti';

const HIPPO = path.join(DATA, 'hippocampus');
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'segloop-import-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function db(dir: string): Database.Database {
  return new Database(path.join(dir, 'project.db'), { readonly: true });
}

describe('segloop import (real CLI)', () => {
  it('imports the hippocampus collection twice and ends with one image and one label version per subject', () => {
    const proj = path.join(tmp, 'hippo');
    expect(segloop(['init', proj, '--json']).status).toBe(0);
    const first = segloop(['import', proj, '--images', path.join(HIPPO, 'images'), '--labels', path.join(HIPPO, 'labels'), '--split', 'pool', '--json']);
    expect(first.status, first.stderr).toBe(0);
    const r1 = first.json as ImportReport;
    expect(r1.imagesAdded).toBe(200);
    expect(r1.labelVersionsAdded).toBe(200);
    expect(r1.counts.failed).toBe(0);
    expect(r1.schema.map((c) => c.index)).toEqual([0, 1, 2]);

    const second = segloop(['import', proj, '--images', path.join(HIPPO, 'images'), '--labels', path.join(HIPPO, 'labels'), '--split', 'pool', '--json']);
    const r2 = second.json as ImportReport;
    expect(r2.imagesAdded).toBe(0);
    expect(r2.labelVersionsAdded).toBe(0);
    expect(r2.counts.unchanged).toBe(400);

    const d = db(proj);
    const perSubject = d
      .prepare(`SELECT p.external_id AS pid, COUNT(DISTINCT i.id) AS images, COUNT(lv.id) AS labels
                FROM patients p JOIN images i ON i.patient_id = p.id LEFT JOIN label_versions lv ON lv.image_id = i.id GROUP BY p.id`)
      .all() as { pid: string; images: number; labels: number }[];
    d.close();
    expect(perSubject).toHaveLength(200);
    expect(perSubject.every((s) => s.images === 1 && s.labels === 1)).toBe(true);

    const info = segloop(['info', proj, '--json']).json as { patients: number; images: number; labelledImages: number; labelVersionsBySource: Record<string, number> };
    expect(info).toMatchObject({ patients: 200, images: 200, labelledImages: 200 });
    expect(info.labelVersionsBySource.imported).toBe(200);
  });

  it('stores the float32 label of hippocampus_003 as a uint8 label with the same voxels', async () => {
    const proj = path.join(tmp, 'h003');
    segloop(['init', proj]);
    const imgDir = path.join(tmp, 'h003-img');
    const lblDir = path.join(tmp, 'h003-lbl');
    mkdirSync(imgDir);
    mkdirSync(lblDir);
    copyFileSync(path.join(HIPPO, 'images/hippocampus_003.nii.gz'), path.join(imgDir, 'hippocampus_003.nii.gz'));
    copyFileSync(path.join(HIPPO, 'labels/hippocampus_003.nii.gz'), path.join(lblDir, 'hippocampus_003.nii.gz'));
    const r = segloop(['import', proj, '--images', imgDir, '--labels', lblDir, '--json']);
    expect((r.json as ImportReport).labelVersionsAdded).toBe(1);
    const d = db(proj);
    const row = d.prepare('SELECT path, voxels_changed FROM label_versions').get() as { path: string; voxels_changed: number };
    d.close();
    const stored = gunzipSync(readFileSync(path.join(proj, row.path)));
    expect(stored.readInt16LE(70)).toBe(2); // NIfTI datatype 2 = uint8
    const voxels = stored.subarray(352);
    let fg = 0;
    for (const v of voxels) if (v > 0) fg++;
    expect(fg).toBe(row.voxels_changed);
    expect(fg).toBeGreaterThan(100);
    const original = await readNifti(path.join(HIPPO, 'labels/hippocampus_003.nii.gz'));
    expect(original.diskDtype).toBe('float32');
    expect(Array.from(voxels)).toEqual(Array.from(original.data));
  });

  it('reports and skips bad files while the rest import, with a per-file reason', () => {
    const proj = path.join(tmp, 'bad');
    segloop(['init', proj]);
    const imgDir = path.join(tmp, 'bad-img');
    const lblDir = path.join(tmp, 'bad-lbl');
    mkdirSync(imgDir);
    mkdirSync(lblDir);
    for (const id of ['hippocampus_014', 'hippocampus_070', 'hippocampus_098']) {
      copyFileSync(path.join(HIPPO, `images/${id}.nii.gz`), path.join(imgDir, `${id}.nii.gz`));
    }
    // A truncated gzip image, random bytes, a label of the wrong shape and a label with a value outside the schema.
    const whole = readFileSync(path.join(HIPPO, 'images/hippocampus_104.nii.gz'));
    writeFileSync(path.join(imgDir, 'hippocampus_104.nii.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(path.join(imgDir, 'noise.nii'), Buffer.alloc(2000, 7));
    copyFileSync(path.join(HIPPO, 'labels/hippocampus_014.nii.gz'), path.join(lblDir, 'hippocampus_014.nii.gz'));
    copyFileSync(path.join(HIPPO, 'labels/hippocampus_180.nii.gz'), path.join(lblDir, 'hippocampus_070.nii.gz'));
    const lbl = gunzipSync(readFileSync(path.join(HIPPO, 'labels/hippocampus_098.nii.gz')));
    lbl[352 + 10] = 9;
    writeFileSync(path.join(lblDir, 'hippocampus_098.nii'), lbl);
    const schema = path.join(tmp, 'schema.json');
    writeFileSync(schema, JSON.stringify({ labels: [{ index: 0, name: 'background', colour: '#000000' }, { index: 1, name: 'anterior', colour: '#ff0000' }, { index: 2, name: 'posterior', colour: '#0000ff' }] }));

    const r = segloop(['import', proj, '--images', imgDir, '--labels', lblDir, '--schema', schema, '--json']);
    expect(r.status).toBe(3);
    const rep = r.json as ImportReport;
    const byName = (n: string) => rep.files.filter((f) => path.basename(f.file) === n);
    expect(byName('hippocampus_104.nii.gz')[0]).toMatchObject({ status: 'failed', code: 'NIFTI_TRUNCATED' });
    expect(byName('noise.nii')[0]).toMatchObject({ status: 'failed', code: 'NOT_NIFTI' });
    expect(byName('hippocampus_070.nii.gz').find((f) => f.kind === 'label')).toMatchObject({ status: 'failed', code: 'LABEL_GEOMETRY_MISMATCH' });
    expect(byName('hippocampus_098.nii')[0]).toMatchObject({ status: 'failed', code: 'LABEL_OUT_OF_SCHEMA' });
    expect(byName('hippocampus_098.nii')[0].message).toContain('9');
    expect(rep.imagesAdded).toBe(3);
    expect(rep.labelVersionsAdded).toBe(1);
    expect(rep.schema.map((c) => c.name)).toEqual(['background', 'anterior', 'posterior']);

    // Human output names the problems too.
    const human = segloop(['import', proj, '--images', imgDir, '--labels', lblDir, '--schema', schema]);
    expect(human.stdout).toContain('NIFTI_TRUNCATED');
    expect(human.stdout).toContain('0 imported');
  });

  it('decodes an RGB mask by nearest schema colour and reports the off-palette pixels', async () => {
    const proj = path.join(tmp, 'rgb');
    segloop(['init', proj]);
    const imgDir = path.join(tmp, 'rgb-img');
    const lblDir = path.join(tmp, 'rgb-lbl');
    mkdirSync(imgDir);
    mkdirSync(lblDir);
    copyFileSync(path.join(HIPPO, 'images/hippocampus_006.nii.gz'), path.join(imgDir, 'hippocampus_006.nii.gz'));
    const colours = ['#000000', '#e6553a', '#3a8ee6'];
    const blended = execFileSync('/usr/bin/python3', [path.join(__dirname, 'ref/make_rgb_mask.py'), path.join(HIPPO, 'labels/hippocampus_006.nii.gz'), path.join(lblDir, 'hippocampus_006.nii'), ...colours], { encoding: 'utf8' });
    const schema = path.join(tmp, 'rgb-schema.json');
    writeFileSync(schema, JSON.stringify({ labels: colours.map((colour, index) => ({ index, name: `c${index}`, colour })) }));

    segloop(['init', path.join(tmp, 'rgb-noschema')]);
    const noSchema = segloop(['import', path.join(tmp, 'rgb-noschema'), '--images', imgDir, '--labels', lblDir, '--json']);
    expect(noSchema.status).toBe(3);
    expect((noSchema.json as ImportReport).files.find((f) => f.kind === 'label')).toMatchObject({ status: 'failed', code: 'LABEL_OUT_OF_SCHEMA', message: expect.stringContaining('RGB mask') });

    const r = segloop(['import', proj, '--images', imgDir, '--labels', lblDir, '--schema', schema, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const label = (r.json as ImportReport).files.find((f) => f.kind === 'label');
    expect(label).toMatchObject({ status: 'imported' });
    expect(label?.note).toContain(`${Number(blended)} pixel(s) were not exactly a schema colour`);
    const d = db(proj);
    const row = d.prepare('SELECT path FROM label_versions').get() as { path: string };
    d.close();
    const stored = await readNifti(path.join(proj, row.path));
    const original = await readNifti(path.join(HIPPO, 'labels/hippocampus_006.nii.gz'));
    expect(Array.from(stored.data)).toEqual(Array.from(original.data));
  });

  it('imports a DICOM series as one NIfTI image of the DICOM patient', () => {
    const proj = path.join(tmp, 'dicom');
    segloop(['init', proj]);
    const r = segloop(['import', proj, '--images', path.join(DATA, 'dicom/t1_fl2d_sag'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = r.json as ImportReport;
    expect(rep.imagesAdded).toBe(1);
    expect(rep.files[0]).toMatchObject({ kind: 'dicom-series', status: 'imported', patientId: 'crlab' });
    const d = db(proj);
    const img = d.prepare('SELECT shape, spacing, modality FROM images').get() as { shape: string; spacing: string; modality: string };
    d.close();
    expect(JSON.parse(img.shape)).toEqual([256, 256, 35]);
    expect(JSON.parse(img.spacing)[2]).toBeCloseTo(4.8, 4);
    expect(img.modality).toBe('MR');
    expect((segloop(['import', proj, '--images', path.join(DATA, 'dicom/t1_fl2d_sag'), '--json']).json as ImportReport).imagesAdded).toBe(0);
  });

  it('fails clearly on a missing project or images folder', () => {
    const r = segloop(['info', path.join(tmp, 'nope'), '--json']);
    expect(r.status).toBe(1);
    expect((r.json as { error: { code: string } }).error.code).toBe('PROJECT_NOT_FOUND');
    const proj = path.join(tmp, 'empty');
    segloop(['init', proj]);
    const r2 = segloop(['import', proj, '--images', path.join(tmp, 'missing'), '--json']);
    expect((r2.json as { error: { code: string; message: string } }).error).toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
