/** Broken Cloudflare answers and broken watch streams: clear errors, no crash, no DNS change. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudflareProvider } from '../../src/cloudflare/provider.js';
import { parseRateLimit } from '../../src/cloudflare/ratelimit.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import type { ResourceApi } from '../../src/kube/api.js';
import { ListWatch } from '../../src/kube/list-watch.js';
import { BASE_LABELS } from '../../src/kube/snapshot.js';
import { createLogger } from '../../src/log/logger.js';
import { EpictetusError } from '../../src/model/errors.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { writeKubeconfig } from '../../src/sim/kube/kubeconfig.js';
import { waitFor } from '../helpers/service.js';

type Answer = { status: number; type: string; body: string; headers?: Record<string, string> };
const record = { id: 'r1', name: 'app.example.com', type: 'A', content: '203.0.113.1', ttl: 1, proxied: false, comment: null };
const zone = { id: 'z1', name: 'example.com', status: 'active', account: { id: 'a1', name: 'acct' } };
const ok = (result: unknown, info?: unknown) => JSON.stringify({ success: true, errors: [], messages: [], result, ...(info ? { result_info: info } : {}) });
const json = (body: string, status = 200): Answer => ({ status, type: 'application/json', body });
const answers: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant(json('{"success":true,"result":[')),
  fc.constant({ status: 502, type: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }),
  fc.constant({ status: 200, type: 'text/html', body: '<html>maintenance</html>' }),
  fc.constant(json(JSON.stringify({ success: false, errors: [{ code: 1000, message: 'x' }], messages: [], result: null }))),
  fc.constant(json(JSON.stringify({ success: 'yes', errors: [], messages: [], result: [] }))),
  fc.constant(json(JSON.stringify({ success: true, errors: 'none', result: [] }))),
  fc.constant(json(JSON.stringify({ success: false, errors: [{ code: 'x' }, 7], result: null }), 403)),
  fc.constant(json(ok(null))),
  fc.constant(json(ok({ not: 'a list' }))),
  fc.constant(json(ok([{ id: 1 }, { name: 'x' }, null, 'text', record]))),
  fc.constant(json(ok([{ ...record, ttl: '300' }]))),
  fc.constant(json(ok([{ ...zone, account: 'a1' }]))),
  fc.constant(json(ok([{ ...record, type: 'MX', content: '10 mail.example.com' }, record]))),
  fc.constant(json(ok([record], { page: 1, per_page: 1, total_pages: 'many' }))),
  fc.constant(json(ok([zone, record]))),
  fc.constant(json(ok({ posts: [record], patches: 'none' }))),
  fc.constant(json(ok({ id: 't', status: 'active' }))),
  fc.constant({ ...json(ok([record])), headers: { ratelimit: '"default";r=-1;t=x', 'ratelimit-policy': 'q=1200' } }),
  fc.constant({ ...json('{}', 429), headers: { 'retry-after': 'soon', ratelimit: '"default";r=0;t=99999999999' } }),
  fc.json().map((body) => json(body)),
  fc.string().map((body) => json(body)),
  fc.tuple(fc.integer({ min: 100, max: 599 }), fc.json()).map(([status, body]) => json(body, status)),
);

let server: Server;
let next: (path: string) => Answer = () => ({ status: 500, type: 'text/plain', body: '' });
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const a = next(req.url ?? '');
    // 1xx statuses cannot be sent as a final answer; Node would refuse them.
    res.writeHead(a.status < 200 ? 502 : a.status, { 'content-type': a.type, ...a.headers });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

const provider = () => createCloudflareProvider({ apiToken: () => 'tok_0123456789abcdefghij', baseUrl: base, retry: { maxRetries: 0, baseDelayMs: 1 }, timeoutMs: 2_000 });
const create = { name: 'a.example.com', type: 'A' as const, content: '203.0.113.1', ttl: 1, proxied: false, comment: 'c', node: null, reason: 'r' };

/** Every call either gives well-typed values or fails with an EPI_CF_* error. */
const calls: Array<[string, () => Promise<unknown>]> = [
  ['listRecords', () => provider().listRecords('z')],
  ['listZones([])', () => provider().listZones([])],
  ['listZones([id])', () => provider().listZones(['z1'])],
  ['verifyToken', () => provider().verifyToken()],
  ['apply', () => provider().apply('z', { creates: [create], updates: [], deletes: [] })],
];

function expectTyped(value: unknown): void {
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null && 'created' in value ? (value as { created: unknown[] }).created : [];
  for (const item of list as Array<Record<string, unknown>>) {
    expect(typeof item.id).toBe('string');
    expect(typeof item.name).toBe('string');
    if ('content' in item) expect([typeof item.type, typeof item.content, typeof item.ttl, typeof item.proxied]).toEqual(['string', 'string', 'number', 'boolean']);
  }
}

describe('Cloudflare answers', () => {
  it('give valid records and zones or a typed error, never a crash', async () => {
    await fc.assert(fc.asyncProperty(answers, fc.constantFrom(...calls), async (a, [, call]) => {
      next = () => a;
      try {
        expectTyped(await call());
      } catch (err) {
        expect(err).toBeInstanceOf(EpictetusError);
        expect((err as EpictetusError).code).toMatch(/^EPI_CF_/);
        expect((err as EpictetusError).message).not.toContain('tok_0123456789abcdefghij');
      }
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 150) });
  });

  it('a 200 with success: false is a bad answer that keeps the API codes', async () => {
    next = () => json(JSON.stringify({ success: false, errors: [{ code: 1000, message: 'Invalid API Token' }], messages: [], result: null }));
    await expect(provider().listRecords('z')).rejects.toMatchObject({ code: 'EPI_CF_BAD_ANSWER', retryable: true, status: 200, apiCodes: [1000] });
  });

  it('a token the verify endpoint calls disabled is refused, with no fallback', async () => {
    const paths: string[] = [];
    next = (path) => { paths.push(path); return json(ok({ id: 't', status: 'disabled' })); };
    await expect(provider().verifyToken()).rejects.toMatchObject({ code: 'EPI_CF_AUTH', message: 'Cloudflare verify token: the token is disabled' });
    expect(paths).toEqual(['/client/v4/user/tokens/verify']);
  });

  it('stop a listing whose pages never end', async () => {
    let pages = 0;
    next = () => { pages++; return json(ok(Array.from({ length: 10 }, (_, i) => ({ ...record, id: `r${pages}-${i}` })), { page: pages, total_pages: 1e9 })); };
    await expect(provider().listRecords('z')).rejects.toMatchObject({ code: 'EPI_CF_BAD_ANSWER' });
    expect(pages).toBe(1000);
  }, 60_000);

  it('stop a listing whose server ignores the page asked for', async () => {
    let pages = 0;
    next = () => { pages++; return json(ok([record, { ...record, id: 'r2' }], { page: 1, total_pages: 5 })); };
    await expect(provider().listRecords('z')).rejects.toMatchObject({ code: 'EPI_CF_BAD_ANSWER', message: expect.stringContaining('page 2 repeats r1') });
    expect(pages).toBe(2);
  });

  it('a batch answered 2xx with garbage is an error not retried blindly (it may have been applied)', async () => {
    for (const body of ['<html>', ok(null), ok('x'), ok({ posts: [{ id: 7 }] })]) {
      next = () => json(body);
      await expect(provider().apply('z', { creates: [create], updates: [], deletes: [] }))
        .rejects.toMatchObject({ code: 'EPI_CF_BAD_ANSWER', retryable: false });
    }
  });
});

describe('rate-limit headers', () => {
  it('never throw and give only whole non-negative numbers, or nothing', () => {
    const header = fc.oneof(fc.string(), fc.constantFrom('"default";r=5;t=30', 'default;r=1;t=2, "x";r=0;t=9', '";r=1;t=2', '"a\\"b";r=3;t=4'));
    fc.assert(fc.property(header, header, header, (rl, policy, legacy) => {
      const headers = new Headers();
      for (const [k, v] of [['ratelimit', rl], ['ratelimit-policy', policy], ['x-ratelimit-limit', legacy], ['x-ratelimit-remaining', legacy]] as const) {
        try { headers.set(k, v); } catch { /* not a valid header value: skipped */ }
      }
      const got = parseRateLimit(headers, 0);
      if (got !== undefined) {
        for (const n of [got.limit, got.remaining, got.resetSeconds]) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      }
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 300) });
  });
});

describe('watch streams', () => {
  it('survive unknown event types, ERROR events, objects of the wrong kind and garbage', async () => {
    const event = fc.record({
      type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'WEIRD', ''),
      object: fc.oneof(
        fc.constantFrom('a', 'b', 'c').map((n) => makeNode(n, { externalIP: '203.0.113.9' }) as unknown),
        fc.constant({ kind: 'Pod', metadata: { name: 'p' } }), fc.constant({ kind: 'Status', code: 500 }),
        fc.constant({ kind: 'Status', code: 410, reason: 'Expired' }), fc.anything(),
      ),
    });
    await fc.assert(fc.asyncProperty(fc.array(event, { maxLength: 40 }), async (events) => {
      const watches: Array<(t: string, o: unknown) => void> = [];
      const api: ResourceApi = {
        list: async () => ({ items: [makeNode('a', { externalIP: '203.0.113.1' })], resourceVersion: '1', continue: undefined }),
        watch: async (_rv, onEvent) => { watches.push(onEvent); return { abort: () => undefined }; },
      };
      const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });
      const lw = new ListWatch(api, nodeCodec(() => ({ labels: new Set(BASE_LABELS) })), log, () => undefined, { backoffBaseMs: 1 });
      const stop = new AbortController();
      await lw.start(stop.signal);
      await waitFor(() => watches[0]);
      for (const e of events) (watches.at(-1) ?? (() => undefined))(e.type, e.object);
      for (const [name, snap] of lw.items) expect(snap.name).toBe(name);
      expect(lw.status().synced).toBe(true);
      stop.abort();
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 80) });
  });
});

describe('watch streams over HTTP', () => {
  it('fail on a line that is not JSON, then read events split across chunks after reconnecting', async () => {
    const node = (name: string, ip: string) => ({ ...(makeNode(name, { externalIP: ip }) as { metadata: Record<string, unknown> }), kind: 'Node' });
    let watches = 0;
    const kube = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch') !== 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [node('a', '203.0.113.1')] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (++watches === 1) {
        res.write('not json at all\n'); // a broken stream: the watch fails (and is reopened), the process goes on
        return;
      }
      const line = JSON.stringify({ type: 'ADDED', object: node('b', '203.0.113.2') });
      res.write('{"type":"ADDED","object":{"kind":"Node"');
      res.write('}}\n');
      res.write(line.slice(0, 40));
      setTimeout(() => res.write(`${line.slice(40)}\n{"type":"WEIRD","object":7}\n`), 50);
    });
    await new Promise<void>((r) => kube.listen(0, '127.0.0.1', () => r()));
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-fuzz-'));
    writeKubeconfig(join(dir, 'kubeconfig'), `http://127.0.0.1:${(kube.address() as AddressInfo).port}`);
    const { createKubeApi, loadKubeConfig } = await import('../../src/kube/api.js');
    const client = loadKubeConfig(join(dir, 'kubeconfig'));
    const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });
    const lw = new ListWatch(createKubeApi(client).nodes, nodeCodec(() => ({ labels: new Set(BASE_LABELS) })), log, () => undefined, { backoffBaseMs: 1 });
    const stop = new AbortController();
    try {
      await lw.start(stop.signal);
      await waitFor(() => lw.items.has('b') || undefined, 5_000, 'event after garbage');
      expect([...lw.items.keys()].sort()).toEqual(['a', 'b']);
      expect(lw.items.get('b')?.ipv4).toEqual(['203.0.113.2']);
      expect(lw.status().watchRestarts).toBeGreaterThanOrEqual(1);
      expect(lw.status().lastError).toContain('Kubernetes watch nodes: the stream sent a line that is not a watch event: not json at all');
    } finally {
      stop.abort();
      client.close();
      kube.closeAllConnections();
      kube.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
