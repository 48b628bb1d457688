// The real files the fuzzer mutates: every NIfTI variant of ../shared/data/formats (incl. the
// .hdr/.img pairs and the negative cases), two hippocampus images and three DICOM slices.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DICOM, FORMATS, HIPPOCAMPUS } from '../data-root';
import type { SeedFile } from './mutate';

/** Larger seeds make each case slower without new header paths: keep the run's cases fast. */
const MAX_SEED_BYTES = 4 * 1024 * 1024;

export function loadSeeds(): SeedFile[] {
  const seeds: SeedFile[] = [];
  for (const sub of ['synthetic', 'nibabel', 'nifti-reader-js', 'negative']) {
    const dir = path.join(FORMATS, sub);
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const full = path.join(dir, name);
      if (/\.img(\.gz)?$/i.test(name)) continue; // read as the partner of its .hdr
      if (!/\.(nii|hdr)(\.gz)?$/i.test(name)) continue;
      const bytes = readFileSync(full);
      if (bytes.length > MAX_SEED_BYTES) continue;
      const seed: SeedFile = { name: `${sub}/${name}`, bytes, kind: 'nifti' };
      const pair = /^(.*)\.hdr(\.gz)?$/i.exec(name);
      if (pair) {
        const img = names.find((n) => n.toLowerCase() === `${pair[1]}.img${pair[2] ?? ''}`.toLowerCase());
        if (!img) continue;
        seed.partner = { name: img, bytes: readFileSync(path.join(dir, img)) };
      }
      seeds.push(seed);
    }
  }
  const hipp = readdirSync(path.join(HIPPOCAMPUS, 'images')).sort().slice(0, 2);
  for (const name of hipp) seeds.push({ name: `hippocampus/${name}`, bytes: readFileSync(path.join(HIPPOCAMPUS, 'images', name)), kind: 'nifti' });
  const series = path.join(DICOM, 't1_fl2d_sag');
  for (const name of readdirSync(series).sort().slice(0, 3)) {
    seeds.push({ name: `dicom/${name}`, bytes: readFileSync(path.join(series, name)), kind: 'dicom' });
  }
  return seeds;
}
