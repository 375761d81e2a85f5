/** DnsProvider over Cloudflare's v4 API (plain fetch): zones, paginated records, batched apply. */
import type { z } from 'zod';
import type { Changes, DnsRecord } from '../model/types.js';
import type { Zone } from '../reconcile/zones.js';
import { withRetry, type RetryPolicy } from '../util/retry.js';
import { EpictetusError } from '../model/errors.js';
import { badAnswer } from './errors.js';
import { send, type HttpConfig, type Request } from './http.js';
import type { RateLimitInfo } from './ratelimit.js';
import { batchResult, describeIssues, isApiRecord, recordList, tokenStatus, zone, zoneList, type ApiRecord, type Envelope } from './schemas.js';

export type { RateLimitInfo } from './ratelimit.js';

/** Cloudflare's largest useful page: every zone fits in one (zones hold at most 3,500 records). */
export const LIST_PAGE_SIZE = 5000;
/** GET /zones answers at most 50 zones a page. */
const ZONE_PAGE_SIZE = 50;
/** The Free plan's limit of operations per batch call. */
export const BATCH_LIMIT = 200;
/** A listing longer than this is not a zone (at most 3,500 records) but a broken answer. */
export const MAX_PAGES = 1000;
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ApplyResult {
  readonly created: readonly DnsRecord[];
  readonly updated: readonly DnsRecord[];
  readonly deletedIds: readonly string[];
  readonly calls: number;
}

export interface DnsProvider {
  /** The zones with these ids, or every zone the token can see (whatever its status) when `ids` is empty. */
  listZones(ids: readonly string[], signal?: AbortSignal): Promise<Zone[]>;
  listRecords(zoneId: string, signal?: AbortSignal): Promise<DnsRecord[]>;
  /** `mayWrite` is asked before every try of every batch (retries included): false stops it. */
  apply(zoneId: string, changes: Changes, mayWrite?: () => boolean, signal?: AbortSignal): Promise<ApplyResult>;
  verifyToken(signal?: AbortSignal): Promise<void>;
  /** What the rate limit leaves, from the last answer that carried rate-limit headers (undefined: not known). */
  budget?(): RateBudget | undefined;
}

/** The API's rate-limit budget as its last answer told it. */
export interface RateBudget {
  readonly limit: number;
  readonly remaining: number;
  /** when the window resets, in ms since the epoch */
  readonly resetAt: number;
}

export interface CallInfo {
  readonly method: 'GET' | 'POST';
  /** 0: no answer (connection failed, timed out, aborted) */
  readonly status: number;
  /** what the answer's rate-limit headers said, when they said it */
  readonly rateLimit?: RateLimitInfo;
}

export interface ProviderOptions {
  readonly apiToken: () => string;
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  /** per HTTP call (each try), default 30 s */
  readonly timeoutMs?: number;
  readonly batchLimit?: number;
  readonly onRetry?: (err: EpictetusError, attempt: number, delayMs: number) => void;
  /** Told the outcome of every HTTP call, to count them and to know the API answers. */
  readonly onCall?: (call: CallInfo) => void;
  /** the clock for `budget().resetAt` (default Date.now) */
  readonly now?: () => number;
}

/**
 * One string per distinct value within a listing: a zone's thousands of records repeat a few
 * names, types and comments, and each node's address once per hostname, each a separate copy as
 * JSON.parse makes them (~260 bytes a node at three hostnames). Scoped to one call, so it holds
 * nothing once the call returns.
 */
function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const known = seen.get(s);
    if (known !== undefined) return known;
    seen.set(s, s);
    return s;
  };
}

function toRecord(r: ApiRecord, intern: (s: string) => string = (s) => s): DnsRecord {
  return {
    id: r.id, name: intern(r.name.toLowerCase()), type: intern(r.type), content: intern(r.content ?? ''),
    ttl: r.ttl ?? 1, proxied: r.proxied === true, comment: r.comment === undefined || r.comment === null ? null : intern(r.comment),
  };
}

/** The call's `result`, checked against its schema. */
function resultOf<T extends z.ZodType>(env: Envelope, schema: T, what: string): z.infer<T> {
  const parsed = schema.safeParse(env.result);
  if (!parsed.success) throw badAnswer(what, describeIssues(parsed.error));
  return parsed.data;
}

interface Post { name: string; type: 'A' | 'AAAA'; content: string; ttl: number; proxied: boolean; comment: string }
export interface BatchBody { posts: Post[]; patches: Array<Post & { id: string }>; deletes: Array<{ id: string }> }

/** Creates first, deletions last, so a failure between chunks never leaves fewer records. */
export function batchChunks(changes: Changes, limit: number): BatchBody[] {
  type Op = { kind: 'post'; op: Post } | { kind: 'patch'; op: Post & { id: string } } | { kind: 'delete'; id: string };
  const ops: Op[] = [
    ...changes.creates.map((c): Op => ({ kind: 'post', op: {
      name: c.name, type: c.type, content: c.content, ttl: c.ttl, proxied: c.proxied, comment: c.comment,
    } })),
    ...changes.updates.map((u): Op => ({ kind: 'patch', op: {
      id: u.record.id, name: u.record.name, type: u.record.type as 'A' | 'AAAA', content: u.record.content,
      ttl: u.ttl, proxied: u.proxied, comment: u.comment,
    } })),
    ...changes.deletes.map((d): Op => ({ kind: 'delete', id: d.record.id })),
  ];
  const chunks: BatchBody[] = [];
  for (let i = 0; i < ops.length; i += limit) {
    const chunk: BatchBody = { posts: [], patches: [], deletes: [] };
    for (const o of ops.slice(i, i + limit)) {
      if (o.kind === 'post') chunk.posts.push(o.op);
      else if (o.kind === 'patch') chunk.patches.push(o.op);
      else chunk.deletes.push({ id: o.id });
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Every page of a listing: stops on the last page, an empty page, or a broken one. */
async function allPages<T extends { id: string }>(
  fetchPage: (page: number) => Promise<{ items: T[]; totalPages: number | undefined }>,
  perPage: number,
  what: string,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  for (let page = 1; ; page++) {
    if (page > MAX_PAGES) throw badAnswer(what, `more than ${MAX_PAGES} pages`);
    const { items, totalPages } = await fetchPage(page);
    for (const item of items) {
      // A server that ignores `page` would otherwise be read 1,000 times over.
      if (seen.has(item.id)) throw badAnswer(what, `page ${page} repeats ${item.id}`);
      seen.add(item.id);
      out.push(item);
    }
    const last = totalPages !== undefined ? page >= totalPages : items.length < perPage;
    if (last || items.length === 0) return out;
  }
}

export function createCloudflareProvider(opts: ProviderOptions): DnsProvider & { budget(): RateBudget | undefined } {
  const now = opts.now ?? Date.now;
  const http: HttpConfig = { baseUrl: opts.baseUrl, apiToken: opts.apiToken, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, now };
  let budget: RateBudget | undefined;

  const once = (req: Request, signal?: AbortSignal): Promise<Envelope> =>
    send(http, req, (status, rateLimit) => {
      if (rateLimit) budget = { limit: rateLimit.limit, remaining: rateLimit.remaining, resetAt: now() + rateLimit.resetSeconds * 1000 };
      opts.onCall?.({ method: req.method, status, ...(rateLimit ? { rateLimit } : {}) });
    }, signal);

  /** `fn` with retries (429 after Retry-After, 5xx, timeouts, connection errors); an abort while waiting is EPI_ABORTED. */
  const retried = async <T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    try {
      return await withRetry(fn, opts.retry, { ...(signal ? { signal } : {}), ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) });
    } catch (err) {
      if (err instanceof EpictetusError) throw err;
      if (signal?.aborted) throw new EpictetusError('EPI_ABORTED', `Cloudflare ${what}: aborted`);
      throw err;
    }
  };
  const get = (req: Omit<Request, 'method'>, signal?: AbortSignal): Promise<Envelope> =>
    retried(req.what, () => once({ ...req, method: 'GET' }, signal), signal);

  const listAllZones = (signal?: AbortSignal): Promise<Zone[]> =>
    allPages(async (page) => {
      const what = `list zones (page ${page})`;
      const env = await get({ path: '/zones', query: { per_page: ZONE_PAGE_SIZE, page }, what }, signal);
      return { items: resultOf(env, zoneList, what).map(toZone), totalPages: env.result_info?.total_pages };
    }, ZONE_PAGE_SIZE, 'list zones');

  return {
    budget: () => budget,

    async listZones(ids, signal) {
      if (ids.length === 0) return listAllZones(signal);
      return Promise.all(ids.map(async (id) => {
        const what = `get zone ${id}`;
        return toZone(resultOf(await get({ path: `/zones/${encodeURIComponent(id)}`, what }, signal), zone, what));
      }));
    },

    async listRecords(zoneId, signal) {
      const path = `/zones/${encodeURIComponent(zoneId)}/dns_records`;
      const records = await allPages(async (page) => {
        const what = `list records (page ${page})`;
        const env = await get({ path, query: { per_page: LIST_PAGE_SIZE, page }, what }, signal);
        const items = Array.isArray(env.result) && env.result.every(isApiRecord) ? env.result : resultOf(env, recordList, what);
        return { items, totalPages: env.result_info?.total_pages };
      }, LIST_PAGE_SIZE, 'list records');
      const intern = interner();
      return records.map((r) => toRecord(r, intern));
    },

    async apply(zoneId, changes, mayWrite, signal) {
      const created: DnsRecord[] = [];
      const updated: DnsRecord[] = [];
      const deletedIds: string[] = [];
      const chunks = batchChunks(changes, opts.batchLimit ?? BATCH_LIMIT);
      const path = `/zones/${encodeURIComponent(zoneId)}/dns_records/batch`;
      for (const body of chunks) {
        const result = await retried('batch', async () => {
          // A replica that lost the leadership while waiting to retry must not send the stale batch.
          if (mayWrite && !mayWrite()) throw new EpictetusError('EPI_NOT_LEADER', 'not the leader any more: batch not sent');
          try {
            return resultOf(await once({ method: 'POST', path, body, what: 'batch' }, signal), batchResult, 'batch');
          } catch (err) {
            throw appliedMaybe(err);
          }
        }, signal);
        // The answer's strings become the request's where equal: a created record's content is then
        // the node snapshot's own address string, not one more copy per record (~100 bytes a node).
        const intern = interner();
        for (const op of [...body.posts, ...body.patches]) {
          intern(op.content);
          intern(op.comment);
        }
        created.push(...(result.posts ?? []).map((r) => toRecord(r, intern)));
        updated.push(...(result.patches ?? []).map((r) => toRecord(r, intern)));
        deletedIds.push(...body.deletes.map((d) => d.id));
      }
      return { created, updated, deletedIds, calls: chunks.length };
    },

    async verifyToken(signal) {
      const what = 'verify token';
      let token: z.infer<typeof tokenStatus>;
      try {
        token = resultOf(await get({ path: '/user/tokens/verify', what }, signal), tokenStatus, what);
      } catch (err) {
        // Account-owned tokens are not known to /user/tokens/verify: a token that can list zones is good.
        if (!(err instanceof EpictetusError) || err.code !== 'EPI_CF_AUTH') throw err;
        await get({ path: '/zones', query: { per_page: 5 }, what: 'list zones (token check)' }, signal).catch(() => { throw err; });
        return;
      }
      // A token the endpoint knows but that is disabled or expired is refused, with no fallback.
      if (token.status !== 'active') throw new EpictetusError('EPI_CF_AUTH', `Cloudflare ${what}: the token is ${token.status.slice(0, 40)}`);
    },
  };
}

/**
 * A batch answered 2xx with a broken body may have been applied: it is not retried blindly
 * (retryable: false), so that the caller re-lists the zone before it plans again.
 */
function appliedMaybe(err: unknown): unknown {
  if (!(err instanceof EpictetusError) || err.code !== 'EPI_CF_BAD_ANSWER') return err;
  return new EpictetusError(err.code, err.message, { retryable: false, apiCodes: err.apiCodes, ...(err.status === undefined ? {} : { status: err.status }) });
}

function toZone(z: { id: string; name: string; status?: string | undefined; account?: { id: string } | null | undefined }): Zone {
  return {
    id: z.id, name: z.name.toLowerCase(),
    ...(z.status === undefined ? {} : { status: z.status }),
    ...(z.account ? { account: z.account.id } : {}),
  };
}
