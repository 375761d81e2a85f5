import type { ServerResponse } from 'node:http';
import type { JsonObject } from './json.js';
import type { ResourceDef } from './resource.js';
import type { WatchEvent } from './store.js';

export interface WatchStreamOptions {
  /** timeoutSeconds: the stream then ends cleanly, as the API server does. */
  timeoutMs?: number;
  /** Periodic BOOKMARK events, only when the client sent allowWatchBookmarks=true. */
  bookmarkIntervalMs?: number;
  bookmark: () => JsonObject;
  /** Turns an event's object into what the client asked for (e.g. a Table). */
  encode: (event: WatchEvent) => WatchEvent;
  onClose: () => void;
}

/** One open watch: a chunked HTTP/1.1 response of newline-delimited JSON events. */
export class WatchStream {
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly res: ServerResponse,
    readonly resource: ResourceDef,
    private readonly opts: WatchStreamOptions,
  ) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    res.on('close', () => this.cleanup());
    if (opts.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.end(), opts.timeoutMs));
    if (opts.bookmarkIntervalMs !== undefined) {
      this.timers.push(setInterval(() => this.bookmark(), opts.bookmarkIntervalMs));
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(event: WatchEvent): void {
    if (this.closed) return;
    const out = event.type === 'BOOKMARK' || event.type === 'ERROR' ? event : this.opts.encode(event);
    this.res.write(`${JSON.stringify(out)}\n`);
  }

  bookmark(): void {
    if (this.opts.bookmarkIntervalMs !== undefined) this.send({ type: 'BOOKMARK', object: this.opts.bookmark() });
  }

  /** An ERROR event carrying a metav1 Status; the API server ends the watch after one. */
  error(status: JsonObject, keepOpen = false): void {
    this.send({ type: 'ERROR', object: status });
    if (!keepOpen) this.end();
  }

  /** Clean end of the stream (terminating chunk), like timeoutSeconds expiring. */
  end(): void {
    if (this.closed) return;
    this.cleanup();
    this.res.end();
  }

  /** Abrupt cut, like a network failure: the client sees the connection reset mid-stream. */
  drop(): void {
    this.cleanup();
    this.res.socket?.destroy();
    this.res.destroy();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.opts.onClose();
  }
}
