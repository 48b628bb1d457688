// ApiClient over the preload bridge (Electron). Results cross as envelopes, errors as data.
import type { EventMessage, FileRequest, OperationName, OpInput, OpOutput } from '../../../shared/contract';
import { unwrap, type ApiClient, type SegloopBridge } from './api-client';

export class IpcApiClient implements ApiClient {
  readonly transport = 'ipc' as const;
  constructor(private readonly bridge: SegloopBridge) {}

  async call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
    return unwrap(await this.bridge.invoke(name, input)) as OpOutput<N>;
  }

  async readFile(req: FileRequest): Promise<ArrayBuffer> {
    const bytes = unwrap(await this.bridge.readFile(req));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  onEvent(listener: (msg: EventMessage) => void): () => void {
    return this.bridge.onEvent(listener);
  }

  dispose(): void {}
}
