// The fetch-based Cloudflare client against the simulator: zones, records, batches, errors, budget.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCloudflareProvider, type CallInfo, type ProviderOptions } from '../../src/cloudflare/provider.js';
import { EpictetusError } from '../../src/model/errors.js';
import type { Changes, RecordCreate } from '../../src/model/types.js';
import type { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import { fakeToken, startSim, TOKEN, ZONE } from '../helpers/cloudflare.js';

let sim: CloudflareSim;
let zoneId: string;

beforeEach(async () => {
  sim = await startSim();
  zoneId = sim.zone(ZONE).id;
});

afterEach(async () => {
  await sim.stop();
});

const provider = (opts: Partial<ProviderOptions> = {}) =>
  createCloudflareProvider({ apiToken: () => TOKEN, baseUrl: sim.baseUrl, retry: { maxRetries: 0, baseDelayMs: 1 }, ...opts });

const create = (name: string, content: string): RecordCreate => ({
  name, type: 'A', content, ttl: 1, proxied: false, comment: 'epictetus', node: null, reason: 'test',
});
const changes = (c: Partial<Changes>): Changes => ({ creates: [], updates: [], deletes: [], ...c });

async function failure(p: Promise<unknown>): Promise<EpictetusError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(EpictetusError);
  return err as EpictetusError;
}

describe('zones', () => {
  it('lists every zone the token sees, whatever its status, with status and account, across pages', async () => {
    const other = 'b'.repeat(32);
    const copy = sim.addZone({ name: ZONE, account: other, status: 'pending' });
    for (let i = 0; i < 55; i++) sim.addZone({ name: `zone${String(i).padStart(2, '0')}.example.org` });
    const hidden = sim.addZone({ name: 'secret.example.net' });
    sim.setZonePermission(hidden.id, 'hidden');

    const zones = await provider().listZones([]);
    expect(zones).toHaveLength(57);
    expect(zones.filter((z) => z.name === ZONE)).toEqual(expect.arrayContaining([
      { id: zoneId, name: ZONE, status: 'active', account: sim.defaultAccount.id },
      { id: copy.id, name: ZONE, status: 'pending', account: other },
    ]));
    expect(zones.some((z) => z.id === hidden.id)).toBe(false);
    expect(sim.requests.map((r) => r.query)).toEqual(['per_page=50&page=1', 'per_page=50&page=2']);
  });

  it('reads pinned zones one by one, and a zone the token may not see is an auth error', async () => {
    const pending = sim.addZone({ name: 'example.net', status: 'pending' });
    expect(await provider().listZones([zoneId, pending.id])).toEqual([
      { id: zoneId, name: ZONE, status: 'active', account: sim.defaultAccount.id },
      { id: pending.id, name: 'example.net', status: 'pending', account: sim.defaultAccount.id },
    ]);
    expect(sim.requests.map((r) => r.path)).toEqual([`/client/v4/zones/${zoneId}`, `/client/v4/zones/${pending.id}`]);

    sim.setZonePermission(pending.id, 'hidden');
    const err = await failure(provider().listZones([zoneId, pending.id]));
    expect(err).toMatchObject({ code: 'EPI_CF_AUTH', status: 403, apiCodes: [9109], retryable: false });
    expect(err.message).toBe(`Cloudflare get zone ${pending.id}: HTTP 403 (9109: Unauthorized to access requested resource)`);
  });
});

describe('records', () => {
  it('lists every record over several pages of 5000', async () => {
    const big = await startSim({ maxRecordsPerZone: 6000 });
    try {
      const id = big.zone(ZONE).id;
      for (let i = 0; i < 5001; i++) big.addRecord(id, { name: `n${i}`, type: 'A', content: '198.51.100.7', comment: i === 0 ? 'c' : undefined });
      const records = await provider({ baseUrl: big.baseUrl }).listRecords(id);
      expect(records).toHaveLength(5001);
      expect(records.find((r) => r.name === 'n0.example.com')).toMatchObject({ type: 'A', content: '198.51.100.7', ttl: 1, proxied: false, comment: 'c' });
      expect(big.requests.map((r) => r.query)).toEqual(['per_page=5000&page=1', 'per_page=5000&page=2']);
    } finally {
      await big.stop();
    }
  });

  it('without the right to read DNS, listing is an auth error with Cloudflare’s code', async () => {
    sim.setZonePermission(zoneId, 'none');
    const err = await failure(provider().listRecords(zoneId));
    expect(err).toMatchObject({ code: 'EPI_CF_AUTH', status: 403, apiCodes: [10000] });
    expect(err.message).toBe('Cloudflare list records (page 1): HTTP 403 (10000: Authentication error)');
  });
});

describe('apply', () => {
  it('creates, updates and deletes in chunks: creates first, deletions last', async () => {
    const old = sim.addRecord(zoneId, { name: 'old', type: 'A', content: '192.0.2.1' });
    const edit = sim.addRecord(zoneId, { name: 'edit', type: 'A', content: '192.0.2.2' });
    const result = await provider({ batchLimit: 2 }).apply(zoneId, changes({
      creates: [create('a', '192.0.2.10'), create('b', '192.0.2.11'), create('c', '192.0.2.12')],
      updates: [{ record: { id: edit.id, name: edit.name, type: 'A', content: edit.content, ttl: 1, proxied: false, comment: null }, ttl: 300, proxied: false, comment: 'epictetus', node: null, reason: 'r' }],
      deletes: [{ record: { id: old.id, name: old.name, type: 'A', content: old.content, ttl: 1, proxied: false, comment: null }, node: null, reason: 'r' }],
    }));
    expect(result.calls).toBe(3);
    expect(result.created.map((r) => r.name)).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
    expect(result.updated).toMatchObject([{ id: edit.id, ttl: 300, comment: 'epictetus' }]);
    expect(result.deletedIds).toEqual([old.id]);
    expect(sim.requests.map((r) => r.ops)).toEqual([
      { deletes: 0, patches: 0, puts: 0, posts: 2 },
      { deletes: 0, patches: 1, puts: 0, posts: 1 },
      { deletes: 1, patches: 0, puts: 0, posts: 0 },
    ]);
    expect(sim.records(zoneId).map((r) => r.name).sort()).toEqual(['a.example.com', 'b.example.com', 'c.example.com', 'edit.example.com']);
  });

  it('asks mayWrite before every try, retries included', async () => {
    sim.failNext({ method: 'POST', status: 503 });
    const answers = [true, false];
    let asked = 0;
    const err = await failure(provider({ retry: { maxRetries: 3, baseDelayMs: 1 } })
      .apply(zoneId, changes({ creates: [create('a', '192.0.2.10')] }), () => answers[asked++] ?? false));
    expect(err.code).toBe('EPI_NOT_LEADER');
    expect(asked).toBe(2);
    expect(sim.requests.map((r) => r.status)).toEqual([503]);
    expect(sim.records(zoneId)).toEqual([]);
  });

  it('a batch refused for a CNAME conflict is rejected with 81054, and the batch without it succeeds', async () => {
    sim.addRecord(zoneId, { name: 'alias', type: 'CNAME', content: 'target.example.net' });
    const good = create('app', '192.0.2.10');
    const bad = create('alias', '192.0.2.11');
    const err = await failure(provider().apply(zoneId, changes({ creates: [good, bad] })));
    expect(err).toMatchObject({ code: 'EPI_CF_REJECTED', status: 400, apiCodes: [81054], retryable: false });
    expect(err.message).toMatch(/^Cloudflare batch: HTTP 400 \(81054: A CNAME record with that host already exists\./);
    expect(sim.records(zoneId)).toHaveLength(1);
    await provider().apply(zoneId, changes({ creates: [good] }));
    expect(sim.records(zoneId).map((r) => r.name).sort()).toEqual(['alias.example.com', 'app.example.com']);
  });

  it('keeps the chained codes of a validation error', async () => {
    const err = await failure(provider().apply(zoneId, changes({ creates: [create('x', '999.1.1.1')] })));
    expect(err).toMatchObject({ code: 'EPI_CF_REJECTED', apiCodes: [1004, 9005] });
    expect(err.message).toBe('Cloudflare batch: HTTP 400 (1004: DNS Validation Error [9005: Content for A record must be a valid IPv4 address.])');
  });

  it('with DNS read only, a batch is an auth error and nothing changes', async () => {
    sim.setZonePermission(zoneId, 'read');
    expect(await provider().listRecords(zoneId)).toEqual([]);
    const err = await failure(provider().apply(zoneId, changes({ creates: [create('a', '192.0.2.10')] })));
    expect(err).toMatchObject({ code: 'EPI_CF_AUTH', status: 403, apiCodes: [10000] });
  });
});

describe('errors', () => {
  it('maps HTTP answers to stable codes with the status and the API codes', async () => {
    const cases: Array<[Parameters<CloudflareSim['failNext']>[0], Record<string, unknown>]> = [
      [{ status: 404, code: 81044, message: 'Record does not exist.' }, { code: 'EPI_CF_NOT_FOUND', status: 404, apiCodes: [81044], retryable: false }],
      [{ status: 500, code: 10013, message: 'boom' }, { code: 'EPI_CF_SERVER', status: 500, apiCodes: [10013], retryable: true }],
      [{ status: 408 }, { code: 'EPI_CF_SERVER', status: 408, retryable: true }],
      [{ status: 502, html: true }, { code: 'EPI_CF_SERVER', status: 502, apiCodes: [], message: 'Cloudflare list records (page 1): HTTP 502 (no error details)' }],
      [{ status: 429, retryAfter: '7' }, { code: 'EPI_CF_RATE_LIMITED', status: 429, apiCodes: [971], retryAfterMs: 7000, retryable: true }],
      [{ status: 422, code: 1234, message: 'nope' }, { code: 'EPI_CF_REJECTED', status: 422, apiCodes: [1234], message: 'Cloudflare list records (page 1): HTTP 422 (1234: nope)' }],
      [{ status: 401, code: 1000, message: 'Invalid API Token' }, { code: 'EPI_CF_AUTH', status: 401, apiCodes: [1000] }],
    ];
    for (const [fault, expected] of cases) {
      sim.failNext(fault);
      expect(await failure(provider().listRecords(zoneId))).toMatchObject(expected);
    }
  });

  it('names the cause of a failed connection, and a reset', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await failure(provider({ baseUrl: `http://127.0.0.1:${port}/client/v4` }).listZones([]));
    expect(refused).toMatchObject({ code: 'EPI_CF_CONNECTION', retryable: true, message: 'Cloudflare list zones (page 1): connection failed (ECONNREFUSED)' });

    sim.failNext({ status: 0, reset: true });
    const reset = await failure(provider().listZones([]));
    expect(reset.code).toBe('EPI_CF_CONNECTION');
    expect(reset.message).toMatch(/connection failed \((ECONNRESET|UND_ERR_SOCKET)\)$/);
  });

  it('times out each call, and tells an abort by the caller from a timeout', async () => {
    sim.setLatency(400);
    const timedOut = await failure(provider({ timeoutMs: 50 }).listZones([]));
    expect(timedOut).toMatchObject({ code: 'EPI_CF_TIMEOUT', retryable: true, message: 'Cloudflare list zones (page 1): timed out after 50 ms' });

    const calls: CallInfo[] = [];
    const stop = new AbortController();
    const pending = provider({ onCall: (c) => calls.push(c) }).listZones([], stop.signal);
    setTimeout(() => stop.abort(), 20);
    expect(await failure(pending)).toMatchObject({ code: 'EPI_ABORTED', retryable: false });
    expect(calls).toEqual([{ method: 'GET', status: 0 }]);
  });

  it('an abort while waiting to retry is EPI_ABORTED', async () => {
    sim.failNext({ status: 429, retryAfter: '30' });
    const stop = new AbortController();
    const pending = provider({ retry: { maxRetries: 2, baseDelayMs: 1 }, onRetry: () => stop.abort() }).listZones([], stop.signal);
    expect(await failure(pending)).toMatchObject({ code: 'EPI_ABORTED' });
  });

  it('reads the token at every call, and never puts it in a message', async () => {
    let token = fakeToken('rotated-away-');
    const p = provider({ apiToken: () => token });
    const err = await failure(p.listRecords(zoneId));
    expect(err).toMatchObject({ code: 'EPI_CF_AUTH', status: 401, apiCodes: [1000] });
    expect(err.message).not.toContain(token);
    token = TOKEN;
    expect(await p.listRecords(zoneId)).toEqual([]);
  });
});

describe('verifyToken', () => {
  it('accepts the token, and refuses a wrong one', async () => {
    await provider().verifyToken();
    const err = await failure(provider({ apiToken: () => fakeToken('wrong-') }).verifyToken());
    expect(err).toMatchObject({ code: 'EPI_CF_AUTH', apiCodes: [1000] });
    expect(sim.requests.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/client/v4/user/tokens/verify 200',
      '/client/v4/user/tokens/verify 401',
      '/client/v4/zones 401',
    ]);
  });

  it('falls back to listing zones when /user/tokens/verify does not know the token (account tokens)', async () => {
    sim.failNext({ pathIncludes: '/user/tokens/verify', status: 401, code: 1000, message: 'Invalid API Token' });
    await provider().verifyToken();
    expect(sim.requests.map((r) => `${r.path}?${r.query} ${r.status}`)).toEqual([
      '/client/v4/user/tokens/verify? 401',
      '/client/v4/zones?per_page=5 200',
    ]);
  });
});

describe('rate-limit budget', () => {
  it('reports what every answer says of the limit, and keeps the last budget', async () => {
    const limited = await startSim({ rateLimit: { requests: 4, windowMs: 300_000, blockMs: 60_000 } });
    try {
      const calls: CallInfo[] = [];
      const p = provider({ baseUrl: limited.baseUrl, onCall: (c) => calls.push(c), now: () => 1_000_000 });
      expect(p.budget()).toBeUndefined();
      for (let i = 0; i < 4; i++) await p.listZones([]);
      expect(await failure(p.listZones([]))).toMatchObject({ code: 'EPI_CF_RATE_LIMITED', retryAfterMs: 60_000 });
      expect(calls.map((c) => [c.status, c.rateLimit?.remaining, c.rateLimit?.limit])).toEqual([
        [200, 3, 4], [200, 2, 4], [200, 1, 4], [200, 0, 4], [429, 0, 4],
      ]);
      expect(calls[0]?.rateLimit?.resetSeconds).toBe(300);
      expect(p.budget()).toEqual({ limit: 4, remaining: 0, resetAt: 1_000_000 + 60_000 });
    } finally {
      await limited.stop();
    }
  });

  it('retries a 429 after its Retry-After', async () => {
    sim.failNext({ status: 429, retryAfter: '0' });
    const retries: Array<[string, number]> = [];
    await provider({ retry: { maxRetries: 1, baseDelayMs: 1 }, onRetry: (e, _n, delay) => retries.push([e.code, delay]) }).listZones([]);
    expect(retries).toEqual([['EPI_CF_RATE_LIMITED', 0]]);
  });
});
