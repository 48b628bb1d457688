// Runs one fuzz case against the product's readers and classifies the result. A case passes
// when the reader returns a volume or throws a SegloopError; any other throw is a defect.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SegloopError } from '../../shared/errors';
import { assertUsableGeometry, readNifti } from '../../main/core/imaging/nifti';
import { readDicomSeries, scanDicomFolderWithReport } from '../../main/core/imaging/dicom';
import type { FuzzCase } from './mutate';

export interface CaseResult {
  index: number;
  seedName: string;
  mutation: string;
  reader: FuzzCase['reader'];
  outcome: 'ok' | 'typed' | 'untyped';
  code?: string;
  message?: string;
  stack?: string;
}

async function exercise(c: FuzzCase, dir: string): Promise<void> {
  const paths = c.files.map((f) => path.join(dir, f.name));
  if (c.reader === 'nifti') {
    const img = await readNifti(paths[0], { volume: 0 });
    // touch the result the way import does: a wrong length would be a silent defect
    const want = img.shape[0] * img.shape[1] * img.shape[2] * img.channels;
    if (img.data.length !== want) throw new Error(`voxel array length ${img.data.length} != shape ${img.shape.join('x')} x ${img.channels}`);
    assertUsableGeometry(img, c.files[0].name); // what import checks next
    return;
  }
  if (c.reader === 'dicom-file') {
    assertUsableGeometry(await readDicomSeries([paths[0]]), c.files[0].name);
    return;
  }
  const scan = await scanDicomFolderWithReport(dir);
  for (const s of scan.series) assertUsableGeometry(await readDicomSeries(s.files), s.files[0]);
  assertUsableGeometry(await readDicomSeries(paths), c.files[0].name);
}

export async function runCase(c: FuzzCase): Promise<CaseResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'segloop-fuzz-'));
  const base = { index: c.index, seedName: c.seedName, mutation: c.mutation, reader: c.reader };
  try {
    for (const f of c.files) await writeFile(path.join(dir, f.name), f.bytes);
    await exercise(c, dir);
    return { ...base, outcome: 'ok' };
  } catch (err) {
    if (err instanceof SegloopError) return { ...base, outcome: 'typed', code: err.code };
    const e = err as Error;
    return { ...base, outcome: 'untyped', message: String(e?.message ?? e), stack: e?.stack?.split('\n').slice(0, 6).join('\n') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
