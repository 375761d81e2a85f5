import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Handlers, type Exchange, type HandlerOptions } from './handlers.js';
import type { ResourceDef } from './resource.js';
import type { Store } from './store.js';
import { ApiError, errors, messageFor, reasonFor, statusObject } from './status.js';
import { WatchStream, type WatchStreamOptions } from './watch.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  /** 0 until the answer's status is known. */
  status: number;
  at: number;
  userAgent?: string;
}

export interface FaultSpec {
  method?: string;
  pathPrefix?: string;
  status: number;
  count?: number;
  body?: object;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const MAX_RECORDS = 10_000;

/** The HTTP side: listening, auth, injected faults and latency, the request log and open watches. */
export class SimServer {
  readonly requests: RequestRecord[] = [];
  readonly watches = new Set<WatchStream>();
  latencyMs = 0;
  private readonly faults: Array<Required<Pick<FaultSpec, 'status' | 'count'>> & FaultSpec> = [];
  private readonly handlers: Handlers;
  private server: Server;
  private port = 0;

  constructor(
    store: Store,
    opts: HandlerOptions,
    private readonly host: string,
    readonly token: string | undefined,
  ) {
    this.handlers = new Handlers(store, opts);
    this.server = this.createServer();
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  private createServer(): Server {
    const server = createServer((req, res) => void this.serve(req, res));
    server.keepAliveTimeout = 5_000;
    return server;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.drop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Stops and listens again on the same port, cutting every connection like a process restart. */
  async restart(): Promise<void> {
    await this.close();
    this.server = this.createServer();
    await this.listen(this.port);
  }

  failNext(spec: FaultSpec): void {
    this.faults.push({ ...spec, count: spec.count ?? 1 });
  }

  /** Failures queued by failNext and not yet served. */
  get pendingFaults(): number {
    return this.faults.reduce((n, f) => n + f.count, 0);
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private takeFault(method: string, path: string): FaultSpec | undefined {
    const index = this.faults.findIndex(
      (f) => (!f.method || f.method.toUpperCase() === method) && (!f.pathPrefix || path.startsWith(f.pathPrefix)),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.count--;
    if (fault.count <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { method, path: url.pathname, query: url.search.slice(1), status: 0, at: Date.now() };
    if (req.headers['user-agent']) record.userAgent = req.headers['user-agent'];
    this.requests.push(record);
    if (this.requests.length > MAX_RECORDS) this.requests.splice(0, this.requests.length - MAX_RECORDS);

    const send = (status: number, body: string, contentType: string, headers: Record<string, string | string[]> = {}) => {
      record.status = status;
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    const sendJson = (status: number, body: unknown, headers?: Record<string, string | string[]>) =>
      send(status, JSON.stringify(body), 'application/json', headers);

    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const fault = this.takeFault(method, url.pathname);
      if (fault) {
        const retry: Record<string, string> = fault.status === 429 ? { 'Retry-After': '1' } : {};
        const details = fault.status === 429 ? { retryAfterSeconds: 1 } : undefined;
        const body = fault.body ?? statusObject(fault.status, reasonFor(fault.status), messageFor(fault.status), details);
        req.resume();
        return sendJson(fault.status, body, retry);
      }
      const authorization = req.headers.authorization;
      if (this.token !== undefined && authorization !== undefined && authorization !== `Bearer ${this.token}`) {
        req.resume();
        throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      }
      const exchange: Exchange = {
        method,
        anonymous: this.token !== undefined && authorization === undefined,
        url,
        headers: req.headers,
        readBody: () => readJson(req),
        readBytes: () => readBytes(req),
        send: (status, body, headers) => sendJson(status, body, headers),
        sendText: (status, text) => send(status, text, 'text/plain; charset=utf-8'),
        sendBytes: (status, body, contentType) => {
          record.status = status;
          if (res.headersSent || res.destroyed) return;
          res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
          res.end(body);
        },
        openWatch: (def: ResourceDef, opts: WatchStreamOptions) => {
          record.status = 200;
          const stream = new WatchStream(res, def, {
            ...opts,
            onClose: () => {
              this.watches.delete(stream);
              opts.onClose();
            },
          });
          this.watches.add(stream);
          return stream;
        },
      };
      await this.handlers.handle(exchange);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${String(err)}`);
      const headers: Record<string, string> = apiError.details?.retryAfterSeconds ? { 'Retry-After': String(apiError.details.retryAfterSeconds) } : {};
      sendJson(apiError.code, apiError.toStatus(), headers);
    }
  }
}

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBytes(req)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}
