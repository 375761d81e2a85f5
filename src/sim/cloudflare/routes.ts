import type { IncomingHttpHeaders } from 'node:http';
import { parseBatch, runBatch } from './batch.js';
import {
  authenticationError,
  CfError,
  invalidToken,
  malformedAuthorization,
  malformedJson,
  methodNotAllowed,
  missingCredentials,
  noRoute,
  noRouteForIdentifier,
  rateLimited,
  unauthorizedResource,
} from './errors.js';
import type { Answer } from './faults.js';
import { copyRecord, createRecord, deleteRecord, existingRecord, updateRecord } from './operations.js';
import { listRecords, type ResultInfo } from './query.js';
import type { RateLimiter } from './ratelimit.js';
import type { Store } from './store.js';
import type { BatchOpCounts } from './types.js';
import { listZones, zoneView } from './zones.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ApiAnswer extends Answer {
  ops?: BatchOpCounts;
}

export interface ApiConfig {
  token: string;
  tokenId: string;
  batchLimit: number;
}

interface Ok {
  result: unknown;
  result_info?: ResultInfo;
  messages?: unknown[];
}

type Body = Record<string, unknown>;

const PREFIX = '/client/v4/';
const RECORD_ID = /^[0-9a-f]{32}$/;

function parseObject(text: string): Body {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformedJson();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformedJson();
  return value as Body;
}

function byMethod(method: string, handlers: Partial<Record<string, () => Ok>>): Ok {
  const handler = handlers[method];
  if (!handler) throw methodNotAllowed(method);
  return handler();
}

/** Loose counts, taken before validation so that rejected batches are logged with their size too. */
function countOps(body: Body): BatchOpCounts {
  const n = (key: string): number => {
    const list = body[key];
    return Array.isArray(list) ? list.length : 0;
  };
  return { deletes: n('deletes'), patches: n('patches'), puts: n('puts'), posts: n('posts') };
}

const jsonAnswer = (status: number, payload: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify(payload),
});

/** The v4 API: authentication, rate limiting, routing and the envelope. */
export class Api {
  constructor(
    private readonly store: Store,
    private readonly limiter: RateLimiter,
    private readonly config: ApiConfig,
  ) {}

  handle(req: ApiRequest): ApiAnswer {
    const meta: { ops?: BatchOpCounts } = {};
    let limitHeaders: Record<string, string> = {};
    try {
      this.authenticate(req.headers);
      const state = this.limiter.take(this.config.token, Date.now());
      if (state) limitHeaders = this.limiter.headers(state);
      if (state?.refusedFor !== undefined) throw rateLimited(state.refusedFor);
      const ok = this.route(req, meta);
      return {
        ...jsonAnswer(200, { success: true, errors: [], messages: ok.messages ?? [], ...ok }, limitHeaders),
        ...meta,
      };
    } catch (err) {
      const e = err instanceof CfError ? err : new CfError(500, [{ code: 10001, message: String(err) }]);
      return {
        ...jsonAnswer(e.status, { success: false, errors: e.errors, messages: [], result: null }, { ...limitHeaders, ...e.headers }),
        ...meta,
      };
    }
  }

  private authenticate(headers: IncomingHttpHeaders): void {
    const auth = headers.authorization;
    if (auth === undefined || auth === '') throw missingCredentials();
    const match = /^Bearer (\S+)$/.exec(auth);
    if (!match) throw malformedAuthorization();
    if (match[1] !== this.config.token) throw invalidToken();
  }

  private route(req: ApiRequest, meta: { ops?: BatchOpCounts }): Ok {
    if (!req.path.startsWith(PREFIX)) throw noRoute();
    const segs = req.path.slice(PREFIX.length).split('/').filter((s) => s !== '');
    const { method, query, path } = req;

    if (segs.join('/') === 'user/tokens/verify') {
      return byMethod(method, {
        GET: () => ({
          result: { id: this.config.tokenId, status: 'active' },
          messages: [{ code: 10000, message: 'This API Token is valid and active', type: null }],
        }),
      });
    }
    if (segs[0] !== 'zones' || segs.length > 4) throw noRoute();
    if (segs.length === 1) {
      return byMethod(method, { GET: () => listZones(this.store.zoneInfos(), query) });
    }

    const zone = this.store.zone(segs[1] ?? '');
    if (!zone) throw noRouteForIdentifier(path);
    if (zone.zone.permission === 'hidden') throw unauthorizedResource();
    if (segs.length === 2) return byMethod(method, { GET: () => ({ result: zoneView(zone.zone) }) });
    if (segs[2] !== 'dns_records') throw noRoute();
    if (zone.zone.permission === 'none') throw authenticationError();
    const zoneId = zone.zone.id;
    const write = <T>(fn: () => T): T => {
      if (zone.zone.permission !== 'edit') throw authenticationError();
      return fn();
    };

    if (segs.length === 3) {
      return byMethod(method, {
        GET: () => listRecords(zone.all(), query),
        POST: () => write(() => ({ result: this.store.apply(zoneId, (d, ctx) => createRecord(d, parseObject(req.body), ctx)) })),
      });
    }
    if (segs[3] === 'batch') {
      return byMethod(method, {
        POST: () => {
          const body = parseObject(req.body);
          meta.ops = countOps(body);
          return write(() => {
            const batch = parseBatch(body, this.config.batchLimit);
            return { result: this.store.transact(zoneId, (d, ctx) => runBatch(d, batch, ctx)) };
          });
        },
      });
    }

    const id = segs[3] ?? '';
    if (!RECORD_ID.test(id)) throw noRouteForIdentifier(path);
    return byMethod(method, {
      GET: () => ({ result: copyRecord(existingRecord(zone, id)) }),
      PATCH: () => write(() => ({ result: this.store.apply(zoneId, (d, ctx) => updateRecord(d, id, parseObject(req.body), ctx, 'patch')) })),
      PUT: () => write(() => ({ result: this.store.apply(zoneId, (d, ctx) => updateRecord(d, id, parseObject(req.body), ctx, 'put')) })),
      DELETE: () => write(() => ({ result: { id: this.store.apply(zoneId, (d) => deleteRecord(d, id)).id } })),
    });
  }
}
