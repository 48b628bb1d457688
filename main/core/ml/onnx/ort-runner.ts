// onnxruntime-node session around an exported model (export.ts). The package ships its CPU
// binary for each platform inside the npm tarball; it is loaded lazily (dynamic import), so a
// platform without a binary — or a broken install — only makes `loadOnnxRuntime` report why, and
// inference stays on tfjs.
//
// Threads: one intra-op pool of `threads` workers (default: every core the OS reports — the
// worker process is alone with the model) and sequential execution (a U-Net is a chain: an
// inter-op pool would only compete with the intra-op one).
import os from 'node:os';
import { SegloopError } from '../../../../shared/errors';
import type * as OrtTypes from 'onnxruntime-node';

type Ort = typeof OrtTypes;

export interface OrtAvailability {
  ok: boolean;
  /** onnxruntime-node's version when loaded. */
  version: string | null;
  /** Why not, when not. */
  reason: string | null;
}

let cached: Promise<{ ort: Ort | null; availability: OrtAvailability }> | null = null;

/**
 * Loads onnxruntime-node once per process. SEGLOOP_INFERENCE=tfjs disables it (for comparisons
 * and as the user's escape hatch).
 */
export function loadOnnxRuntime(): Promise<{ ort: Ort | null; availability: OrtAvailability }> {
  if (!cached) {
    cached = (async () => {
      if ((process.env.SEGLOOP_INFERENCE ?? '').toLowerCase() === 'tfjs') {
        return { ort: null, availability: { ok: false, version: null, reason: 'disabled by SEGLOOP_INFERENCE=tfjs' } };
      }
      try {
        const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
        const ort = (mod.InferenceSession ? mod : mod.default) as Ort;
        if (!ort?.InferenceSession) throw new Error('the module has no InferenceSession');
        const version = (ort.env.versions as Record<string, string> | undefined)?.['node'] ?? 'unknown';
        return { ort, availability: { ok: true, version, reason: null } };
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
        return { ort: null, availability: { ok: false, version: null, reason: `onnxruntime-node did not load: ${msg}` } };
      }
    })();
  }
  return cached;
}

export interface OrtRunnerOptions {
  /** Intra-op threads (default os.availableParallelism()). */
  threads?: number;
}

export class OrtRunner {
  readonly threads: number;
  readonly version: string;

  private constructor(
    private readonly ort: Ort,
    private session: OrtTypes.InferenceSession | null,
    private readonly inputName: string,
    private readonly outputName: string,
    threads: number,
    version: string,
  ) {
    this.threads = threads;
    this.version = version;
  }

  static async create(onnxBytes: Uint8Array, io: { inputName: string; outputName: string }, opts: OrtRunnerOptions = {}): Promise<OrtRunner> {
    const { ort, availability } = await loadOnnxRuntime();
    if (!ort) throw new SegloopError('BACKEND_UNAVAILABLE', availability.reason ?? 'onnxruntime-node is not available.');
    const threads = Math.max(1, Math.floor(opts.threads ?? os.availableParallelism()));
    const session = await ort.InferenceSession.create(onnxBytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new OrtRunner(ort, session, io.inputName, io.outputName, threads, availability.version ?? 'unknown');
  }

  /** One forward pass: `x` laid out as `dims` (channels-last), returns the output's values and dims. */
  async run(x: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
    if (!this.session) throw new SegloopError('INTERNAL_ERROR', 'The onnxruntime session was already released.');
    const input = new this.ort.Tensor('float32', x, dims);
    const result = await this.session.run({ [this.inputName]: input });
    const out = result[this.outputName];
    const data = out.data as Float32Array;
    const outDims = [...out.dims];
    input.dispose();
    return { data, dims: outDims };
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }
}
