#!/usr/bin/env node
// The native conv3d addon (native/conv3d) as a thing to ship: how it links its BLAS, whether it can
// load on a machine that has only what Electron itself needs, where the packaged app carries it.
// Plain .mjs because binding.gyp (`link-flags`), scripts/dist.mjs and third-party-licenses.mjs run it
// under bare Node before any TypeScript loader; `segloop doctor` and the packaging tests import it
// too (types in native-addon.d.mts).
//
// Linux: OpenBLAS is linked statically (Debian/Ubuntu libopenblas-dev ships libopenblas.a), its
// symbols hidden (--exclude-libs), so the .node needs only glibc and libstdc++ — no
// libopenblas.so.0 / libgfortran.so.5 on the user's machine. Only BLAS objects are pulled from the
// archive; the LAPACK objects that need libgfortran are not referenced, so none of it comes along.
//
// Usage:
//   node scripts/native-addon.mjs link-flags     linker inputs for binding.gyp's Linux branch
//   node scripts/native-addon.mjs openblas-dir   OpenBLAS folder for binding.gyp's Windows branch
//   node scripts/native-addon.mjs check [file]   dependencies of the built addon, exit 1 if not shippable
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm run build:native` writes the addon, relative to the repository. */
export const ADDON_BUILD_RELATIVE = 'native/conv3d/build/Release/segloop_conv3d.node';
/**
 * Where the packaged app carries it, relative to the app's resources folder (process.resourcesPath):
 * the same relative path as in the repository, so the loader's one search covers both.
 */
export const ADDON_RESOURCES_RELATIVE = ADDON_BUILD_RELATIVE;
/** scripts/dist.mjs copies the checked addon here; electron-builder.yml's extraResources takes it from here. */
export const stageDir = (osName, arch, root = ROOT) => path.join(root, 'out', 'native', `${osName}-${arch}`);
/** electron-builder's ${os} for a Node platform. */
export const builderOs = (platform) => ({ darwin: 'mac', win32: 'win', linux: 'linux' })[platform] ?? platform;

/**
 * Libraries every glibc desktop that runs Electron has (Electron and better-sqlite3 need the same
 * ones; libstdc++6 is "important" priority on Debian/Ubuntu and in every Fedora base install).
 */
export const LINUX_SYSTEM_LIBS = new Set([
  'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libstdc++.so.6', 'libgcc_s.so.1',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
]);

/** Static OpenBLAS archives, most specific first (the pthread build: the OpenMP one would need libgomp). */
function staticOpenblasCandidates() {
  const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? `${process.arch}-linux-gnu`;
  return [
    process.env.SEGLOOP_OPENBLAS_STATIC,
    `/usr/lib/${multiarch}/openblas-pthread/libopenblas.a`, // Debian/Ubuntu libopenblas-pthread-dev
    '/usr/lib64/libopenblasp.a', // Fedora/RHEL openblas-static (pthreads)
    `/usr/lib/${multiarch}/libopenblas.a`,
    '/usr/lib64/libopenblas.a',
    '/usr/lib/libopenblas.a',
    '/usr/local/lib/libopenblas.a',
  ].filter(Boolean);
}

/** What binding.gyp links on Linux: the static OpenBLAS when there is one, else the shared one. */
export function linuxLinkFlags() {
  const forceDynamic = process.env.SEGLOOP_BLAS_LINK === 'dynamic';
  const archive = forceDynamic ? undefined : staticOpenblasCandidates().find((f) => existsSync(f));
  return archive ? [archive, '-lpthread', '-lm'] : ['-lopenblas', '-lpthread'];
}

/**
 * DT_NEEDED, DT_RPATH and DT_RUNPATH of a 64-bit little-endian ELF shared object (x64, arm64),
 * read from its dynamic segment — the same list `ldd` starts from, without needing binutils.
 */
export function readElfDynamic(file) {
  const b = readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF`);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  const loads = [];
  let dynamic = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = b.readUInt32LE(o);
    const seg = { offset: Number(b.readBigUInt64LE(o + 8)), vaddr: Number(b.readBigUInt64LE(o + 16)), filesz: Number(b.readBigUInt64LE(o + 32)) };
    if (type === 1) loads.push(seg);
    if (type === 2) dynamic = seg;
  }
  if (!dynamic) return { needed: [], rpath: [], runpath: [] };
  const toOffset = (vaddr) => {
    const seg = loads.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    if (!seg) throw new Error(`${file}: address 0x${vaddr.toString(16)} is in no loaded segment`);
    return vaddr - seg.vaddr + seg.offset;
  };
  const entries = [];
  let strtab = null;
  for (let o = dynamic.offset; o + 16 <= dynamic.offset + dynamic.filesz; o += 16) {
    const tag = Number(b.readBigInt64LE(o));
    const val = Number(b.readBigUInt64LE(o + 8));
    if (tag === 0) break;
    if (tag === 5) strtab = toOffset(val);
    entries.push([tag, val]);
  }
  if (strtab === null) throw new Error(`${file}: dynamic section without a string table`);
  const str = (at) => {
    const start = strtab + at;
    return b.toString('latin1', start, b.indexOf(0, start));
  };
  const pick = (t) => entries.filter(([tag]) => tag === t).map(([, v]) => str(v));
  return { needed: pick(1), rpath: pick(15).flatMap((s) => s.split(':')), runpath: pick(29).flatMap((s) => s.split(':')) };
}

/** The OpenBLAS version compiled into a file (its openblas_get_config string), or null. */
export function openblasVersionIn(file) {
  const m = /OpenBLAS (\d+\.\d+\.\d+)/.exec(readFileSync(file).toString('latin1'));
  return m ? m[1] : null;
}

/**
 * Can this Linux addon load on a machine with only the system libraries? Every DT_NEEDED entry is a
 * system library or sits beside the addon with an $ORIGIN search path.
 * @returns {{ needed: string[], runpath: string[], bundled: string[], missing: string[], blas: string }}
 */
export function linuxAddonDependencies(file, seen = new Set()) {
  seen.add(path.resolve(file));
  const { needed, rpath, runpath } = readElfDynamic(file);
  const search = [...rpath, ...runpath];
  // only $ORIGIN-relative entries travel with the package; an absolute one names the build machine
  const originDirs = search.filter((p) => /^\$(ORIGIN|\{ORIGIN\})(\/|$)/.test(p)).map((p) => path.join(path.dirname(file), p.replace(/^\$(ORIGIN|\{ORIGIN\})/, '')));
  const beside = (lib) => originDirs.some((d) => existsSync(path.join(d, lib)));
  const foreign = needed.filter((l) => !LINUX_SYSTEM_LIBS.has(l));
  const bundled = foreign.filter(beside);
  const missing = foreign.filter((l) => !bundled.includes(l));
  // a bundled library's own needs count too (libopenblas.so.0 needs libgfortran.so.5)
  for (const lib of bundled) {
    const at = path.resolve(originDirs.map((d) => path.join(d, lib)).find((f) => existsSync(f)));
    if (seen.has(at)) continue;
    for (const m of linuxAddonDependencies(at, seen).missing) if (!missing.includes(m)) missing.push(m);
  }
  const version = openblasVersionIn(file);
  const blasLib = needed.find((l) => /^lib(open)?blas/.test(l));
  const blas = blasLib
    ? bundled.includes(blasLib) ? `${blasLib} shipped beside the addon` : `the system's ${blasLib} (dynamic)`
    : version
      ? `OpenBLAS ${version}, linked statically`
      : 'no OpenBLAS found in the file';
  return { needed, runpath: search, bundled, missing, blas };
}

/** One line for `segloop doctor`: where the loaded addon came from and what its BLAS needs. */
export function describeAddonFile(file, resourcesPath = process.resourcesPath) {
  const where = resourcesPath && path.resolve(file).startsWith(path.resolve(resourcesPath) + path.sep)
    ? 'bundled with the app'
    : path.resolve(file) === path.join(ROOT, ADDON_BUILD_RELATIVE)
      ? 'built in this checkout (npm run build:native)'
      : process.env.SEGLOOP_NATIVE_CONV_PATH
        ? 'SEGLOOP_NATIVE_CONV_PATH'
        : 'found beside the code';
  if (process.platform === 'darwin') return `${where}; BLAS: Accelerate (system framework)`;
  if (process.platform !== 'linux') return where;
  try {
    const d = linuxAddonDependencies(file);
    const needs = d.missing.length ? `; needs ${d.missing.join(', ')} from the system` : `; needs only ${d.needed.join(', ')}`;
    return `${where}; BLAS: ${d.blas}${needs}`;
  } catch (e) {
    return `${where}; ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Load the addon in a fresh Node process with no LD_LIBRARY_PATH and run one 2x2x2 convolution on
 * it (y = 2x through cblas_sgemm): proves the BLAS it carries works, not just that dlopen succeeds.
 * @returns {{ ok: boolean, blasInfo?: string, mappedBlas?: string[], error?: string }}
 */
export function loadCheck(file, { wrap = [] } = {}) {
  const code = `
    const a = require(${JSON.stringify(path.resolve(file))});
    const g = Int32Array.from([1,2,2,2,1, 1,1,1,1, 1,1,1, 0,0,0, 2,2,2]);
    const x = Float32Array.from([1,2,3,4,5,6,7,8]), w = Float32Array.from([2]), y = new Float32Array(8);
    a.forward(x, w, y, g, 1);
    if (y.some((v, i) => v !== 2 * x[i])) throw new Error('wrong result ' + Array.from(y));
    let maps = '';
    try { maps = require('fs').readFileSync('/proc/self/maps', 'utf8'); } catch {}
    const mapped = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5] || '').filter((p) => /blas|gfortran|lapack/i.test(p)))];
    console.log(JSON.stringify({ blasInfo: a.blasInfo(), mappedBlas: mapped }));`;
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  delete env.LD_PRELOAD;
  const [cmd, ...args] = [...wrap, process.execPath, '-e', code];
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return { ok: false, error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ') };
  const last = r.stdout.trim().split('\n').at(-1);
  return { ok: true, ...JSON.parse(last) };
}

/**
 * Copy the built addon (and any library it carries beside it) into `dir`, the folder
 * electron-builder.yml ships as <resources>/native/conv3d/build/Release/, after checking that it
 * can work on a user's machine: nothing needed from the system beyond LINUX_SYSTEM_LIBS, loads in a
 * clean process, computes a convolution, maps no BLAS from outside `dir`. Throws with the reason.
 * @returns {{ files: string[], bytes: number, blas: string, blasInfo: string }}
 */
export function stageAddon(src, dir, platform = process.platform) {
  if (!existsSync(src)) throw new Error(`no native conv3d addon at ${path.relative(ROOT, src) || src}: run npm run build:native (Linux: g++, make, libopenblas-dev).`);
  const files = [src];
  let blas = platform === 'darwin' ? 'Accelerate (system framework)' : '';
  if (platform === 'linux') {
    const d = linuxAddonDependencies(src);
    if (d.missing.length) {
      throw new Error(`${path.relative(ROOT, src) || src} needs ${d.missing.join(', ')} from the system, which a user's machine may not have. Rebuild it with OpenBLAS linked statically: libopenblas-dev installed (it ships libopenblas.a), SEGLOOP_BLAS_LINK unset, then npm run build:native.`);
    }
    files.push(...d.bundled.map((l) => path.join(path.dirname(src), l)));
    blas = d.blas;
  }
  if (platform === 'win32') files.push(...readdirSync(path.dirname(src)).filter((f) => f.toLowerCase().endsWith('.dll')).map((f) => path.join(path.dirname(src), f)));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, path.join(dir, path.basename(f)));
  const check = loadCheck(path.join(dir, path.basename(src)));
  if (!check.ok) throw new Error(`the staged native conv3d addon does not load in a clean Node process: ${check.error}`);
  const foreign = (check.mappedBlas ?? []).filter((m) => !m.startsWith(path.resolve(dir) + path.sep));
  if (foreign.length) throw new Error(`the staged native conv3d addon loaded BLAS libraries from outside the package: ${foreign.join(', ')}`);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  return { files: files.map((f) => path.basename(f)), bytes, blas: blas || check.blasInfo, blasInfo: check.blasInfo };
}

/**
 * A command prefix that runs a process in a private mount namespace where every shared BLAS,
 * LAPACK and libgfortran of the usual library folders is replaced by an empty file (so a
 * dynamically linked addon cannot find one), or null where namespaces are not permitted
 * (unshare needs CAP_SYS_ADMIN or user namespaces). Nothing outside that process changes.
 * @returns {{ wrap: string[], hidden: string[] } | null}
 */
export function hideSystemBlas() {
  if (process.platform !== 'linux') return null;
  const probe = spawnSync('unshare', ['-m', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const LIB = /^(lib(open)?blas|liblapack|libgfortran|libquadmath)[^/]*\.so/;
  const files = new Set();
  const dirs = new Set();
  const walk = (dir, depth) => {
    let names = [];
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of names) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth > 0 && /^(openblas|blas|lapack|atlas)/.test(e.name)) dirs.add(realpathSync(p));
      else if (LIB.test(e.name)) {
        try {
          files.add(realpathSync(p));
        } catch {
          // a dangling alternatives link: nothing to hide
        }
      }
    }
  };
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib']) walk(d, 1);
  const empty = mkdtempSync(path.join(os.tmpdir(), 'segloop-no-blas-'));
  const mounts = [...[...dirs].map((d) => `mount --bind '${empty}' '${d}'`), ...[...files].filter((f) => ![...dirs].some((d) => f.startsWith(d + '/'))).map((f) => `mount --bind /dev/null '${f}'`)];
  return { wrap: ['unshare', '-m', 'sh', '-c', `set -e; ${[...mounts, 'exec "$@"'].join('; ')}`, 'sh'], hidden: [...dirs, ...files] };
}

function main() {
  const [cmd, arg] = process.argv.slice(2);
  if (cmd === 'link-flags') {
    console.log(linuxLinkFlags().join(' '));
    return 0;
  }
  if (cmd === 'openblas-dir') {
    // Windows: where OpenBLAS's release zip is unpacked (include/, lib/libopenblas.lib, bin/libopenblas.dll)
    console.log((process.env.SEGLOOP_OPENBLAS_DIR ?? 'C:/OpenBLAS').replace(/\\/g, '/'));
    return 0;
  }
  if (cmd === 'check') {
    const file = path.resolve(arg ?? path.join(ROOT, ADDON_BUILD_RELATIVE));
    if (!existsSync(file)) {
      console.error(`no addon at ${file} (npm run build:native)`);
      return 1;
    }
    if (process.platform === 'linux') {
      const d = linuxAddonDependencies(file);
      console.log(`${file}\n  needs   ${d.needed.join(', ')}\n  BLAS    ${d.blas}${d.bundled.length ? `\n  beside  ${d.bundled.join(', ')}` : ''}`);
      if (d.missing.length) {
        console.error(`  not shippable: needs ${d.missing.join(', ')} from the system`);
        return 1;
      }
    }
    const l = loadCheck(file);
    console.log(l.ok ? `  loads   yes (${l.blasInfo})` : `  loads   NO: ${l.error}`);
    return l.ok ? 0 : 1;
  }
  console.error('usage: node scripts/native-addon.mjs link-flags | openblas-dir | check [file]');
  return 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(main());
