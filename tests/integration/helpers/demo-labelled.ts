// The five labelled demo cases copied into `<dir>/src/{images,labels}` (the demo folder has labels
// for five of its eight images): a small real training set for CLI tests.
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const DEMO = path.resolve(__dirname, '../../../resources/demo');

export async function copyLabelledDemoCases(dir: string): Promise<{ images: string; labels: string; schema: string }> {
  const images = path.join(dir, 'src', 'images');
  const labels = path.join(dir, 'src', 'labels');
  await fs.mkdir(images, { recursive: true });
  await fs.mkdir(labels, { recursive: true });
  for (const f of await fs.readdir(path.join(DEMO, 'labels'))) {
    await fs.copyFile(path.join(DEMO, 'images', f), path.join(images, f));
    await fs.copyFile(path.join(DEMO, 'labels', f), path.join(labels, f));
  }
  return { images, labels, schema: path.join(DEMO, 'label-schema.json') };
}
