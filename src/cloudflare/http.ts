/** One call to Cloudflare's v4 API over fetch: timeout, authentication, envelope check, typed errors. */
import { EpictetusError } from '../model/errors.js';
import { badAnswer, describeErrors, httpError, transportError } from './errors.js';
import { parseRateLimit, retryAfterMs, type RateLimitInfo } from './ratelimit.js';
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

/** Sends one request and returns the envelope of a successful answer; anything else throws an EpictetusError. */
export async function send(config: HttpConfig, req: Request, report: CallReport, signal?: AbortSignal): Promise<Envelope> {
  if (signal?.aborted) throw new EpictetusError('EPI_ABORTED', `Cloudflare ${req.what}: aborted`);
  const timeout = AbortSignal.timeout(config.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url(config.baseUrl, req), {
      method: req.method,
      headers: {
        authorization: `Bearer ${config.apiToken()}`,
        accept: 'application/json',
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      // A redirect is not an answer of this API; following it could carry the token elsewhere.
      redirect: 'manual',
      signal: combined,
    });
    text = await res.text();
  } catch (err) {
    report(0);
    const why = signal?.aborted ? 'aborted' : timeout.aborted ? 'timeout' : 'network';
    throw transportError(req.what, err, why, config.timeoutMs);
  }

  const status = res.status;
  const rateLimit = parseRateLimit(res.headers, config.now());
  report(status, rateLimit);
  const json = parseJson(text);
  if (status < 200 || status > 299) throw httpError(req.what, status, looseErrors(json), retryAfterMs(res.headers, config.now()));
  if (json === undefined) throw badAnswer(req.what, `HTTP ${status}, not JSON`, status);
  const parsed = envelope.safeParse(json);
  if (!parsed.success) throw badAnswer(req.what, `HTTP ${status}, not an API envelope: ${describeIssues(parsed.error)}`, status);
  if (!parsed.data.success) {
    const errors = parsed.data.errors;
    throw badAnswer(req.what, `HTTP ${status} with success: false${errors.length > 0 ? `: ${describeErrors(errors)}` : ''}`, status, errors);
  }
  return parsed.data;
}
