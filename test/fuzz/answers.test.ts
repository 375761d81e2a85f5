/** Broken Cloudflare answers and broken watch streams: clear errors, no crash, no DNS change. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudflareProvider } from '../../src/cloudflare/provider.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import type { ResourceApi } from '../../src/kube/api.js';
import { ListWatch } from '../../src/kube/list-watch.js';
import { BASE_LABELS } from '../../src/kube/snapshot.js';
import { createLogger } from '../../src/log/logger.js';
import { EpictetusError } from '../../src/model/errors.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { writeKubeconfig } from '../../src/sim/kube/kubeconfig.js';
import { waitFor } from '../helpers/service.js';

type Answer = { status: number; type: string; body: string };
const record = { id: 'r1', name: 'app.example.com', type: 'A', content: '203.0.113.1', ttl: 1, proxied: false, comment: null };
const ok = (result: unknown, info?: unknown) => JSON.stringify({ success: true, errors: [], messages: [], result, ...(info ? { result_info: info } : {}) });
const answers: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant({ status: 200, type: 'application/json', body: '{"success":true,"result":[' }),
  fc.constant({ status: 502, type: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }),
  fc.constant({ status: 200, type: 'text/html', body: '<html>maintenance</html>' }),
  fc.constant({ status: 200, type: 'application/json', body: JSON.stringify({ success: false, errors: [{ code: 1000, message: 'x' }], messages: [], result: null }) }),
  fc.constant({ status: 200, type: 'application/json', body: ok(null) }),
  fc.constant({ status: 200, type: 'application/json', body: ok({ not: 'a list' }) }),
  fc.constant({ status: 200, type: 'application/json', body: ok([{ id: 1 }, { name: 'x' }, null, 'text', record]) }),
  fc.constant({ status: 200, type: 'application/json', body: ok([{ ...record, type: 'MX', content: '10 mail.example.com' }, record]) }),
  fc.constant({ status: 200, type: 'application/json', body: ok([record], { page: 1, per_page: 1, total_pages: 'many' }) }),
  fc.json().map((body) => ({ status: 200, type: 'application/json', body })),
  fc.string().map((body) => ({ status: 200, type: 'application/json', body })),
);

let server: Server;
let next: (path: string) => Answer = () => ({ status: 500, type: 'text/plain', body: '' });
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const a = next(req.url ?? '');
    res.writeHead(a.status, { 'content-type': a.type });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

const provider = () => createCloudflareProvider({ apiToken: () => 'tok_0123456789abcdefghij', baseUrl: base, retry: { maxRetries: 0, baseDelayMs: 1 }, timeoutMs: 2_000 });

describe('Cloudflare answers', () => {
  it('give valid records or a typed error, never a crash', async () => {
    await fc.assert(fc.asyncProperty(answers, async (a) => {
      next = () => a;
      try {
        const got = await provider().listRecords('z');
        for (const r of got) expect([typeof r.id, typeof r.name, typeof r.type]).toEqual(['string', 'string', 'string']);
      } catch (err) {
        expect(err).toBeInstanceOf(EpictetusError);
        expect((err as EpictetusError).code).toMatch(/^EPI_CF_/);
      }
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 60) });
  });

  it('stop a listing whose pages never end', async () => {
    let pages = 0;
    next = () => { pages++; return { status: 200, type: 'application/json', body: ok(Array.from({ length: 5000 }, (_, i) => ({ ...record, id: `r${pages}-${i}` })), { page: pages, total_pages: 1e9 }) }; };
    await expect(provider().listRecords('z')).rejects.toMatchObject({ code: 'EPI_CF_BAD_ANSWER' });
    expect(pages).toBe(1000);
  }, 60_000);

  it('a batch answered with garbage is an error, not a success', async () => {
    for (const body of ['<html>', ok(null), ok('x')]) {
      next = () => ({ status: 200, type: 'application/json', body });
      await expect(provider().apply('z', { creates: [{ name: 'a.example.com', type: 'A', content: '203.0.113.1', ttl: 1, proxied: false, comment: 'c', node: null, reason: 'r' }], updates: [], deletes: [] }))
        .rejects.toBeInstanceOf(EpictetusError);
    }
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
