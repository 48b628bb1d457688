#!/usr/bin/env node
// Writes out/licenses/THIRD_PARTY_LICENSES.txt: every npm package the packaged app ships (the
// production dependency tree from package-lock.json, optional ones only when installed), with its
// licence name and full licence text, plus the licences of the bundled data. electron-builder copies
// the folder into the installer (extraResources), so an offline hospital machine has them all.
// Usage: node scripts/third-party-licenses.mjs [outDir]   (default: out/licenses)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'out/licenses'));
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.|-|$)/i;
const DATA_LICENSES = [['resources/demo/ATTRIBUTION.md', 'Demo project data (MSD Task04 Hippocampus), CC BY-SA 4.0']];

const entries = [];
const missing = [];
for (const [key, meta] of Object.entries(lock.packages ?? {})) {
  if (!key.startsWith('node_modules/') || meta.dev || meta.link) continue;
  const dir = path.join(ROOT, key);
  if (!existsSync(path.join(dir, 'package.json'))) {
    if (!meta.optional) missing.push(key);
    continue; // an optional dependency not installed on this platform is not shipped
  }
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const license = typeof pkg.license === 'string' ? pkg.license : Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type ?? l).join(' OR ') : (pkg.license?.type ?? 'UNKNOWN');
  const spdx = { 'Apache 2.0': 'Apache-2.0', 'Apache License 2.0': 'Apache-2.0', 'Apache-2': 'Apache-2.0' };
  const licenseId = spdx[license] ?? license;
  const files = readdirSync(dir).filter((f) => LICENSE_FILE.test(f)).sort();
  const text = files.map((f) => readFileSync(path.join(dir, f), 'utf8').trim()).join('\n\n');
  entries.push({ name, version: pkg.version, license: licenseId, text, key });
}
if (missing.length) {
  console.error(`third-party-licenses: ${missing.length} production packages are not installed (${missing.slice(0, 5).join(', ')}…); run npm ci first.`);
  process.exit(1);
}
// Packages that ship no licence file still carry their licence's terms: use the full text of the
// same SPDX licence as another shipped package has it, and say so.
const textFor = new Map();
for (const e of entries) if (e.text && !textFor.has(e.license)) textFor.set(e.license, e);
for (const e of entries) {
  if (e.text) continue;
  const ids = textFor.has(e.license) ? [e.license] : e.license.replace(/[()]/g, '').split(/ AND | OR /);
  const donors = ids.map((id) => textFor.get(id));
  if (donors.every(Boolean)) {
    e.text = ids.map((id, i) => `(${e.name} ships no licence file; its package.json declares ${e.license}. The ${id} licence text, as shipped by ${donors[i].name}:)\n\n${donors[i].text}`).join('\n\n');
  }
}
// one entry per name@version (a package nested twice ships its licence once)
const unique = [...new Map(entries.map((e) => [`${e.name}@${e.version}`, e])).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const parts = [
  'Segloop — third-party software and data shipped with this installation',
  `Generated from package-lock.json: ${unique.length} npm packages.`,
  '',
];
for (const [file, title] of DATA_LICENSES) {
  parts.push('='.repeat(78), `DATA: ${title}`, '='.repeat(78), readFileSync(path.join(ROOT, file), 'utf8').trim(), '');
}
for (const e of unique) {
  parts.push('='.repeat(78), `${e.name}@${e.version} — ${e.license}`, '='.repeat(78));
  parts.push(e.text || `(no licence file in the package; its package.json declares: ${e.license})`, '');
}
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'THIRD_PARTY_LICENSES.txt'), parts.join('\n'));
writeFileSync(path.join(outDir, 'licenses.json'), JSON.stringify(unique.map(({ name, version, license, text }) => ({ name, version, license, hasText: text.length > 0 })), null, 2));
console.log(`third-party-licenses: ${unique.length} packages (${unique.filter((e) => !e.text).length} without a licence file) -> ${path.relative(ROOT, outDir)}/THIRD_PARTY_LICENSES.txt`);
