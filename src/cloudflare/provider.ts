/** DnsProvider over the official Cloudflare SDK: paginated list and batched apply. */
import Cloudflare from 'cloudflare';
import type { Changes, DnsRecord } from '../model/types.js';
import type { Zone } from '../reconcile/zones.js';
import { withRetry, type RetryPolicy } from '../util/retry.js';
import { EpictetusError } from '../model/errors.js';
import { mapCloudflareError } from './errors.js';

/** Cloudflare's largest useful page: every zone fits in one (zones hold at most 3,500 records). */
export const LIST_PAGE_SIZE = 5000;
/** The Free plan's limit of operations per batch call. */
export const BATCH_LIMIT = 200;
/** A listing longer than this is not a zone (at most 3,500 records) but a broken answer. */
const MAX_PAGES = 1000;

export interface ApplyResult {
  readonly created: readonly DnsRecord[];
  readonly updated: readonly DnsRecord[];
  readonly deletedIds: readonly string[];
  readonly calls: number;
}

export interface DnsProvider {
  /** The zones with these ids, or every zone the token can see when `ids` is empty. */
  listZones(ids: readonly string[], signal?: AbortSignal): Promise<Zone[]>;
  listRecords(zoneId: string, signal?: AbortSignal): Promise<DnsRecord[]>;
  /** `mayWrite` is asked before every try of every batch (retries included): false stops it. */
  apply(zoneId: string, changes: Changes, mayWrite?: () => boolean, signal?: AbortSignal): Promise<ApplyResult>;
  verifyToken(signal?: AbortSignal): Promise<void>;
  /** What the rate limit leaves, as the API's last answer said (undefined: not known). */
  budget?(): RateBudget | undefined;
}

export interface RateBudget {
  readonly limit: number;
  readonly remaining: number;
  /** When the window resets (ms epoch). */
  readonly resetAt: number;
}

export interface ProviderOptions {
  readonly apiToken: () => string;
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  readonly timeoutMs?: number;
  readonly batchLimit?: number;
  readonly onRetry?: (err: EpictetusError, attempt: number, delayMs: number) => void;
  /** Told the outcome of every HTTP call (status 0: no answer), to count them and to know the API answers. */
  readonly onCall?: (call: { method: 'GET' | 'POST'; status: number }) => void;
}

interface SdkRecord {
  id: string; name: string; type: string; content?: string; ttl: number; proxied?: boolean; comment?: string | null;
}

function badAnswer(what: string, why: string): EpictetusError {
  return new EpictetusError('EPI_CF_BAD_ANSWER', `Cloudflare ${what}: unexpected answer (${why})`, { retryable: true });
}

/** A record from an answer, or undefined when the entry lacks what a record must have. */
function toRecord(r: unknown): DnsRecord | undefined {
  const o = (typeof r === 'object' && r !== null ? r : {}) as Partial<Record<keyof SdkRecord, unknown>>;
  if (typeof o.id !== 'string' || typeof o.name !== 'string' || typeof o.type !== 'string') return undefined;
  return {
    id: o.id, name: o.name.toLowerCase(), type: o.type, content: typeof o.content === 'string' ? o.content : '',
    ttl: typeof o.ttl === 'number' ? o.ttl : 1, proxied: o.proxied === true, comment: typeof o.comment === 'string' ? o.comment : null,
  };
}

function records(list: unknown, what: string): DnsRecord[] {
  if (!Array.isArray(list)) throw badAnswer(what, 'no list of records');
  return list.map(toRecord).filter((r): r is DnsRecord => r !== undefined);
}

interface Post { name: string; type: 'A' | 'AAAA'; content: string; ttl: number; proxied: boolean; comment: string }
interface BatchBody { posts: Post[]; patches: Array<Post & { id: string }>; deletes: Array<{ id: string }> }

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

export function createCloudflareProvider(opts: ProviderOptions): DnsProvider {
  let client: Cloudflare | undefined;
  let clientToken = '';
  const sdk = (): Cloudflare => {
    const token = opts.apiToken();
    if (client === undefined || token !== clientToken) {
      client = new Cloudflare({
        apiToken: token, baseURL: opts.baseUrl, maxRetries: 0, timeout: opts.timeoutMs ?? 30_000, logLevel: 'off',
      });
      clientToken = token;
    }
    return client;
  };
  const call = <T>(what: string, fn: (c: Cloudflare) => Promise<T>, signal?: AbortSignal): Promise<T> =>
    withRetry(async () => {
      const method = what === 'batch' ? 'POST' : 'GET';
      try {
        const out = await fn(sdk());
        opts.onCall?.({ method, status: 200 });
        return out;
      } catch (err) {
        const mapped = mapCloudflareError(err, what);
        if (mapped.code !== 'EPI_NOT_LEADER') opts.onCall?.({ method, status: mapped.status ?? 0 }); // nothing was sent
        throw mapped;
      }
    }, opts.retry, { ...(signal ? { signal } : {}), ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) });

  const opt = (signal?: AbortSignal) => (signal ? { signal } : {});
  return {
    async listZones(ids, signal) {
      if (ids.length > 0) {
        return Promise.all(ids.map(async (id) => {
          const z = await call(`get zone ${id}`, (c) => c.zones.get({ zone_id: id }, opt(signal)), signal);
          return { id: z.id, name: z.name.toLowerCase() };
        }));
      }
      const zones: Zone[] = [];
      for (let page = 1; ; page++) {
        if (page > MAX_PAGES) throw badAnswer('list zones', `more than ${MAX_PAGES} pages`);
        const res = await call(`list zones (page ${page})`, (c) => c.zones.list({ per_page: 50, page }, opt(signal)), signal);
        if (!Array.isArray(res.result)) throw badAnswer('list zones', 'no list of zones');
        zones.push(...res.result.filter((z) => typeof z?.id === 'string' && typeof z?.name === 'string').map((z) => ({ id: z.id, name: z.name.toLowerCase() })));
        const totalPages = (res.result_info as { total_pages?: number } | undefined)?.total_pages;
        if (res.result.length === 0 || (totalPages !== undefined ? page >= totalPages : res.result.length < 50)) return zones;
      }
    },

    async listRecords(zoneId, signal) {
      const out: DnsRecord[] = [];
      for (let page = 1; ; page++) {
        if (page > MAX_PAGES) throw badAnswer('list records', `more than ${MAX_PAGES} pages`);
        const res = await call(`list records (page ${page})`, (c) =>
          c.dns.records.list({ zone_id: zoneId, per_page: LIST_PAGE_SIZE, page }, signal ? { signal } : {}), signal);
        const items = res.result as unknown;
        const got = records(items, 'list records');
        out.push(...got);
        const totalPages = (res.result_info as { total_pages?: number } | undefined)?.total_pages;
        const done = typeof totalPages === 'number' ? page >= totalPages : got.length < LIST_PAGE_SIZE;
        if (done || got.length === 0) return out;
      }
    },

    async apply(zoneId, changes, mayWrite, signal) {
      const created: DnsRecord[] = [];
      const updated: DnsRecord[] = [];
      const deletedIds: string[] = [];
      const chunks = batchChunks(changes, opts.batchLimit ?? BATCH_LIMIT);
      for (const body of chunks) {
        const res = await call('batch', (c) => {
          // A replica that lost the leadership while waiting to retry must not send the stale batch.
          if (mayWrite && !mayWrite()) throw new EpictetusError('EPI_NOT_LEADER', 'not the leader any more: batch not sent');
          return c.dns.records.batch({ zone_id: zoneId, ...body }, signal ? { signal } : {});
        }, signal);
        if (typeof res !== 'object' || res === null) throw badAnswer('batch', 'no result');
        created.push(...records(res.posts ?? [], 'batch'));
        updated.push(...records(res.patches ?? [], 'batch'));
        deletedIds.push(...body.deletes.map((d) => d.id));
      }
      return { created, updated, deletedIds, calls: chunks.length };
    },

    async verifyToken(signal) {
      try {
        await call('verify token', (c) => c.user.tokens.verify(opt(signal)), signal);
      } catch (err) {
        // Account-owned tokens are not known to /user/tokens/verify: a token that can list zones is good.
        if (!(err instanceof EpictetusError) || err.code !== 'EPI_CF_AUTH') throw err;
        await call('list zones (token check)', (c) => c.zones.list({ per_page: 5 }, opt(signal)), signal).catch(() => { throw err; });
      }
    },
  };
}
