// The one interface screens use to talk to main. Two implementations (Electron IPC, HTTP +
// WebSocket) behind it; screens never know which one they hold.
import type { EventMessage, FileRequest, OperationName, OpInput, OpOutput, ResultEnvelope } from '../../../shared/contract';
import { SegloopError, type ErrorData } from '../../../shared/errors';

export interface ApiClient {
  readonly transport: 'ipc' | 'http';
  /** Calls an operation; rejects with a SegloopError carrying the server's code. */
  call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>>;
  /** The bytes of a registered voxel file (a .nii.gz exactly as stored). */
  readFile(req: FileRequest): Promise<ArrayBuffer>;
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent(listener: (msg: EventMessage) => void): () => void;
  dispose(): void;
}

/** What the preload exposes as `window.segloop` (see main/electron/preload.ts). */
export interface SegloopBridge {
  invoke(name: string, input: unknown): Promise<ResultEnvelope<unknown>>;
  readFile(req: FileRequest): Promise<ResultEnvelope<Uint8Array>>;
  onEvent(listener: (msg: EventMessage) => void): () => void;
}

export function unwrap<T>(env: ResultEnvelope<T>): T {
  if (env.ok) return env.value;
  throw SegloopError.fromData(env.error as ErrorData);
}
