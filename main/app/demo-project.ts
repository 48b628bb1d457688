// The bundled demo project: 8 hippocampus cases (5 labelled) from resources/demo, imported into a
// fresh project folder so the app opens on real data with no set-up.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProjectStore, PROJECT_DB } from '../core/project';
import { importStudy, type ImportReport } from '../core/project/import/importer';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEMO_SOURCE = path.resolve(HERE, '../../resources/demo');

/** Per-user home of Segloop data when no folder is given ($SEGLOOP_HOME, else ~/.segloop). */
export function segloopHome(): string {
  return process.env.SEGLOOP_HOME ? path.resolve(process.env.SEGLOOP_HOME) : path.join(os.homedir(), '.segloop');
}

export function defaultDemoDir(): string {
  return path.join(segloopHome(), 'demo');
}

/** Creates the demo project in `dir` (which must not hold a project yet). */
export async function createDemoProject(dir: string, source = DEMO_SOURCE): Promise<ImportReport> {
  const store = await ProjectStore.create(dir, { name: 'Hippocampus demo' });
  try {
    return await importStudy(store, {
      images: path.join(source, 'images'),
      labels: path.join(source, 'labels'),
      schemaFile: path.join(source, 'label-schema.json'),
      split: 'pool',
      modality: 'MR',
      author: 'demo',
      patientPattern: '^(hippocampus_\\d+)',
    });
  } finally {
    store.close();
  }
}

/** Opens the demo project at `dir`, creating it on first use. Returns the folder. */
export async function ensureDemoProject(dir = defaultDemoDir()): Promise<string> {
  if (!existsSync(path.join(dir, PROJECT_DB))) await createDemoProject(dir);
  return dir;
}
