/** Reading the Cloudflare simulator's request log: what the service asked of the API, by kind. */
import type { RequestLogEntry } from '../../src/sim/cloudflare/index.js';

export type RequestKind = 'list-records' | 'batch' | 'get-zone' | 'list-zones' | 'verify-token' | 'other';

export function kindOf(r: RequestLogEntry): RequestKind {
  if (r.method === 'GET' && /\/zones\/[^/]+\/dns_records$/.test(r.path)) return 'list-records';
  if (r.method === 'POST' && r.path.endsWith('/dns_records/batch')) return 'batch';
  if (r.method === 'GET' && /\/zones\/[^/]+$/.test(r.path)) return 'get-zone';
  if (r.method === 'GET' && r.path.endsWith('/zones')) return 'list-zones';
  if (r.method === 'GET' && r.path.endsWith('/user/tokens/verify')) return 'verify-token';
  return 'other';
}

/** A list request that starts a listing (page 1): one per full sync and zone. */
export function isFirstListPage(r: RequestLogEntry): boolean {
  return kindOf(r) === 'list-records' && (new URLSearchParams(r.query).get('page') ?? '1') === '1';
}

export type RequestCounts = {
  readonly total: number;
  readonly byMethod: Record<string, number>;
  readonly byKind: Partial<Record<RequestKind, number>>;
  /** Operations carried by the batch calls. */
  readonly batchOps: { deletes: number; patches: number; puts: number; posts: number };
  /** Operations in each batch call, in order. */
  readonly batchSizes: number[];
  /** per_page values the list calls asked for. */
  readonly listPerPage: number[];
  readonly non2xx: number;
}

export function countRequests(entries: readonly RequestLogEntry[]): RequestCounts {
  const byMethod: Record<string, number> = {};
  const byKind: Partial<Record<RequestKind, number>> = {};
  const batchOps = { deletes: 0, patches: 0, puts: 0, posts: 0 };
  const batchSizes: number[] = [];
  const perPage = new Set<number>();
  let non2xx = 0;
  for (const r of entries) {
    byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
    const kind = kindOf(r);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (r.status < 200 || r.status > 299) non2xx++;
    if (kind === 'batch' && r.ops) {
      batchOps.deletes += r.ops.deletes;
      batchOps.patches += r.ops.patches;
      batchOps.puts += r.ops.puts;
      batchOps.posts += r.ops.posts;
      batchSizes.push(r.ops.deletes + r.ops.patches + r.ops.puts + r.ops.posts);
    }
    if (kind === 'list-records') perPage.add(Number(new URLSearchParams(r.query).get('per_page') ?? '100'));
  }
  return { total: entries.length, byMethod, byKind, batchOps, batchSizes, listPerPage: [...perPage], non2xx };
}

/** Writes: anything but GET. */
export function writes(c: RequestCounts): number {
  return c.total - (c.byMethod.GET ?? 0);
}
