/**
 * HTTP to the Kubernetes API over node:http(s) — no generated client: JSON calls with a
 * timeout and an AbortSignal, and watch streams of newline-delimited JSON. Errors say which
 * call failed and what the API answered (its Status reason and message), or which URL could
 * not be reached and why.
 */
import http from 'node:http';
import https from 'node:https';
import { EpictetusError, errorMessage } from '../model/errors.js';
import { credentialsFor, type Credentials, type Presented } from './credentials.js';
import type { KubeTarget } from './kubeconfig.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** A watch line longer than this is no watch event. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  /** Default 30 s, for the whole exchange (the answer's body included). */
  readonly timeoutMs?: number | undefined;
}

export interface KubeRequest extends CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API path with its query, e.g. /api/v1/nodes?limit=100. */
  readonly path: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** What the call does, for messages: "list nodes". */
  readonly what: string;
}

export interface WatchRequest {
  readonly path: string;
  readonly what: string;
  /** The stream is ended as failed when no byte arrives for this long. */
  readonly idleTimeoutMs: number;
  readonly onEvent: (type: string, object: unknown) => void;
  /**
   * Sees each line's text before it is parsed; true: the line is handled (nothing parsed, no
   * onEvent). Parsing 16 KB of Node JSON is most of what a heartbeat costs.
   */
  readonly prefilter?: (line: string) => boolean;
  /** Once: null when the server ended the stream, else why it failed (not after abort()). */
  readonly onDone: (err: EpictetusError | null) => void;
}

interface Answer { readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly body: string }

/** The API's Status object, when the answer is one. */
function statusOf(body: string): { reason?: string; message?: string; retryAfterSeconds?: number } {
  try {
    const s = JSON.parse(body) as { kind?: unknown; reason?: unknown; message?: unknown; details?: { retryAfterSeconds?: unknown } };
    if (s === null || typeof s !== 'object') return {};
    return {
      ...(typeof s.reason === 'string' && s.reason !== '' ? { reason: s.reason } : {}),
      ...(typeof s.message === 'string' && s.message !== '' ? { message: s.message } : {}),
      ...(typeof s.details?.retryAfterSeconds === 'number' ? { retryAfterSeconds: s.details.retryAfterSeconds } : {}),
    };
  } catch {
    return {};
  }
}

/** EPI_KUBE_HTTP: `Kubernetes list services: HTTP 403 Forbidden: services is forbidden: ...`. */
export function httpError(what: string, status: number, body: string, headers: http.IncomingHttpHeaders = {}): EpictetusError {
  const s = statusOf(body);
  const reason = s.reason ?? http.STATUS_CODES[status] ?? '';
  const detail = s.message ?? (s.reason === undefined ? body.replace(/\s+/g, ' ').trim().slice(0, 300) : '');
  const retryAfter = Number(headers['retry-after']);
  const retryAfterS = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : s.retryAfterSeconds;
  return new EpictetusError('EPI_KUBE_HTTP', `Kubernetes ${what}: HTTP ${status}${reason ? ` ${reason}` : ''}${detail ? `: ${detail}` : ''}`, {
    retryable: status === 429 || status >= 500, status,
    ...(retryAfterS !== undefined ? { retryAfterMs: retryAfterS * 1000 } : {}),
  });
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME/;

/** EPI_KUBE_CONNECTION: `Kubernetes list nodes: cannot reach https://127.0.0.1:6443/api/v1/nodes: connect ECONNREFUSED 127.0.0.1:6443`. */
export function connectionError(what: string, url: URL, cause: unknown): EpictetusError {
  const code = String((cause as { code?: unknown } | null)?.code ?? '');
  const hint = TLS_CODES.test(code) ? ' (TLS: check the cluster\'s certificate authority and tls-server-name)' : '';
  return new EpictetusError('EPI_KUBE_CONNECTION', `Kubernetes ${what}: cannot reach ${url.origin}${url.pathname}: ${errorMessage(cause)}${hint}`, { retryable: true, cause });
}

/** Node reports a connection cut mid-answer as a bare "aborted". */
const midway = (err: Error, what: string): Error => (err.message === 'aborted' ? new Error(`the connection closed mid-${what}`) : err);

const aborted = (signal: AbortSignal): unknown => signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/** One API server: its TLS settings, credentials and a keep-alive connection pool. */
export class KubeClient {
  readonly inCluster: boolean;
  readonly namespace: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(readonly target: KubeTarget, private readonly credentials: Credentials = credentialsFor(target.auth, target.server)) {
    this.inCluster = target.inCluster;
    this.namespace = target.namespace;
    this.base = new URL(target.server);
    const { tls } = target;
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = this.base.protocol === 'https:'
      ? new https.Agent({
        keepAlive: true, rejectUnauthorized: !tls.insecure,
        ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}),
        ...(tls.serverName ? { servername: tls.serverName } : {}),
      })
      : new http.Agent({ keepAlive: true });
  }

  /** Which source, context and server: for the start-up log. */
  describe(): string {
    return this.target.description;
  }

  /** Closes idle pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  url(path: string): URL {
    return new URL(`${this.base.pathname.replace(/\/$/, '')}${path}`, this.base);
  }

  /** A JSON call: the parsed answer (undefined when empty); an error status is EPI_KUBE_HTTP. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    let presented = await this.credentials.current();
    let answer = await this.exchange(req, presented);
    if (answer.status === 401 && await this.credentials.refresh()) {
      presented = await this.credentials.current();
      answer = await this.exchange(req, presented);
    }
    if (answer.status < 200 || answer.status > 299) throw httpError(req.what, answer.status, answer.body, answer.headers);
    if (answer.body.trim() === '') return undefined as T;
    try {
      return JSON.parse(answer.body) as T;
    } catch (err) {
      throw new EpictetusError('EPI_KUBE_DECODE', `Kubernetes ${req.what}: the answer is not JSON: ${errorMessage(err)}`, { retryable: true });
    }
  }

  private options(presented: Presented, method: string, headers: http.OutgoingHttpHeaders): https.RequestOptions {
    return {
      method, agent: this.agent,
      headers: { Accept: 'application/json', 'User-Agent': 'epictetus', ...headers, ...(presented.authorization ? { Authorization: presented.authorization } : {}) },
      ...(presented.cert ? { cert: presented.cert } : {}), ...(presented.key ? { key: presented.key } : {}),
    };
  }

  private exchange(req: KubeRequest, presented: Presented): Promise<Answer> {
    const url = this.url(req.path);
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const method = req.method ?? 'GET';
    return new Promise<Answer>((resolve, reject) => {
      const { signal } = req;
      if (signal?.aborted) { reject(aborted(signal)); return; }
      const headers: http.OutgoingHttpHeaders = payload
        ? { 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': payload.length }
        : {};
      const r = this.transport.request(url, this.options(presented, method, headers));
      let settled = false;
      const finish = (err: unknown, answer?: Answer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined && answer) resolve(answer);
        else {
          r.destroy();
          reject(err);
        }
      };
      const onAbort = (): void => finish(aborted(signal!));
      const timer = setTimeout(() => finish(connectionError(req.what, url, new Error(`no answer within ${timeoutMs / 1000} s`))), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => finish(connectionError(req.what, url, err)));
      r.on('response', (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', (err) => finish(connectionError(req.what, url, midway(err, 'answer'))));
        res.on('close', () => { if (!res.complete) finish(connectionError(req.what, url, new Error('the connection closed mid-answer'))); });
      });
      r.end(payload);
    });
  }

  /**
   * Opens a watch: events are handed over line by line as they arrive (a line may span chunks);
   * a line that is not a watch event, an error status, a dropped connection or a stream silent
   * for `idleTimeoutMs` end it with an error; a clean end of the stream with null.
   */
  watch(req: WatchRequest): { abort(): void } {
    const url = this.url(req.path);
    let settled = false;
    let r: http.ClientRequest | undefined;
    let idle: NodeJS.Timeout | undefined;
    const end = (err: EpictetusError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (err !== null) r?.destroy();
      req.onDone(err);
    };
    const start = async (): Promise<void> => {
      const presented = await this.credentials.current();
      if (settled) return;
      r = this.transport.request(url, this.options(presented, 'GET', {}));
      // Until the answer's headers: the ordinary call timeout; then the idle limit.
      idle = setTimeout(() => end(connectionError(req.what, url, new Error(`no answer within ${DEFAULT_TIMEOUT_MS / 1000} s`))), DEFAULT_TIMEOUT_MS);
      r.on('error', (err) => end(connectionError(req.what, url, err)));
      r.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.setEncoding('utf8');
          let body = '';
          res.on('data', (c: string) => { if (body.length < 65_536) body += c; });
          res.on('end', () => {
            if (res.statusCode === 401) void this.credentials.refresh().catch(() => undefined);
            end(httpError(req.what, res.statusCode ?? 0, body, res.headers));
          });
          return;
        }
        clearTimeout(idle);
        idle = setTimeout(() => end(connectionError(req.what, url, new Error(`no data for ${req.idleTimeoutMs / 1000} s`))), req.idleTimeoutMs);
        res.setEncoding('utf8');
        let pending = '';
        const line = (text: string): boolean => {
          if (text.trim() === '') return true;
          try {
            if (req.prefilter?.(text)) return true;
          } catch (err) {
            end(new EpictetusError('EPI_KUBE_DECODE', `Kubernetes ${req.what}: a watch event could not be handled: ${errorMessage(err)}`, { retryable: true, cause: err }));
            return false;
          }
          let event: unknown;
          try {
            event = JSON.parse(text);
          } catch {
            event = undefined;
          }
          const e = event as { type?: unknown; object?: unknown } | undefined;
          if (e === null || typeof e !== 'object' || typeof e.type !== 'string' || !('object' in e)) {
            end(new EpictetusError('EPI_KUBE_DECODE', `Kubernetes ${req.what}: the stream sent a line that is not a watch event: ${text.slice(0, 120)}`, { retryable: true }));
            return false;
          }
          try {
            req.onEvent(e.type, e.object);
          } catch (err) {
            end(new EpictetusError('EPI_KUBE_DECODE', `Kubernetes ${req.what}: a watch event could not be handled: ${errorMessage(err)}`, { retryable: true, cause: err }));
            return false;
          }
          return true;
        };
        res.on('data', (chunk: string) => {
          if (settled) return;
          idle?.refresh();
          pending += chunk;
          let from = 0;
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', from)) {
            const text = pending.slice(from, nl);
            from = nl + 1;
            if (!line(text) || settled) return;
          }
          pending = pending.slice(from);
          if (pending.length > MAX_LINE_BYTES) end(new EpictetusError('EPI_KUBE_DECODE', `Kubernetes ${req.what}: a watch line longer than ${MAX_LINE_BYTES} bytes`, { retryable: true }));
        });
        res.on('end', () => {
          if (settled) return;
          if (pending !== '' && !line(pending)) return;
          end(null);
        });
        res.on('error', (err) => end(connectionError(req.what, url, midway(err, 'stream'))));
        res.on('close', () => { if (!res.complete) end(connectionError(req.what, url, new Error('the connection closed mid-stream'))); });
      });
      r.end();
    };
    start().catch((err: unknown) => end(err instanceof EpictetusError ? err : connectionError(req.what, url, err)));
    return {
      abort: () => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        r?.destroy();
      },
    };
  }
}
