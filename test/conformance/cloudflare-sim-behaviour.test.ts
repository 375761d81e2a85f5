// Behaviour the service relies on, checked over plain HTTP: validation, batch transactions,
// pagination, rate limiting, injected faults, latency and the commit log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudflareSim, Commit } from '../../src/sim/cloudflare/index.js';
import { call, errorsOf, startSim, ZONE } from '../helpers/cloudflare.js';

let sim: CloudflareSim;
let zoneId: string;
let records: string;

beforeEach(async () => {
  sim = await startSim();
  zoneId = sim.zone(ZONE).id;
  records = `/zones/${zoneId}/dns_records`;
});

afterEach(async () => {
  await sim.stop();
});

const resultOf = (body: unknown): Record<string, unknown> => (body as { result: Record<string, unknown> }).result;

async function create(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await call(sim, 'POST', records, { body: { ttl: 1, ...body } });
  expect(res.status, res.text).toBe(200);
  return resultOf(res.json);
}

async function expectError(
  p: Promise<{ status: number; json: unknown }>,
  status: number,
  code: number,
  chained?: number,
): Promise<void> {
  const res = await p;
  expect(res.status).toBe(status);
  expect(res.json).toMatchObject({ success: false, messages: [], result: null });
  const [first] = errorsOf(res.json);
  expect(first?.code).toBe(code);
  if (chained !== undefined) expect(first?.error_chain?.[0]?.code).toBe(chained);
}

describe('authentication', () => {
  it('answers 400 9106 without credentials, 400 6003 for a malformed header, 401 1000 for a wrong token', async () => {
    await expectError(call(sim, 'GET', '/zones', { auth: null }), 400, 9106);
    await expectError(call(sim, 'GET', '/zones', { auth: 'Basic dXNlcjpwYXNz' }), 400, 6003);
    await expectError(call(sim, 'GET', '/zones', { auth: 'Bearer wrong' }), 401, 1000);
  });
});

describe('routing', () => {
  it('answers 7003 for unknown zones and malformed record ids, 7000 for unknown paths, 405 for wrong methods', async () => {
    await expectError(call(sim, 'GET', '/zones/nope/dns_records'), 400, 7003);
    await expectError(call(sim, 'GET', `${records}/not-an-id`), 400, 7003);
    await expectError(call(sim, 'GET', '/accounts'), 400, 7000);
    await expectError(call(sim, 'DELETE', records), 405, 7001);
    await expectError(call(sim, 'POST', records, { body: '{not json' }), 400, 6007);
  });
});

describe('record validation', () => {
  it('stores full lower-case names, appending the zone to relative ones', async () => {
    expect((await create({ type: 'A', name: 'WWW', content: '192.0.2.1' })).name).toBe('www.example.com');
    expect((await create({ type: 'A', name: '@', content: '192.0.2.1' })).name).toBe('example.com');
    expect((await create({ type: 'A', name: 'Api.Example.COM.', content: '192.0.2.1' })).name).toBe('api.example.com');
    expect((await create({ type: 'A', name: 'host.other.org', content: '192.0.2.1' })).name).toBe(
      'host.other.org.example.com',
    );
    expect((await create({ type: 'AAAA', name: 'v6', content: '2001:DB8:0:0::0001' })).content).toBe('2001:db8::1');
    await expectError(call(sim, 'POST', records, { body: { type: 'A', name: 'bad name', content: '192.0.2.1' } }), 400, 1004, 9000);
  });

  it('checks content against the type, the TTL range, comments and tags', async () => {
    const post = (body: Record<string, unknown>) => call(sim, 'POST', records, { body: { name: 'x', ttl: 1, ...body } });
    await expectError(post({ type: 'A', content: '2001:db8::1' }), 400, 1004, 9005);
    await expectError(post({ type: 'AAAA', content: '192.0.2.1' }), 400, 1004, 9006);
    for (const ttl of [0, 59, 86401, 120.5, '300']) {
      await expectError(post({ type: 'A', content: '192.0.2.1', ttl }), 400, 1004, 9021);
    }
    await expectError(post({ type: 'A', content: '192.0.2.1', comment: 'c'.repeat(101) }), 400, 1004, 9101);
    await expectError(post({ type: 'A', content: '192.0.2.1', comment: 'two\nlines' }), 400, 1004, 9102);
    await expectError(post({ type: 'A', content: '192.0.2.1', tags: ['owner:me'] }), 400, 1004, 9300);
    await expectError(post({ type: 'TXT', content: 'hello', proxied: true }), 400, 1004, 9004);
    expect((await create({ type: 'A', name: 'c', content: '192.0.2.1', comment: 'c'.repeat(100) })).comment).toHaveLength(100);
    expect(sim.records(zoneId)).toHaveLength(1);
  });

  it('forces an automatic TTL on proxied records', async () => {
    const proxied = await create({ type: 'A', name: 'p', content: '192.0.2.1', ttl: 3600, proxied: true });
    expect(proxied).toMatchObject({ ttl: 1, proxied: true, proxiable: true });
  });

  it('rejects an identical record (81058) but accepts the same name and type with other content', async () => {
    await create({ type: 'A', name: 'same', content: '192.0.2.1' });
    await create({ type: 'A', name: 'same', content: '192.0.2.2' });
    await expectError(call(sim, 'POST', records, { body: { type: 'A', name: 'same', content: '192.0.2.1', ttl: 60 } }), 400, 81058);
    const second = sim.records(zoneId).find((r) => r.content === '192.0.2.2');
    await expectError(call(sim, 'PATCH', `${records}/${second?.id}`, { body: { content: '192.0.2.1' } }), 400, 81058);
  });

  it('answers 404 81044 for records that do not exist', async () => {
    const missing = `${records}/${'a'.repeat(32)}`;
    await expectError(call(sim, 'GET', missing), 404, 81044);
    await expectError(call(sim, 'PATCH', missing, { body: { content: '192.0.2.1' } }), 404, 81044);
    await expectError(call(sim, 'DELETE', missing), 404, 81044);
  });

  it('enforces the record quota of a zone', async () => {
    const small = await startSim({ maxRecordsPerZone: 1 });
    try {
      const path = `/zones/${small.zone(ZONE).id}/dns_records`;
      const body = (content: string) => ({ body: { type: 'A', name: 'q', content, ttl: 1 } });
      expect((await call(small, 'POST', path, body('192.0.2.1'))).status).toBe(200);
      await expectError(call(small, 'POST', path, body('192.0.2.2')), 400, 81045);
    } finally {
      await small.stop();
    }
  });
});

describe('listing', () => {
  beforeEach(() => {
    sim.addRecord(zoneId, { name: 'b', type: 'A', content: '192.0.2.2', comment: 'Owned by Epictetus' });
    sim.addRecord(zoneId, { name: 'a', type: 'A', content: '192.0.2.1', ttl: 300 });
    sim.addRecord(zoneId, { name: 'a', type: 'AAAA', content: '2001:db8::1' });
    sim.addRecord(zoneId, { name: 'c', type: 'TXT', content: 'heritage=epictetus' });
  });

  const list = async (query: string): Promise<{ names: string[]; info: unknown }> => {
    const res = await call(sim, 'GET', `${records}?${query}`);
    expect(res.status).toBe(200);
    const body = res.json as { result: Array<{ name: string; type: string }>; result_info: unknown };
    return { names: body.result.map((r) => `${r.type} ${r.name}`), info: body.result_info };
  };

  it('filters by type, name, content and comment, combined by match', async () => {
    expect((await list('type=A')).names).toEqual(['A a.example.com', 'A b.example.com']);
    expect((await list('name=a.example.com')).names).toEqual(['A a.example.com', 'AAAA a.example.com']);
    expect((await list('name.exact=A.EXAMPLE.COM&type=AAAA')).names).toEqual(['AAAA a.example.com']);
    expect((await list('content=192.0.2.2')).names).toEqual(['A b.example.com']);
    expect((await list('comment.contains=epictetus')).names).toEqual(['A b.example.com']);
    expect((await list('comment.present')).names).toEqual(['A b.example.com']);
    expect((await list('comment.absent&type=A')).names).toEqual(['A a.example.com']);
    expect((await list('match=any&type=TXT&content=192.0.2.1')).names).toEqual(['A a.example.com', 'TXT c.example.com']);
  });

  it('orders by the requested field and direction', async () => {
    expect((await list('order=name&direction=desc')).names).toEqual([
      'TXT c.example.com',
      'A b.example.com',
      'AAAA a.example.com',
      'A a.example.com',
    ]);
    expect((await list('order=ttl&type=A')).names).toEqual(['A b.example.com', 'A a.example.com']);
  });

  it('paginates, and answers 200 with an empty result past the last page', async () => {
    expect(await list('per_page=3&page=2')).toEqual({
      names: ['TXT c.example.com'],
      info: { page: 2, per_page: 3, count: 1, total_count: 4, total_pages: 2 },
    });
    expect(await list('per_page=3&page=7')).toEqual({
      names: [],
      info: { page: 7, per_page: 3, count: 0, total_count: 4, total_pages: 2 },
    });
    expect(((await list('per_page=5000000')).info as { per_page: number }).per_page).toBe(5_000_000);
  });
});

describe('batch', () => {
  const batch = (body: unknown) => call(sim, 'POST', `${records}/batch`, { body });

  it('changes nothing when an operation in the middle fails', async () => {
    const keep = sim.addRecord(zoneId, { name: 'keep', type: 'A', content: '192.0.2.1' });
    const edit = sim.addRecord(zoneId, { name: 'edit', type: 'A', content: '192.0.2.2' });
    const before = sim.records(zoneId);
    const commits = sim.commits.length;
    await expectError(
      batch({
        deletes: [{ id: keep.id }],
        patches: [{ id: edit.id, content: '192.0.2.20' }],
        posts: [
          { type: 'A', name: 'new', content: '192.0.2.3', ttl: 1 },
          { type: 'A', name: 'broken', content: '999.0.2.4', ttl: 1 },
          { type: 'A', name: 'never', content: '192.0.2.5', ttl: 1 },
        ],
      }),
      400,
      1004,
      9005,
    );
    expect(sim.records(zoneId)).toEqual(before);
    expect(sim.commits).toHaveLength(commits);

    await expectError(batch({ deletes: [{ id: keep.id }], patches: [{ id: 'f'.repeat(32), content: '192.0.2.9' }] }), 404, 81044);
    expect(sim.records(zoneId)).toEqual(before);
  });

  it('runs deletes, patches, puts, posts in that order, so a delete frees the content for a post', async () => {
    const old = sim.addRecord(zoneId, { name: 'node', type: 'A', content: '192.0.2.1' });
    const res = await batch({
      posts: [{ type: 'A', name: 'node', content: '192.0.2.1', ttl: 1, comment: 'recreated' }],
      deletes: [{ id: old.id }],
    });
    expect(res.status, res.text).toBe(200);
    const result = resultOf(res.json) as Record<string, Array<{ id: string }>>;
    expect(result.deletes?.map((r) => r.id)).toEqual([old.id]);
    expect(sim.records(zoneId)).toMatchObject([{ name: 'node.example.com', content: '192.0.2.1', comment: 'recreated' }]);
    expect(sim.commits.slice(-2).map((c) => c.kind)).toEqual(['delete', 'create']);
  });

  it('rejects identical records within one batch and against existing ones', async () => {
    sim.addRecord(zoneId, { name: 'exists', type: 'A', content: '192.0.2.1' });
    const post = (name: string) => ({ type: 'A', name, content: '192.0.2.1', ttl: 1 });
    await expectError(batch({ posts: [post('twice'), post('twice')] }), 400, 81058);
    await expectError(batch({ posts: [post('exists')] }), 400, 81058);
    expect(sim.records(zoneId)).toHaveLength(1);
  });

  it('refuses more operations than the limit and logs the operation counts', async () => {
    const limited = await startSim({ batchLimit: 3 });
    try {
      const path = `/zones/${limited.zone(ZONE).id}/dns_records/batch`;
      const posts = ['a', 'b', 'c', 'd'].map((name) => ({ type: 'A', name, content: '192.0.2.1', ttl: 1 }));
      await expectError(call(limited, 'POST', path, { body: { posts } }), 400, 81062);
      expect(limited.records()).toEqual([]);
      expect((await call(limited, 'POST', path, { body: { posts: posts.slice(1) } })).status).toBe(200);
      expect(limited.requests.map((r) => r.ops)).toEqual([
        { deletes: 0, patches: 0, puts: 0, posts: 4 },
        { deletes: 0, patches: 0, puts: 0, posts: 3 },
      ]);
    } finally {
      await limited.stop();
    }
  });
});

describe('rate limit', () => {
  it('blocks every call for blockMs once over the window, with Retry-After in seconds', async () => {
    const limited = await startSim({ rateLimit: { requests: 2, windowMs: 60_000, blockMs: 1_200 } });
    try {
      expect((await call(limited, 'GET', '/zones')).status).toBe(200);
      expect((await call(limited, 'GET', '/zones')).status).toBe(200);
      const refused = await call(limited, 'GET', '/zones');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(errorsOf(refused.json)[0]).toEqual({
        code: 971,
        message: 'Please wait and consider throttling your request speed',
      });
      expect((await call(limited, 'GET', '/user/tokens/verify')).status).toBe(429);
      limited.resetRateLimit();
      expect((await call(limited, 'GET', '/zones')).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('faults and latency', () => {
  it('fails the next matching requests with the given status, code, message and Retry-After', async () => {
    sim.failNext({ method: 'POST', pathIncludes: '/dns_records', status: 500, count: 2, code: 10013, message: 'boom', retryAfter: '0' });
    expect((await call(sim, 'GET', records)).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await call(sim, 'POST', records, { body: { type: 'A', name: 'f', content: '192.0.2.1', ttl: 1 } });
      expect(res.status).toBe(500);
      expect(res.headers.get('retry-after')).toBe('0');
      expect(res.json).toEqual({ success: false, errors: [{ code: 10013, message: 'boom' }], messages: [], result: null });
    }
    expect((await call(sim, 'POST', records, { body: { type: 'A', name: 'f', content: '192.0.2.1', ttl: 1 } })).status).toBe(200);
  });

  it('answers an HTML page like Cloudflare’s edge when asked', async () => {
    sim.failNext({ status: 504, html: true });
    const res = await call(sim, 'GET', '/zones');
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(res.text).toContain('<title>504 Gateway Timeout</title>');
  });

  it('resets the connection without an answer', async () => {
    sim.failNext({ status: 0, reset: true });
    await expect(call(sim, 'GET', '/zones')).rejects.toThrow();
    expect(sim.requests).toMatchObject([{ method: 'GET', path: '/client/v4/zones', status: 0 }]);
  });

  it('delays every answer by the configured latency', async () => {
    sim.setLatency(150);
    const started = Date.now();
    await call(sim, 'GET', '/zones');
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(sim.requests[0]?.at).toBeGreaterThanOrEqual(started + 145);
  });
});

describe('logs', () => {
  it('logs every request in order with its status and time', async () => {
    const before = Date.now();
    await call(sim, 'GET', `${records}?type=A`);
    await call(sim, 'GET', '/zones', { auth: 'Bearer wrong' });
    expect(sim.requests).toEqual([
      { method: 'GET', path: `/client/v4${records}`, query: 'type=A', status: 200, at: expect.any(Number) },
      { method: 'GET', path: '/client/v4/zones', query: '', status: 401, at: expect.any(Number) },
    ]);
    expect(sim.requests[0]?.at).toBeGreaterThanOrEqual(before);
  });

  it('logs every committed change with its time and notifies subscribers', async () => {
    const seen: Commit[] = [];
    const unsubscribe = sim.onCommit((c) => seen.push(c));
    const t0 = Date.now();
    const rec = await create({ type: 'A', name: 'log', content: '192.0.2.1' });
    await call(sim, 'PATCH', `${records}/${String(rec.id)}`, { body: { content: '192.0.2.2' } });
    await call(sim, 'DELETE', `${records}/${String(rec.id)}`);
    const t1 = Date.now();
    unsubscribe();
    sim.addRecord(zoneId, { name: 'quiet', type: 'A', content: '192.0.2.3' });

    expect(seen.map((c) => [c.kind, c.record.content])).toEqual([
      ['create', '192.0.2.1'],
      ['update', '192.0.2.2'],
      ['delete', '192.0.2.2'],
    ]);
    for (const c of seen) {
      expect(c.zoneId).toBe(zoneId);
      expect(c.at).toBeGreaterThanOrEqual(t0);
      expect(c.at).toBeLessThanOrEqual(t1);
    }
    expect(sim.commits.map((c) => c.kind)).toEqual(['create', 'update', 'delete', 'create']);
    // Changes made behind the service's back are committed but are not requests.
    expect(sim.requests).toHaveLength(3);
  });
});

describe('CNAME conflicts', () => {
  const batch = (body: unknown) => call(sim, 'POST', `${records}/batch`, { body });

  it('refuses a CNAME beside A/AAAA/CNAME (81053) and A/AAAA beside a CNAME (81054), on create and update', async () => {
    sim.addRecord(zoneId, { name: 'alias', type: 'CNAME', content: 'target.example.net' });
    const a = sim.addRecord(zoneId, { name: 'host', type: 'A', content: '192.0.2.1' });
    sim.addRecord(zoneId, { name: 'txt', type: 'TXT', content: 'hello' });
    const post = (body: Record<string, unknown>) => call(sim, 'POST', records, { body: { ttl: 1, ...body } });
    await expectError(post({ type: 'AAAA', name: 'alias', content: '2001:db8::1' }), 400, 81054);
    await expectError(post({ type: 'CNAME', name: 'host', content: 'target.example.net' }), 400, 81053);
    await expectError(post({ type: 'CNAME', name: 'alias', content: 'other.example.net' }), 400, 81053);
    await expectError(call(sim, 'PATCH', `${records}/${a.id}`, { body: { name: 'alias' } }), 400, 81054);
    // A CNAME may sit beside a TXT record, and a record never conflicts with itself.
    expect((await post({ type: 'CNAME', name: 'txt', content: 'target.example.net' })).status).toBe(200);
    expect((await call(sim, 'PATCH', `${records}/${a.id}`, { body: { content: '192.0.2.9' } })).status).toBe(200);
  });

  it('refuses the whole batch with the first failing operation’s error, and runs deletes first', async () => {
    const alias = sim.addRecord(zoneId, { name: 'alias', type: 'CNAME', content: 'target.example.net' });
    const before = sim.records(zoneId);
    const good = { type: 'A', name: 'app', content: '192.0.2.1', ttl: 1 };
    const bad = { type: 'A', name: 'alias', content: '192.0.2.2', ttl: 1 };
    const refused = await batch({ posts: [good, bad] });
    expect(refused.status).toBe(400);
    expect(errorsOf(refused.json)).toEqual([
      {
        code: 81054,
        message:
          'A CNAME record with that host already exists. For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.',
      },
    ]);
    expect(sim.records(zoneId)).toEqual(before);
    // Bisecting: the sub-batch without the refused operation goes through.
    expect((await batch({ posts: [good] })).status).toBe(200);
    // Replacing the CNAME with an A record in one batch works: the delete runs before the post.
    expect((await batch({ deletes: [{ id: alias.id }], posts: [bad] })).status).toBe(200);
    expect(sim.records(zoneId).map((r) => `${r.type} ${r.name}`).sort()).toEqual(['A alias.example.com', 'A app.example.com']);
  });
});

describe('zones', () => {
  const zoneIds = async (query: string): Promise<string[]> => {
    const res = await call(sim, 'GET', `/zones?${query}`);
    expect(res.status).toBe(200);
    return (res.json as { result: Array<{ id: string }> }).result.map((z) => z.id);
  };

  it('filter by status, account id and account name; statuses change at run time', async () => {
    const other = 'd'.repeat(32);
    const copy = sim.addZone({ name: ZONE, account: other, status: 'initializing' });
    expect(await zoneIds('status=initializing')).toEqual([copy.id]);
    expect(await zoneIds('status=active')).toEqual([zoneId]);
    expect(await zoneIds('status=nonsense')).toEqual([]);
    expect(await zoneIds(`account.id=${other}`)).toEqual([copy.id]);
    expect(await zoneIds(`account.name=contains:${other.slice(0, 8)}`)).toEqual([copy.id]);
    sim.setZoneStatus(copy.id, 'pending');
    expect(await zoneIds('status=pending')).toEqual([copy.id]);
    expect(() => sim.setZoneStatus(copy.id, 'gone' as never)).toThrow(/unknown zone status/);
    expect(() => sim.addZone({ name: ZONE, account: other })).toThrow(/already has a zone example.com/);
  });

  it('start with the status, account and permission given', async () => {
    const other = await startSim({
      zones: [
        { name: 'a.example', status: 'pending', account: 'e'.repeat(32) },
        { name: 'b.example', permission: 'hidden' },
      ],
    });
    try {
      expect(other.zones().map((z) => [z.name, z.status, z.account.id === 'e'.repeat(32), z.permission])).toEqual([
        ['a.example', 'pending', true, 'edit'],
        ['b.example', 'active', false, 'hidden'],
      ]);
      const res = await call(other, 'GET', '/zones');
      expect((res.json as { result: Array<{ name: string; status: string }> }).result).toMatchObject([{ name: 'a.example', status: 'pending' }]);
    } finally {
      await other.stop();
    }
  });
});

describe('rate-limit headers', () => {
  it('come with every authenticated answer, errors included, and match the limiter', async () => {
    const limited = await startSim({ rateLimit: { requests: 5, windowMs: 60_000, blockMs: 10_000 } });
    try {
      const path = `/zones/${limited.zone(ZONE).id}/dns_records`;
      const remaining = async (p: string, auth?: string): Promise<[number, string | null, string | null]> => {
        const res = await call(limited, 'GET', p, auth === undefined ? {} : { auth });
        return [res.status, /r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? null, res.headers.get('ratelimit-policy')];
      };
      expect(await remaining(path)).toEqual([200, '4', '"default";q=5;w=60']);
      expect(await remaining(`${path}/${'a'.repeat(32)}`)).toEqual([404, '3', '"default";q=5;w=60']);
      expect(await remaining('/zones', 'Bearer wrong')).toEqual([401, null, null]);
    } finally {
      await limited.stop();
    }
  });
});
