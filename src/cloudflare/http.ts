/** One call to Cloudflare's v4 API over node:http(s): timeout, authentication, envelope check, typed errors. */
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { EpictetusError } from '../model/errors.js';
import { badAnswer, describeErrors, httpError, transportError } from './errors.js';
import { parseRateLimit, retryAfterMs, type HeaderView, type RateLimitInfo } from './ratelimit.js';
import { apiMessage, describeIssues, envelope, errorBody, type ApiMessage, type Envelope } from './schemas.js';

export interface HttpConfig {
  readonly baseUrl: string;
  /** Read at every call: the token may rotate. */
  readonly apiToken: () => string;
  readonly timeoutMs: number;
  readonly now: () => number;
}

export interface Request {
  readonly method: 'GET' | 'POST';
  /** below the base URL, e.g. `/zones/abc/dns_records` */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number>>;
  readonly body?: unknown;
  /** what the call is for, in error messages: `list records (page 2)` */
  readonly what: string;
}

/** Told the outcome of every HTTP call: status 0 when no answer came. */
export type CallReport = (status: number, rateLimit?: RateLimitInfo) => void;

function url(base: string, req: Request): string {
  const query = new URLSearchParams(Object.entries(req.query ?? {}).map(([k, v]) => [k, String(v)])).toString();
  return `${base.replace(/\/+$/, '')}${req.path}${query === '' ? '' : `?${query}`}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The well-formed entries of an error body's `errors[]`, whatever else the body holds. */
function looseErrors(json: unknown): ApiMessage[] {
  const body = errorBody.safeParse(json);
  if (!body.success) return [];
  return body.data.errors.flatMap((e) => {
    const m = apiMessage.safeParse(e);
    return m.success ? [m.data] : [];
  });
}

/** What came back: status, headers (lower-case names) and the body as text. */
interface Answer { readonly status: number; readonly headers: HeaderView; readonly text: string }

/**
 * Keep-alive connection pools, one per scheme, shared by every client of this process. node:http
 * rather than fetch: fetch loads undici (its source, its compiled code and an llhttp WebAssembly
 * instance), a few MB of memory the service would carry for four kinds of call.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/** One exchange; rejects with the transport's error (or the signal's reason) when no whole answer came. */
function exchange(target: string, method: string, headers: http.OutgoingHttpHeaders, body: string | undefined, signal: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const u = new URL(target);
    const transport = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (transport === undefined) { reject(new Error(`unsupported URL scheme ${u.protocol}`)); return; }
    const payload = body === undefined ? undefined : Buffer.from(body);
    const r = transport.request(u, {
      method, agent: agents[u.protocol as 'http:' | 'https:'], signal,
      headers: payload === undefined ? headers : { ...headers, 'content-length': payload.length },
    });
    r.on('error', reject);
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = res.headers;
        let raw = Buffer.concat(chunks);
        try {
          if (h['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        } catch (err) {
          reject(err);
          return;
        }
        resolve({
          status: res.statusCode ?? 0, text: raw.toString('utf8'),
          headers: { get: (name) => { const v = h[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
        });
      });
      res.on('close', () => { if (!res.complete) reject(Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' })); });
    });
    r.end(payload);
  });
}

/** Sends one request and returns the envelope of a successful answer; anything else throws an EpictetusError. */
export async function send(config: HttpConfig, req: Request, report: CallReport, signal?: AbortSignal): Promise<Envelope> {
  if (signal?.aborted) throw new EpictetusError('EPI_ABORTED', `Cloudflare ${req.what}: aborted`);
  const timeout = AbortSignal.timeout(config.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let answer: Answer;
  try {
    // No redirect is followed: it is not an answer of this API, and could carry the token elsewhere.
    answer = await exchange(url(config.baseUrl, req), req.method, {
      authorization: `Bearer ${config.apiToken()}`,
      accept: 'application/json',
      'accept-encoding': 'gzip',
      'user-agent': 'epictetus',
      ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
    }, req.body === undefined ? undefined : JSON.stringify(req.body), combined);
  } catch (err) {
    report(0);
    const why = signal?.aborted ? 'aborted' : timeout.aborted ? 'timeout' : 'network';
    throw transportError(req.what, err, why, config.timeoutMs);
  }

  const { status, text, headers } = answer;
  const rateLimit = parseRateLimit(headers, config.now());
  report(status, rateLimit);
  const json = parseJson(text);
  if (status < 200 || status > 299) throw httpError(req.what, status, looseErrors(json), retryAfterMs(headers, config.now()));
  if (json === undefined) throw badAnswer(req.what, `HTTP ${status}, not JSON`, status);
  const parsed = envelope.safeParse(json);
  if (!parsed.success) throw badAnswer(req.what, `HTTP ${status}, not an API envelope: ${describeIssues(parsed.error)}`, status);
  if (!parsed.data.success) {
    const errors = parsed.data.errors;
    throw badAnswer(req.what, `HTTP ${status} with success: false${errors.length > 0 ? `: ${describeErrors(errors)}` : ''}`, status, errors);
  }
  return parsed.data;
}
