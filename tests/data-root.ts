// Where the shared developer data sets live (../shared/data beside the repository; see its README).
// $SEGLOOP_DATA overrides. A missing data folder is an error, never a silent skip.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function locate(): string {
  const candidates = [process.env.SEGLOOP_DATA, path.resolve(HERE, '../../shared/data'), '/work/shared/data'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(path.join(p, 'hippocampus', 'splits.json')));
  if (!found) throw new Error(`Test data not found (looked in ${candidates.join(', ')}); set SEGLOOP_DATA to the shared data folder.`);
  return found;
}

export const DATA_ROOT = locate();
export const HIPPOCAMPUS = path.join(DATA_ROOT, 'hippocampus');
export const FORMATS = path.join(DATA_ROOT, 'formats');
export const DICOM = path.join(DATA_ROOT, 'dicom');
