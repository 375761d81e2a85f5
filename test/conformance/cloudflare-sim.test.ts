// The simulator as the official Cloudflare SDK sees it: if the SDK (written against the real API)
// parses our answers, paginates, and raises the right error classes, the simulator is faithful.
import Cloudflare from 'cloudflare';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import { call, fakeToken, sdk, startSim, ZONE } from '../helpers/cloudflare.js';

let sim: CloudflareSim;
let client: Cloudflare;
let zoneId: string;

beforeEach(async () => {
  sim = await startSim();
  client = sdk(sim);
  zoneId = sim.zone(ZONE).id;
});

afterEach(async () => {
  await sim.stop();
});

/** The APIError the promise rejects with. */
async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof Cloudflare.APIError>> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Cloudflare.APIError);
  return err as InstanceType<typeof Cloudflare.APIError>;
}

const codes = (err: InstanceType<typeof Cloudflare.APIError>): number[] =>
  (err.errors as Array<{ code: number }>).map((e) => e.code);

describe('official SDK: tokens and zones', () => {
  it('verifies the configured token', async () => {
    const token = await client.user.tokens.verify();
    expect(token.status).toBe('active');
    expect(token.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('raises AuthenticationError (401, code 1000) for any other token', async () => {
    const bad = sdk(sim, { token: fakeToken('not-the-right-one-') });
    for (const request of [() => bad.user.tokens.verify(), () => bad.dns.records.list({ zone_id: zoneId })]) {
      const err = await apiError(request());
      expect(err).toBeInstanceOf(Cloudflare.AuthenticationError);
      expect(err.status).toBe(401);
      expect(codes(err)).toEqual([1000]);
    }
  });

  it('lists zones across pages with auto-pagination, and filters by name', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `zone${i}.example.org`);
    const many = await startSim({ zones: names.map((name) => ({ name })) });
    try {
      const c = sdk(many);
      const seen: string[] = [];
      for await (const zone of c.zones.list({ per_page: 5 })) seen.push(zone.name);
      expect(seen.sort()).toEqual(names);
      const pages = many.requests.filter((r) => r.path.endsWith('/zones')).map((r) => r.query);
      expect(pages).toEqual(['per_page=5', 'per_page=5&page=2', 'per_page=5&page=3']);

      const one = await c.zones.list({ name: 'zone3.example.org' });
      expect(one.result.map((z) => z.id)).toEqual([many.zone('zone3.example.org').id]);
    } finally {
      await many.stop();
    }
  });
});

describe('official SDK: DNS records', () => {
  it('creates, lists, gets, edits, updates and deletes a record', async () => {
    const created = await client.dns.records.create({
      zone_id: zoneId,
      type: 'A',
      name: 'WWW',
      content: '192.0.2.1',
      ttl: 120,
      comment: 'managed by epictetus',
    });
    expect(created).toMatchObject({ name: 'www.example.com', type: 'A', content: '192.0.2.1', ttl: 120, proxied: false });
    expect(created.comment).toBe('managed by epictetus');
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);

    const listed = await client.dns.records.list({ zone_id: zoneId, type: 'A', name: { exact: 'www.example.com' } });
    expect(listed.result.map((r) => r.id)).toEqual([created.id]);

    const fetched = await client.dns.records.get(created.id, { zone_id: zoneId });
    expect(fetched).toEqual(created);

    await new Promise((r) => setTimeout(r, 5)); // so that modified_on visibly moves
    const edited = await client.dns.records.edit(created.id, {
      zone_id: zoneId,
      type: 'A',
      name: 'www.example.com',
      content: '192.0.2.2',
      ttl: 1,
    });
    expect(edited).toMatchObject({ id: created.id, content: '192.0.2.2', ttl: 1, comment: 'managed by epictetus' });
    expect(edited.created_on).toBe(created.created_on);
    expect(edited.modified_on > created.modified_on).toBe(true);

    const updated = await client.dns.records.update(created.id, {
      zone_id: zoneId,
      type: 'A',
      name: 'www.example.com',
      content: '192.0.2.3',
      ttl: 300,
    });
    // PUT overwrites: the comment it did not send is gone.
    expect(updated).toMatchObject({ content: '192.0.2.3', ttl: 300, comment: null });

    const deleted = await client.dns.records.delete(created.id, { zone_id: zoneId });
    expect(deleted).toEqual({ id: created.id });
    const err = await apiError(client.dns.records.get(created.id, { zone_id: zoneId }));
    expect(err).toBeInstanceOf(Cloudflare.NotFoundError);
    expect(codes(err)).toEqual([81044]);
  });

  it('auto-paginates with for await over several pages and stops on the empty page past the end', async () => {
    for (let i = 0; i < 250; i++) sim.addRecord(zoneId, { name: `n${i}`, type: 'A', content: '198.51.100.7' });
    const ids = new Set<string>();
    for await (const record of client.dns.records.list({ zone_id: zoneId, per_page: 100 })) ids.add(record.id);
    expect(ids.size).toBe(250);
    const pages = sim.requests.filter((r) => r.path.endsWith('/dns_records')).map((r) => r.query);
    expect(pages).toEqual(['per_page=100', 'per_page=100&page=2', 'per_page=100&page=3', 'per_page=100&page=4']);
  });

  it('applies a batch and answers full records for every operation', async () => {
    const a = sim.addRecord(zoneId, { name: 'a', type: 'A', content: '192.0.2.10' });
    const b = sim.addRecord(zoneId, { name: 'b', type: 'A', content: '192.0.2.11' });
    const c = sim.addRecord(zoneId, { name: 'c', type: 'A', content: '192.0.2.12' });
    const result = await client.dns.records.batch({
      zone_id: zoneId,
      deletes: [{ id: a.id }],
      patches: [{ id: b.id, type: 'A', name: 'b.example.com', content: '192.0.2.21', ttl: 1 }],
      puts: [{ id: c.id, type: 'A', name: 'c.example.com', content: '192.0.2.22', ttl: 600 }],
      posts: [{ type: 'A', name: 'd', content: '192.0.2.23', ttl: 1, proxied: true }],
    });
    expect(result.deletes?.map((r) => r.id)).toEqual([a.id]);
    expect(result.patches?.[0]).toMatchObject({ id: b.id, content: '192.0.2.21' });
    expect(result.puts?.[0]).toMatchObject({ id: c.id, content: '192.0.2.22', ttl: 600 });
    expect(result.posts?.[0]).toMatchObject({ name: 'd.example.com', proxied: true, ttl: 1, proxiable: true });
    expect(sim.records(zoneId).map((r) => `${r.name} ${r.content}`).sort()).toEqual([
      'b.example.com 192.0.2.21',
      'c.example.com 192.0.2.22',
      'd.example.com 192.0.2.23',
    ]);
    expect(sim.requests.at(-1)?.ops).toEqual({ deletes: 1, patches: 1, puts: 1, posts: 1 });
  });

  it('raises BadRequestError with the real error codes', async () => {
    await client.dns.records.create({ zone_id: zoneId, type: 'A', name: 'dup', content: '192.0.2.1', ttl: 1 });
    const identical = await apiError(
      client.dns.records.create({ zone_id: zoneId, type: 'A', name: 'dup', content: '192.0.2.1', ttl: 300 }),
    );
    expect(identical).toBeInstanceOf(Cloudflare.BadRequestError);
    expect(codes(identical)).toEqual([81058]);

    const badIp = await apiError(
      client.dns.records.create({ zone_id: zoneId, type: 'A', name: 'x', content: 'not-an-ip', ttl: 1 }),
    );
    expect(badIp).toBeInstanceOf(Cloudflare.BadRequestError);
    expect(badIp.errors[0]).toMatchObject({ code: 1004, error_chain: [{ code: 9005 }] });

    const badTtl = await apiError(
      client.dns.records.create({ zone_id: zoneId, type: 'A', name: 'x', content: '192.0.2.1', ttl: 30 }),
    );
    expect(badTtl.errors[0]).toMatchObject({ code: 1004, error_chain: [{ code: 9021 }] });

    const unknownZone = await apiError(client.dns.records.list({ zone_id: '0'.repeat(32) }));
    expect(unknownZone).toBeInstanceOf(Cloudflare.BadRequestError);
    expect(codes(unknownZone)).toEqual([7003]);
  });

  it('raises NotFoundError (81044) for a record that does not exist', async () => {
    const err = await apiError(
      client.dns.records.edit('f'.repeat(32), { zone_id: zoneId, type: 'A', name: 'x', content: '192.0.2.1', ttl: 1 }),
    );
    expect(err).toBeInstanceOf(Cloudflare.NotFoundError);
    expect(codes(err)).toEqual([81044]);
  });

  it('raises RateLimitError (429, code 971) with Retry-After once over the limit', async () => {
    const limited = await startSim({ rateLimit: { requests: 3, windowMs: 60_000, blockMs: 2_500 } });
    try {
      const c = sdk(limited);
      const id = limited.zone(ZONE).id;
      for (let i = 0; i < 3; i++) await c.dns.records.list({ zone_id: id });
      const err = await apiError(c.dns.records.list({ zone_id: id }));
      expect(err).toBeInstanceOf(Cloudflare.RateLimitError);
      expect(codes(err)).toEqual([971]);
      expect(err.headers?.get('retry-after')).toBe('3');
    } finally {
      await limited.stop();
    }
  });

  it('retries a 429 with Retry-After: 0 and succeeds (the SDK honours the header)', async () => {
    sim.failNext({ status: 429, retryAfter: '0', pathIncludes: '/dns_records' });
    const retrying = sdk(sim, { maxRetries: 1 });
    const started = Date.now();
    await retrying.dns.records.list({ zone_id: zoneId });
    expect(Date.now() - started).toBeLessThan(400);
    expect(sim.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('surfaces injected faults as the matching SDK errors', async () => {
    sim.failNext({ status: 503 });
    expect(await apiError(client.user.tokens.verify())).toBeInstanceOf(Cloudflare.InternalServerError);

    sim.failNext({ status: 502, html: true });
    const html = await apiError(client.user.tokens.verify());
    expect(html).toBeInstanceOf(Cloudflare.InternalServerError);
    expect(html.status).toBe(502);
    expect(html.errors).toEqual([]);

    sim.failNext({ status: 0, reset: true });
    expect(await apiError(client.user.tokens.verify())).toBeInstanceOf(Cloudflare.APIConnectionError);

    expect((await call(sim, 'GET', '/user/tokens/verify')).status).toBe(200);
    expect(sim.requests.map((r) => r.status)).toEqual([503, 502, 0, 200]);
  });
});

describe('official SDK: zone trouble', () => {
  it('lists zones of every status, filters by status, and sees the same name in two accounts', async () => {
    const other = 'c'.repeat(32);
    const copy = sim.addZone({ name: ZONE, account: other, status: 'pending' });
    const both = await client.zones.list({ name: ZONE });
    expect(both.result.map((z) => [z.id, z.status, z.account.id]).sort()).toEqual(
      [
        [zoneId, 'active', sim.defaultAccount.id],
        [copy.id, 'pending', other],
      ].sort(),
    );
    expect((await client.zones.list({ status: 'pending' })).result.map((z) => z.id)).toEqual([copy.id]);
    expect((await client.zones.list({ account: { id: other } })).result.map((z) => z.id)).toEqual([copy.id]);
    expect(await client.zones.get({ zone_id: copy.id })).toMatchObject({ status: 'pending', activated_on: null });

    // The second account wins the domain: the copy goes live, the original is moved.
    sim.setZoneStatus(copy.id, 'active');
    sim.setZoneStatus(zoneId, 'moved');
    expect((await client.zones.list({ status: 'active' })).result.map((z) => z.id)).toEqual([copy.id]);
    expect((await client.zones.list({ status: 'moved' })).result.map((z) => z.id)).toEqual([zoneId]);
    expect(sim.zone(ZONE).id).toBe(copy.id);
  });

  it('answers 403 per zone as the token’s rights say: PermissionDeniedError with 10000 or 9109', async () => {
    sim.addRecord(zoneId, { name: 'a', type: 'A', content: '192.0.2.1' });
    const batch = () =>
      client.dns.records.batch({ zone_id: zoneId, posts: [{ type: 'A', name: 'b', content: '192.0.2.2', ttl: 1 }] });

    sim.setZonePermission(zoneId, 'read');
    expect((await client.dns.records.list({ zone_id: zoneId })).result).toHaveLength(1);
    const readOnly = await apiError(batch());
    expect(readOnly).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect(codes(readOnly)).toEqual([10000]);
    expect(readOnly.errors[0]).toEqual({ code: 10000, message: 'Authentication error' });

    sim.setZonePermission(zoneId, 'none');
    expect((await client.zones.list()).result.map((z) => z.id)).toEqual([zoneId]);
    const noDns = await apiError(client.dns.records.list({ zone_id: zoneId }));
    expect(noDns).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect(codes(noDns)).toEqual([10000]);

    sim.setZonePermission(zoneId, 'hidden');
    expect((await client.zones.list()).result).toEqual([]);
    const hidden = await apiError(client.zones.get({ zone_id: zoneId }));
    expect(hidden).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect(codes(hidden)).toEqual([9109]);

    sim.setZonePermission(zoneId, 'edit');
    await batch();
    expect(sim.records(zoneId)).toHaveLength(2);
  });

  it('refuses a whole batch holding an A record next to a CNAME (81054); the rest alone succeeds', async () => {
    sim.addRecord(zoneId, { name: 'alias', type: 'CNAME', content: 'target.example.net' });
    const ok = { type: 'A' as const, name: 'app', content: '192.0.2.1', ttl: 1 };
    const bad = { type: 'A' as const, name: 'alias', content: '192.0.2.2', ttl: 1 };
    const refused = await apiError(client.dns.records.batch({ zone_id: zoneId, posts: [ok, bad] }));
    expect(refused).toBeInstanceOf(Cloudflare.BadRequestError);
    expect(codes(refused)).toEqual([81054]);
    expect(sim.records(zoneId)).toHaveLength(1);

    await client.dns.records.batch({ zone_id: zoneId, posts: [ok] });
    expect(sim.records(zoneId).map((r) => `${r.type} ${r.name}`).sort()).toEqual(['A app.example.com', 'CNAME alias.example.com']);

    // And the other way round: a CNAME where an A record lives (81053).
    const cname = await apiError(
      client.dns.records.create({ zone_id: zoneId, type: 'CNAME', name: 'app', content: 'target.example.net', ttl: 1 }),
    );
    expect(codes(cname)).toEqual([81053]);
  });

  it('sends Ratelimit and Ratelimit-Policy headers that count down with the limiter', async () => {
    const limited = await startSim({ rateLimit: { requests: 3, windowMs: 300_000, blockMs: 300_000 } });
    try {
      const c = sdk(limited);
      const seen: Array<[string | null, string | null]> = [];
      for (let i = 0; i < 3; i++) {
        const { response } = await c.zones.list().withResponse();
        seen.push([response.headers.get('ratelimit'), response.headers.get('ratelimit-policy')]);
      }
      // t: seconds until the oldest counted call leaves the 300 s window.
      const parts = seen.map(([limit, policy]) => [/^"default";r=(\d+);t=(\d+)$/.exec(limit ?? '')?.slice(1).map(Number), policy]);
      expect(parts.map(([rt, policy]) => [rt?.[0], policy])).toEqual([
        [2, '"default";q=3;w=300'],
        [1, '"default";q=3;w=300'],
        [0, '"default";q=3;w=300'],
      ]);
      for (const [rt] of parts) expect((rt as number[])[1]).toBeGreaterThan(0);
      for (const [rt] of parts) expect((rt as number[])[1]).toBeLessThanOrEqual(300);
      const refused = await apiError(c.zones.list());
      expect(refused).toBeInstanceOf(Cloudflare.RateLimitError);
      expect(refused.headers?.get('ratelimit')).toBe('"default";r=0;t=300');
      expect(refused.headers?.get('retry-after')).toBe('300');
    } finally {
      await limited.stop();
    }
  });
});
