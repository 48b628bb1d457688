// The bundled demo project: 8 hippocampus cases (5 labelled) from resources/demo, imported into a
// fresh project folder so the app opens on real data with no set-up.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegloopError } from '../../shared/errors';
import { ProjectStore, PROJECT_DB } from '../core/project';
import { importStudy, type ImportReport } from '../core/project/import/importer';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Where the bundled demo data lives: $SEGLOOP_DEMO_SOURCE, a packaged app's resources, or the repository. */
export function demoSource(): string {
  if (process.env.SEGLOOP_DEMO_SOURCE) return path.resolve(process.env.SEGLOOP_DEMO_SOURCE);
  // electron-builder puts resources/demo into <resources>/demo (extraResources in electron-builder.yml).
  const packaged = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, 'demo', 'images'))) return path.join(packaged, 'demo');
  for (const rel of ['../../resources/demo', '../../../resources/demo']) {
    const dir = path.resolve(HERE, rel);
    if (existsSync(path.join(dir, 'images'))) return dir;
  }
  throw new SegloopError('FILE_NOT_FOUND', 'The bundled demo data (resources/demo) is missing from this installation.');
}

/** Per-user home of Segloop data when no folder is given ($SEGLOOP_HOME, else ~/.segloop). */
export function segloopHome(): string {
  return process.env.SEGLOOP_HOME ? path.resolve(process.env.SEGLOOP_HOME) : path.join(os.homedir(), '.segloop');
}

export function defaultDemoDir(): string {
  return path.join(segloopHome(), 'demo');
}

/** Creates the demo project in `dir` (which must not hold a project yet). */
export async function createDemoProject(dir: string, source = demoSource()): Promise<ImportReport> {
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
