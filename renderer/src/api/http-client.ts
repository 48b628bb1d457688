// ApiClient over the local server (`segloop serve`): POST /api/<op>, GET /api/files/..., events
// over /ws. The token arrives once in the page URL; it is kept for this tab and sent as a header.
import { EventMessage, type FileRequest, type OperationName, type OpInput, type OpOutput, type ResultEnvelope } from '../../../shared/contract';
import { SegloopError } from '../../../shared/errors';
import { unwrap, type ApiClient } from './api-client';

export class HttpApiClient implements ApiClient {
  readonly transport = 'http' as const;
  private readonly listeners = new Set<(msg: EventMessage) => void>();
  private socket: WebSocket | null = null;
  private disposed = false;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string | null,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { 'X-Segloop-Token': this.token, ...extra } : extra;
  }

  async call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpOutput<N>> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/${name}`, {
        method: 'POST',
        headers: this.headers({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(input ?? {}),
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new SegloopError('INTERNAL_ERROR', `Cannot reach the Segloop server (${String(err)}). Is \`segloop serve\` still running?`);
    }
    const env = (await res.json().catch(() => null)) as ResultEnvelope<unknown> | null;
    if (!env || typeof env.ok !== 'boolean') throw new SegloopError('INTERNAL_ERROR', `Unexpected answer from the server (HTTP ${res.status}).`);
    return unwrap(env) as OpOutput<N>;
  }

  async readFile(req: FileRequest): Promise<ArrayBuffer> {
    const res = await fetch(`${this.baseUrl}/api/files/${req.kind}/${encodeURIComponent(req.id)}`, { headers: this.headers(), credentials: 'same-origin' });
    if (!res.ok) {
      const env = (await res.json().catch(() => null)) as ResultEnvelope<unknown> | null;
      if (env && !env.ok) unwrap(env);
      throw new SegloopError('FILE_NOT_FOUND', `Cannot read ${req.kind} ${req.id} (HTTP ${res.status}).`);
    }
    return res.arrayBuffer();
  }

  onEvent(listener: (msg: EventMessage) => void): () => void {
    this.listeners.add(listener);
    this.ensureSocket();
    return () => this.listeners.delete(listener);
  }

  private ensureSocket(): void {
    if (this.socket || this.disposed) return;
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/ws${this.token ? `?token=${encodeURIComponent(this.token)}` : ''}`;
    const ws = new WebSocket(wsUrl);
    this.socket = ws;
    ws.onmessage = (ev) => {
      const parsed = EventMessage.safeParse(JSON.parse(String(ev.data)));
      if (parsed.success) for (const l of this.listeners) l(parsed.data);
    };
    ws.onclose = () => {
      this.socket = null;
      // Reconnect while someone listens (the server may have restarted).
      if (!this.disposed && this.listeners.size > 0) setTimeout(() => this.ensureSocket(), 2000);
    };
  }

  dispose(): void {
    this.disposed = true;
    this.socket?.close();
    this.listeners.clear();
  }
}
