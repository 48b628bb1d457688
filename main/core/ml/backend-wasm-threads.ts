// Makes tfjs-backend-wasm's multi-threaded SIMD build run under Node.
//
// tfjs-backend-wasm 4.22 hard-wires WASM_HAS_MULTITHREAD_SUPPORT to false under Node (tfjs#3830).
// Forcing the flag is not enough, for three reasons found here (Node 20):
//  1. the emscripten pthread worker script is handed out as a blob: URL, which Node's Worker
//     refuses (ERR_WORKER_PATH);
//  2. the worker then importScripts() the module factory, which the package only ships inlined in
//     its bundle (and as a Blob the worker cannot read);
//  3. the C++ side caps the pool at emscripten_num_logical_cores()/2 = os.cpus().length/2, i.e. one
//     thread on a 2-core machine.
// We write the worker and the factory (extracted from the installed bundle) to a cache directory,
// serve the worker path instead of the blob URL during init, and report enough cores for the
// requested thread count. Every step checks the text it patches; any mismatch (another tfjs
// version) returns a reason and the caller keeps the single-threaded build.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const WORKER_LOAD = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
const FACTORY_START = 'var WasmBackendModuleThreadedSimd = (function () {';
const FACTORY_END = 'module.exports = WasmBackendModuleThreadedSimd;';

export interface ThreadSetup {
  ok: boolean;
  reason: string;
  /** Call after the backend initialised (or failed) to undo the temporary patches. */
  restore: () => void;
}

function writeIfChanged(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch {
    // not there yet
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Prepare the threaded build; must run before the wasm backend initialises. */
export function prepareWasmThreads(wasmDistDir: string, threads: number): ThreadSetup {
  const noop = () => undefined;
  const fail = (reason: string): ThreadSetup => ({ ok: false, reason, restore: noop });
  if (threads <= 1) return fail('one thread requested');
  if (typeof SharedArrayBuffer === 'undefined') return fail('SharedArrayBuffer unavailable');
  let bundle: string;
  try {
    bundle = fs.readFileSync(path.join(wasmDistDir, 'tf-backend-wasm.node.js'), 'utf8');
  } catch (e) {
    return fail(`cannot read the wasm bundle: ${(e as Error).message}`);
  }
  const workerMatch = /wasmWorkerContents = ("(?:[^"\\]|\\.)*")/.exec(bundle);
  const start = bundle.indexOf(FACTORY_START);
  const end = start < 0 ? -1 : bundle.indexOf(FACTORY_END, start);
  if (!workerMatch || start < 0 || end < 0) return fail('tfjs-backend-wasm bundle layout not recognised');
  // Same escaping the package applies before making its Blob: string literals hold "\n".
  let worker = (JSON.parse(workerMatch[1]) as string).replace(/\n/g, '\\n');
  if (!worker.includes(WORKER_LOAD)) return fail('tfjs-backend-wasm worker layout not recognised');

  const version = /version_wasm = '([^']+)'|version = '([^']+)'/.exec(bundle);
  const dir = path.join(os.tmpdir(), `segloop-tfjs-wasm-threads-${version?.[1] ?? version?.[2] ?? 'x'}`);
  const factoryFile = path.join(dir, 'factory.js');
  const workerFile = path.join(dir, 'worker.js');
  try {
    fs.mkdirSync(dir, { recursive: true });
    // The factory refers to the bundle's rollup aliases of Node built-ins and its global.
    const requires = [...bundle.slice(0, start).matchAll(/^var (require\$\$\d+) = require\('([^']+)'\);$/gm)]
      .map((m) => `var ${m[1]} = require(${JSON.stringify(m[2])});`).join('\n');
    writeIfChanged(factoryFile, `${requires}\nvar commonjsGlobal = globalThis;\n${bundle.slice(start, end)}`);
    // The replaced if/else ended in '}'; the call that follows needs the ';'.
    worker = worker.replace(WORKER_LOAD, `importScripts(${JSON.stringify(factoryFile)});`);
    writeIfChanged(workerFile, worker);
  } catch (e) {
    return fail(`cannot write the worker files to ${dir}: ${(e as Error).message}`);
  }

  const realCreateObjectURL = URL.createObjectURL.bind(URL);
  const realCpus = os.cpus;
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? workerFile : realCreateObjectURL(obj));
  const cpu = realCpus()[0];
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpu);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  return {
    ok: true,
    reason: `threaded SIMD build via worker files in ${dir}`,
    restore: () => {
      URL.createObjectURL = realCreateObjectURL;
      os.cpus = realCpus;
    },
  };
}
