/**
 * The Kubernetes client against loopback HTTP(S) servers that answer as the API server does:
 * TLS (CA, client certificates, tls-server-name, skip-verify), credentials (token, rotating
 * token file, basic, exec plugin), errors, timeouts, aborts, list pages and watch streams.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeApi, loadKubeConfig, watchTimeoutSeconds } from '../../src/kube/api.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import { credentialsFor, TOKEN_FILE_REREAD_MS } from '../../src/kube/credentials.js';
import { EventRecorder, eventSink } from '../../src/kube/events.js';
import { KubeClient } from '../../src/kube/http.js';
import type { KubeAuth, KubeTarget } from '../../src/kube/kubeconfig.js';
import { createLeaseApi } from '../../src/kube/lease-api.js';
import { ListWatch } from '../../src/kube/list-watch.js';
import { BASE_LABELS } from '../../src/kube/snapshot.js';
import { createLogger } from '../../src/log/logger.js';
import { EpictetusError } from '../../src/model/errors.js';
import { waitFor } from '../helpers/service.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';

interface Seen { method: string; url: URL; headers: IncomingMessage['headers']; body: string; peer?: string | undefined }
type Handler = (req: Seen, res: ServerResponse) => void;

interface Api { url: string; seen: Seen[]; closed: () => number; close(): Promise<void> }

const servers: Server[] = [];

async function serve(handler: Handler, tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean }): Promise<Api> {
  const seen: Seen[] = [];
  let closed = 0;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.()?.subject?.CN;
      const s: Seen = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, body: Buffer.concat(chunks).toString(), peer: typeof peer === 'string' ? peer : undefined };
      seen.push(s);
      res.on('close', () => { closed++; });
      handler(s, res);
    });
  };
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requestCert ?? false, rejectUnauthorized: false }, onRequest)
    : createServer(onRequest);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, seen, closed: () => closed,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

afterAll(async () => {
  for (const s of servers) { s.closeAllConnections(); s.close(); }
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const statusBody = (code: number, reason: string, message: string, details?: object) =>
  ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });

function target(server: string, over: Partial<KubeTarget> = {}, auth: KubeAuth = { kind: 'none' }): KubeTarget {
  return {
    server, auth, inCluster: false, namespace: 'default', description: `test ${server}`,
    tls: { ca: undefined, cert: undefined, key: undefined, insecure: false, serverName: undefined }, ...over,
  };
}

async function rejection(p: Promise<unknown>): Promise<EpictetusError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(EpictetusError);
    return err as EpictetusError;
  }
  throw new Error('expected a rejection');
}

const node = (name: string) => ({ kind: 'Node', apiVersion: 'v1', metadata: { name, resourceVersion: '7' } });

describe('JSON calls', () => {
  it('list one page at a time with limit, continue and labelSelector', async () => {
    const api = await serve((req, res) => json(res, 200, {
      kind: 'List', metadata: { resourceVersion: '42', ...(req.url.searchParams.get('continue') ? {} : { continue: 'next-page' }) },
      items: [node(req.url.searchParams.get('continue') ? 'b' : 'a')],
    }));
    const kube = createKubeApi(new KubeClient(target(api.url)));
    const first = await kube.nodes.list({ limit: 1 });
    expect(first).toEqual({ items: [node('a')], resourceVersion: '42', continue: 'next-page' });
    expect(await kube.nodes.list({ limit: 1, continue: first.continue })).toEqual({ items: [node('b')], resourceVersion: '42', continue: undefined });
    await kube.endpointSlices({ labelSelector: 'kubernetes.io/service-name=web' }).list({ limit: 500, continue: 'c1' });
    await kube.services.list({ limit: 10 });
    expect(api.seen.map((s) => `${s.method} ${s.url.pathname}${s.url.search}`)).toEqual([
      'GET /api/v1/nodes?limit=1',
      'GET /api/v1/nodes?limit=1&continue=next-page',
      'GET /apis/discovery.k8s.io/v1/endpointslices?limit=500&continue=c1&labelSelector=kubernetes.io%2Fservice-name%3Dweb',
      'GET /api/v1/services?limit=10',
    ]);
    expect(api.seen[0]?.headers.accept).toBe('application/json');
    expect(api.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('keep a path prefix of the server URL (a proxy in front of the API)', async () => {
    const api = await serve((req, res) => json(res, 200, { gitVersion: `v1.33.0 at ${req.url.pathname}` }));
    expect(await createKubeApi(new KubeClient(target(`${api.url}/k8s/clusters/c-1`))).version()).toBe('v1.33.0 at /k8s/clusters/c-1/version');
  });

  it('patch one Node annotation with a JSON merge patch', async () => {
    const api = await serve((_req, res) => json(res, 200, node('w 1')));
    await createKubeApi(new KubeClient(target(api.url))).setNodeAnnotation('w 1', 'example.com/hold', null);
    expect(api.seen[0]).toMatchObject({ method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"annotations":{"example.com/hold":null}}}' });
    expect(api.seen[0]?.url.pathname).toBe('/api/v1/nodes/w%201');
  });

  it('name the call and the API\'s own answer in an HTTP error; 429 and 5xx are retryable', async () => {
    const answers: Array<[number, unknown, Record<string, string>?]> = [
      [403, statusBody(403, 'Forbidden', 'services is forbidden: User "system:serviceaccount:x:y" cannot list resource "services" in API group "" at the cluster scope')],
      [429, statusBody(429, 'TooManyRequests', 'too many requests', { retryAfterSeconds: 3 })],
      [503, '<html><body>upstream connect error</body></html>'],
    ];
    const api = await serve((_req, res) => {
      const [status, body, headers] = answers.shift()!;
      if (typeof body === 'string') { res.writeHead(status, { 'Content-Type': 'text/html' }); res.end(body); } else json(res, status, body, headers);
    });
    const kube = createKubeApi(new KubeClient(target(api.url)));
    const forbidden = await rejection(kube.services.list({ limit: 1 }));
    expect(forbidden).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 403, retryable: false });
    expect(forbidden.message).toBe('Kubernetes list services: HTTP 403 Forbidden: services is forbidden: User "system:serviceaccount:x:y" cannot list resource "services" in API group "" at the cluster scope');
    expect(await rejection(kube.nodes.list({ limit: 1 }))).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3_000, message: 'Kubernetes list nodes: HTTP 429 TooManyRequests: too many requests' });
    expect(await rejection(kube.version())).toMatchObject({ status: 503, retryable: true, message: 'Kubernetes version: HTTP 503 Service Unavailable: <html><body>upstream connect error</body></html>' });
  });

  it('name the URL and the cause when the server cannot be reached', async () => {
    const api = await serve(() => undefined);
    await api.close();
    const port = new URL(api.url).port;
    const err = await rejection(createKubeApi(new KubeClient(target(api.url))).nodes.list({ limit: 5 }));
    expect(err).toMatchObject({ code: 'EPI_KUBE_CONNECTION', retryable: true });
    expect(err.message).toBe(`Kubernetes list nodes: cannot reach ${api.url}/api/v1/nodes: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('give up after the timeout, and at once when aborted, closing the connection', async () => {
    const api = await serve(() => undefined); // never answers
    const kube = createKubeApi(new KubeClient(target(api.url)));
    const late = await rejection(kube.nodes.list({ limit: 1, timeoutMs: 150 }));
    expect(late).toMatchObject({ code: 'EPI_KUBE_CONNECTION', message: `Kubernetes list nodes: cannot reach ${api.url}/api/v1/nodes: no answer within 0.15 s` });
    await waitFor(() => api.closed() === 1 || undefined, 5_000, 'the timed-out connection closed');
    const stop = new AbortController();
    const pending = kube.version({ signal: stop.signal });
    await waitFor(() => api.seen.length === 2 || undefined, 5_000, 'the second request');
    stop.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    await waitFor(() => api.closed() === 2 || undefined, 5_000, 'the aborted connection closed');
  });
});

describe('Leases and Events', () => {
  it('get (404 is none), create and replace Leases with MicroTime, and turn 409 into EPI_LEASE_CONFLICT', async () => {
    let stored: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined;
    const api = await serve((req, res) => {
      if (req.method === 'GET' && stored === undefined) return json(res, 404, statusBody(404, 'NotFound', 'leases.coordination.k8s.io "epictetus" not found'));
      if (req.method === 'GET') return json(res, 200, stored);
      const body = JSON.parse(req.body) as NonNullable<typeof stored>;
      if (req.method === 'PUT' && body.metadata.resourceVersion !== stored?.metadata.resourceVersion) return json(res, 409, statusBody(409, 'Conflict', 'the object has been modified'));
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(stored?.metadata.resourceVersion ?? 0) + 1) } };
      json(res, req.method === 'POST' ? 201 : 200, stored);
    });
    const leases = createLeaseApi(new KubeClient(target(api.url)));
    expect(await leases.get('kube-system', 'epictetus')).toBeUndefined();
    const at = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    const record = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: at, renewTime: at, leaseTransitions: 0 };
    expect(await leases.write('kube-system', 'epictetus', record)).toEqual({ ...record, resourceVersion: '1' });
    expect(api.seen[1]).toMatchObject({ method: 'POST' });
    expect(api.seen[1]?.url.pathname).toBe('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases');
    expect(JSON.parse(api.seen[1]!.body)).toEqual({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'epictetus', namespace: 'kube-system' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2025-06-01T12:00:00.123000Z', renewTime: '2025-06-01T12:00:00.123000Z', leaseTransitions: 0 },
    });
    expect(await leases.get('kube-system', 'epictetus')).toEqual({ ...record, resourceVersion: '1' });
    await leases.write('kube-system', 'epictetus', { ...record, renewTime: at + 2_000 }, '1');
    expect(api.seen[3]).toMatchObject({ method: 'PUT' });
    expect(api.seen[3]?.url.pathname).toBe('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/epictetus');
    expect(await rejection(leases.write('kube-system', 'epictetus', record, '1'))).toMatchObject({ code: 'EPI_LEASE_CONFLICT', status: 409 });
  });

  it('record events.k8s.io/v1 Events', async () => {
    const api = await serve((req, res) => json(res, 201, JSON.parse(req.body)));
    const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });
    const recorder = new EventRecorder(eventSink(new KubeClient(target(api.url))), log, { instance: 'host_1' });
    recorder.record({ kind: 'Node', name: 'worker-1', uid: 'u-1' }, { type: 'Normal', reason: 'DNSRecordsRemoved', action: 'RemoveDNSRecords', note: 'Removed x' });
    await waitFor(() => api.seen[0]);
    expect(api.seen[0]).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(api.seen[0]?.url.pathname).toBe('/apis/events.k8s.io/v1/namespaces/default/events');
    const body = JSON.parse(api.seen[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { namespace: 'default' }, reportingController: 'epictetus', reportingInstance: 'host_1',
      action: 'RemoveDNSRecords', reason: 'DNSRecordsRemoved', type: 'Normal', note: 'Removed x', regarding: { apiVersion: 'v1', kind: 'Node', name: 'worker-1', uid: 'u-1' },
    });
    expect(body.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });
});

describe('credentials', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'epictetus-creds-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('present a bearer token or basic auth', async () => {
    const api = await serve((req, res) => json(res, 200, { gitVersion: String(req.headers.authorization) }));
    expect(await createKubeApi(new KubeClient(target(api.url, {}, { kind: 'token', token: 'abc' }))).version()).toBe('Bearer abc');
    expect(await createKubeApi(new KubeClient(target(api.url, {}, { kind: 'basic', username: 'admin', password: 'p:w' }))).version())
      .toBe(`Basic ${Buffer.from('admin:p:w').toString('base64')}`);
  });

  it('re-read a rotating token file every 60 s, and at once on a 401', async () => {
    const path = join(dir, 'token');
    writeFileSync(path, 'token-1\n');
    let accepted = 'token-1';
    const api = await serve((req, res) => (req.headers.authorization === `Bearer ${accepted}`
      ? json(res, 200, { gitVersion: accepted })
      : json(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'))));
    let now = 0;
    const auth: KubeAuth = { kind: 'token-file', path };
    const kube = createKubeApi(new KubeClient(target(api.url, {}, auth), credentialsFor(auth, api.url, () => now)));
    expect(await kube.version()).toBe('token-1');
    writeFileSync(path, 'token-2\n'); // the kubelet rotates the token; the old one still works for a while
    now += TOKEN_FILE_REREAD_MS - 1;
    await kube.version();
    expect(api.seen.at(-1)?.headers.authorization).toBe('Bearer token-1');
    accepted = 'token-2';
    now += 1;
    expect(await kube.version()).toBe('token-2');
    expect(api.seen).toHaveLength(3);
    // a rotation the server already enforces: one 401, the file re-read, the call tried again
    writeFileSync(path, 'token-3');
    accepted = 'token-3';
    expect(await kube.version()).toBe('token-3');
    expect(api.seen.slice(3).map((s) => s.headers.authorization)).toEqual(['Bearer token-2', 'Bearer token-3']);
    // a 401 that a re-read does not cure is the error, after one retry at most
    accepted = 'nobody';
    expect(await rejection(kube.version())).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 401, message: 'Kubernetes version: HTTP 401 Unauthorized: Unauthorized' });
    expect(api.seen).toHaveLength(6);
  });

  it('run an exec plugin through client-node, loaded only for it', async () => {
    const api = await serve((req, res) => json(res, 200, { gitVersion: String(req.headers.authorization) }));
    const plugin = join(dir, 'plugin.mjs');
    writeFileSync(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-' + process.env.WHO } }));\n`);
    const config = join(dir, 'exec.json');
    writeFileSync(config, JSON.stringify({
      'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: api.url } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], env: [{ name: 'WHO', value: 'plugin' }] } } }],
    }));
    expect(await createKubeApi(loadKubeConfig(config)).version()).toBe('Bearer from-plugin');
  });
});

describe('TLS', () => {
  let pki: TestPki;
  let api: Api;
  beforeAll(async () => {
    pki = makeTestPki();
    api = await serve((req, res) => json(res, 200, { gitVersion: req.peer ?? 'anonymous' }), { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true });
  });
  afterAll(() => pki.remove());

  const version = (over: Partial<KubeTarget['tls']>, server = api.url) =>
    createKubeApi(new KubeClient(target(server, { tls: { ca: pki.ca, cert: undefined, key: undefined, insecure: false, serverName: undefined, ...over } }))).version();

  it('verify the server against the cluster CA and present a client certificate', async () => {
    expect(await version({})).toBe('anonymous');
    expect(await version({ cert: pki.clientCert, key: pki.clientKey })).toBe('test-user');
  });

  it('refuse a server the CA did not sign, saying it is TLS', async () => {
    const err = await rejection(version({ ca: pki.otherCa }));
    expect(err.code).toBe('EPI_KUBE_CONNECTION');
    expect(err.message).toBe(`Kubernetes version: cannot reach ${api.url}/version: self-signed certificate in certificate chain (TLS: check the cluster's certificate authority and tls-server-name)`);
    expect(await version({ ca: undefined, insecure: true })).toBe('anonymous');
  });

  it('check the certificate against tls-server-name when set', async () => {
    expect(await version({ serverName: 'kube.test' })).toBe('anonymous');
    const err = await rejection(version({ serverName: 'other.test' }));
    expect(err.message).toContain('Hostname/IP does not match certificate\'s altnames: Host: other.test. is not in the cert\'s altnames: IP Address:127.0.0.1, DNS:kube.test');
  });

  it('reads CA, client certificate and key files named by a kubeconfig', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-tls-kubeconfig-'));
    try {
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify({
        'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority': pki.caPath } }],
        users: [{ name: 'u', user: { 'client-certificate': pki.clientCertPath, 'client-key': pki.clientKeyPath } }],
      }));
      expect(await createKubeApi(loadKubeConfig(path)).version()).toBe('test-user');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('watch streams', () => {
  type Done = { err: EpictetusError | null };
  function watchOnce(client: KubeClient, idleTimeoutMs = 60_000) {
    const events: Array<[string, unknown]> = [];
    let done: Done | undefined;
    const handle = client.watch({ path: '/api/v1/nodes?watch=true', what: 'watch nodes', idleTimeoutMs, onEvent: (t, o) => events.push([t, o]), onDone: (err) => { done = { err }; } });
    return { events, handle, ended: () => done, done: () => waitFor(() => done, 5_000, 'the end of the watch') };
  }

  it('ask for bookmarks and a jittered server timeout of 240–300 s', async () => {
    const api = await serve((_req, res) => { res.writeHead(200); res.end(); });
    const kube = createKubeApi(new KubeClient(target(api.url)));
    await new Promise<void>((resolve) => void kube.nodes.watch('17', () => undefined, () => resolve()));
    const q = api.seen[0]!.url.searchParams;
    expect(Object.fromEntries(q)).toMatchObject({ watch: 'true', resourceVersion: '17', allowWatchBookmarks: 'true' });
    expect(Number(q.get('timeoutSeconds'))).toBeGreaterThanOrEqual(240);
    expect(Number(q.get('timeoutSeconds'))).toBeLessThanOrEqual(300);
    expect([watchTimeoutSeconds(() => 0), watchTimeoutSeconds(() => 0.99999)]).toEqual([240, 300]);
  });

  it('hand over events whose lines (and characters) span chunks, then end cleanly', async () => {
    const api = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const bytes = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'nœud' } } })}\n\n${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } })}`);
      const split = bytes.indexOf(Buffer.from('œ')) + 1; // in the middle of a two-byte character
      res.write(bytes.subarray(0, split));
      setTimeout(() => res.end(bytes.subarray(split)), 30);
    });
    const w = watchOnce(new KubeClient(target(api.url)));
    expect((await w.done()).err).toBeNull();
    expect(w.events).toEqual([['ADDED', { metadata: { name: 'nœud' } }], ['BOOKMARK', { metadata: { resourceVersion: '9' } }]]);
  });

  it('end as failed on a line that is not a watch event, closing the connection', async () => {
    const api = await serve((_req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: node('a') })}\n{"no":"type"}\n`);
    });
    const w = watchOnce(new KubeClient(target(api.url)));
    const { err } = await w.done();
    expect(err).toMatchObject({ code: 'EPI_KUBE_DECODE', message: 'Kubernetes watch nodes: the stream sent a line that is not a watch event: {"no":"type"}' });
    expect(w.events).toHaveLength(1);
    await waitFor(() => api.closed() === 1 || undefined, 5_000, 'the connection closed');
  });

  it('report an error answer with its status (410: too old)', async () => {
    const api = await serve((_req, res) => json(res, 410, statusBody(410, 'Expired', 'too old resource version: 5 (120)')));
    const { err } = await watchOnce(new KubeClient(target(api.url))).done();
    expect(err).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 410, message: 'Kubernetes watch nodes: HTTP 410 Expired: too old resource version: 5 (120)' });
  });

  it('make ListWatch re-list when the watch is answered 410 Gone', async () => {
    let lists = 0;
    const api = await serve((req, res) => {
      if (req.url.searchParams.get('watch') !== 'true') return json(res, 200, { metadata: { resourceVersion: String(++lists) }, items: [node(`n${lists}`)] });
      if (req.url.searchParams.get('resourceVersion') === '1') return json(res, 410, statusBody(410, 'Expired', 'too old resource version: 1 (5)'));
      res.writeHead(200);
      res.write('\n');
    });
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(String((JSON.parse(l) as { msg: unknown }).msg)); } });
    const lw = new ListWatch(createKubeApi(new KubeClient(target(api.url))).nodes, nodeCodec(() => ({ labels: new Set(BASE_LABELS) })), log, () => undefined);
    const stop = new AbortController();
    try {
      await lw.start(stop.signal);
      await waitFor(() => lw.items.has('n2') || undefined, 5_000, 'the second list');
      expect(lines).toContain('watch expired (410 Gone); re-listing');
      expect([...lw.items.keys()]).toEqual(['n2']);
    } finally {
      stop.abort();
    }
  });

  it('end as failed when the stream goes silent, or the connection is cut', async () => {
    let cut = false;
    const api = await serve((_req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: node('a') })}\n`);
      if (cut) setTimeout(() => res.socket?.destroy(), 20);
    });
    const silent = await watchOnce(new KubeClient(target(api.url)), 200).done();
    expect(silent.err).toMatchObject({ code: 'EPI_KUBE_CONNECTION', message: `Kubernetes watch nodes: cannot reach ${api.url}/api/v1/nodes: no data for 0.2 s` });
    await waitFor(() => api.closed() === 1 || undefined, 5_000, 'the silent connection closed');
    cut = true;
    const dropped = await watchOnce(new KubeClient(target(api.url))).done();
    expect(dropped.err).toMatchObject({ code: 'EPI_KUBE_CONNECTION', message: `Kubernetes watch nodes: cannot reach ${api.url}/api/v1/nodes: the connection closed mid-stream` });
  });

  it('close the connection on abort, without calling onDone', async () => {
    const api = await serve((_req, res) => { res.writeHead(200); res.write('\n'); });
    const w = watchOnce(new KubeClient(target(api.url)));
    await waitFor(() => api.seen[0]);
    w.handle.abort();
    await waitFor(() => api.closed() === 1 || undefined, 5_000, 'the aborted watch closed');
    await new Promise((r) => setImmediate(r));
    expect(w.ended()).toBeUndefined();
  });
});
