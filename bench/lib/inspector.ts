/**
 * The service's heap, read from outside through the V8 inspector: the service runs with
 * `--inspect-port=127.0.0.1:0` (inert until activated), SIGUSR1 turns the inspector on, and
 * the Chrome DevTools Protocol forces a full garbage collection and reads process.memoryUsage().
 * Nothing in the service's code changes; until the signal nothing in its behaviour does either.
 */

export interface MemoryUsage {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface CdpMessage {
  id?: number;
  result?: unknown;
  error?: { message?: string };
}

export class Inspector {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e: MessageEvent) => {
      const msg = JSON.parse(String(e.data)) as CdpMessage;
      if (msg.id === undefined) return;
      const waiter = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) waiter?.reject(new Error(`inspector: ${msg.error.message ?? 'error'}`));
      else waiter?.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const w of this.pending.values()) w.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
    });
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** process.memoryUsage() in the service, optionally after full garbage collections (what is retained). */
  async memoryUsage(gc: boolean): Promise<MemoryUsage> {
    if (gc) {
      // Twice: the first pass can leave garbage that only weak callbacks of that pass released.
      await this.call('HeapProfiler.collectGarbage');
      await this.call('HeapProfiler.collectGarbage');
    }
    const answer = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result?: { value?: unknown };
    };
    const value = answer.result?.value;
    if (typeof value !== 'string') throw new Error('inspector: process.memoryUsage() gave no answer');
    return JSON.parse(value) as MemoryUsage;
  }

  /** A heap snapshot (after a full GC), as the .heapsnapshot JSON text DevTools reads. */
  async heapSnapshot(): Promise<string> {
    const chunks: string[] = [];
    const onChunk = (e: MessageEvent) => {
      const msg = JSON.parse(String(e.data)) as { method?: string; params?: { chunk?: string } };
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk' && msg.params?.chunk) chunks.push(msg.params.chunk);
    };
    this.ws.addEventListener('message', onChunk);
    try {
      await this.call('HeapProfiler.enable');
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
    } finally {
      this.ws.removeEventListener('message', onChunk);
    }
    return chunks.join('');
  }

  close(): void {
    this.ws.close();
  }
}
