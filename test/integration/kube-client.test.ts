/**
 * The Kubernetes client, connected in-cluster (service-account token and CA), against both
 * backends: the simulator behind a TLS terminator, and a real kube-apiserver (RBAC, token
 * auth). Fixtures are made with @kubernetes/client-node, an independent client. Then the proof
 * that the ordinary paths never load client-node: child processes (the service itself among
 * them) under a hook that exits 99 the moment anything resolves it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { chunkFileNames, resolve } from '../../rolldown.config.js';
import { startWorld, type World } from '../../src/cli/world.js';
import { createKubeApi, loadKubeConfig, type KubeConnection } from '../../src/kube/api.js';
import { eventSink, EventRecorder } from '../../src/kube/events.js';
import { resolveKubeTarget } from '../../src/kube/kubeconfig.js';
import { LeaderElector } from '../../src/kube/leader.js';
import { createLeaseApi } from '../../src/kube/lease-api.js';
import { createLogger } from '../../src/log/logger.js';
import { EpictetusError } from '../../src/model/errors.js';
import { KubeSim, makeNode, withMetadataMergeKeys, type ResourceDef } from '../../src/sim/kube/index.js';
import { buildKubeApiserver, startKubeApiserver } from '../helpers/kube-apiserver.js';
import { startService, waitFor } from '../helpers/service.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const HOOK = fileURLToPath(new URL('../helpers/forbid-client-node.mjs', import.meta.url));
const SIM_TOKEN = fakeToken('kube-client');

/** discovery.k8s.io/v1 EndpointSlices, which the simulator does not serve by default. */
const endpointSlices: ResourceDef = {
  group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice',
  namespaced: true, nameFormat: 'dns-subdomain', statusSubresource: false, mergeKeys: withMetadataMergeKeys({}),
};

interface Backend {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly ca: Buffer;
  readonly token: string;
  readonly version: string;
  stop(): Promise<void>;
}

/** The simulator (plain HTTP) behind a TLS terminator with a test CA, as a cluster's service address. */
async function simBehindTls(pki: TestPki): Promise<Backend> {
  const sim = await KubeSim.start({ token: SIM_TOKEN, resources: [endpointSlices] });
  const simPort = Number(new URL(sim.url).port);
  const proxy: TlsServer = createTlsServer({ cert: pki.serverCert, key: pki.serverKey }, (socket) => {
    const upstream = connect(simPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  return {
    url: `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`, ca: pki.ca, token: SIM_TOKEN, version: 'v1.32.4',
    stop: async () => { proxy.close(); await sim.stop(); },
  };
}

async function realApiserver(): Promise<Backend | string> {
  const built = await buildKubeApiserver();
  if (!built.ok) return built.reason;
  const server = await startKubeApiserver(built.binary);
  const t = resolveKubeTarget(server.kubeconfigPath);
  if (t.auth.kind !== 'token' || t.tls.ca === undefined) throw new Error('unexpected kube-apiserver kubeconfig');
  return { url: server.url, ca: t.tls.ca, token: t.auth.token, version: server.version, stop: () => server.stop() };
}

/** A folder laid out as the kubelet mounts a service account. */
function serviceAccountDir(b: Backend, token = b.token): string {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-sa-'));
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), b.ca);
  writeFileSync(join(dir, 'namespace'), 'default');
  return dir;
}

const inClusterEnv = (b: Backend) => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(b.url).port });

/** client-node, for fixtures only. */
function driver(b: Backend): k8s.KubernetesObjectApi {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: b.url, caData: b.ca.toString('base64') }], users: [{ name: 'u', token: b.token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return k8s.KubernetesObjectApi.makeApiClient(kc);
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

const names = (items: readonly unknown[]) => items.map((i) => String((i as { metadata?: { name?: unknown } }).metadata?.name));
const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });

describe.each<{ kind: 'sim' | 'real' }>([{ kind: 'sim' }, { kind: 'real' }])('the client in-cluster against the $kind API server', ({ kind }) => {
  let pki: TestPki;
  let backend: Backend | undefined;
  let skip: string | undefined;
  let sa: string;
  let conn: KubeConnection;
  const dirs: string[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    const b = kind === 'sim' ? await simBehindTls(pki) : await realApiserver();
    if (typeof b === 'string') { skip = `real kube-apiserver unavailable: ${b}`; return; }
    backend = b;
    sa = serviceAccountDir(b);
    dirs.push(sa);
    conn = loadKubeConfig('', { env: inClusterEnv(b), serviceAccountDir: sa });
  }, 40 * 60_000);

  afterAll(async () => {
    conn?.close();
    await backend?.stop();
    pki?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  function use(ctx: TestContext): Backend {
    if (skip !== undefined) ctx.skip(skip);
    if (backend === undefined) throw new Error(`no ${kind} backend`);
    return backend;
  }

  it('says where it connects and reads /version', async (ctx) => {
    const b = use(ctx);
    expect(conn.inCluster).toBe(true);
    expect(conn.describe()).toBe(`in-cluster service account (${sa}), namespace default, server ${b.url}`);
    expect(await createKubeApi(conn).version()).toBe(b.version);
  });

  it('lists Nodes page by page, then watches them from the list\'s resourceVersion', async (ctx) => {
    const b = use(ctx);
    const fixtures = driver(b);
    const prefix = `n${Date.now().toString(36)}`;
    for (let i = 1; i <= 5; i++) await fixtures.create(makeNode(`${prefix}-${i}`, { externalIP: `203.0.113.${i}` }) as k8s.KubernetesObject);
    const api = createKubeApi(conn);
    const seen: string[] = [];
    let pages = 0;
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await api.nodes.list({ limit: 2, continue: cont });
      pages++;
      seen.push(...names(page.items));
      cont = page.continue;
      rv = page.resourceVersion;
    } while (cont);
    expect(seen.filter((n) => n.startsWith(prefix)).sort()).toEqual([1, 2, 3, 4, 5].map((i) => `${prefix}-${i}`));
    expect(pages).toBeGreaterThanOrEqual(3);

    const events: Array<{ type: string; name: string; hold: unknown }> = [];
    const handle = await api.nodes.watch(rv, (type, object) => {
      const o = object as { metadata?: { name?: string; annotations?: Record<string, string> } };
      if (o.metadata?.name?.startsWith(prefix)) events.push({ type, name: o.metadata.name, hold: o.metadata.annotations?.['example.com/hold'] });
    }, () => undefined);
    try {
      await fixtures.create(makeNode(`${prefix}-6`, { externalIP: '203.0.113.6' }) as k8s.KubernetesObject);
      await api.setNodeAnnotation(`${prefix}-2`, 'example.com/hold', '1700000000');
      await api.setNodeAnnotation(`${prefix}-2`, 'example.com/hold', null);
      await waitFor(() => events.length >= 3 || undefined, 15_000, 'three watch events');
      expect(events).toEqual([
        { type: 'ADDED', name: `${prefix}-6`, hold: undefined },
        { type: 'MODIFIED', name: `${prefix}-2`, hold: '1700000000' },
        { type: 'MODIFIED', name: `${prefix}-2`, hold: undefined },
      ]);
    } finally {
      handle.abort();
    }
  });

  it('lists EndpointSlices by label selector', async (ctx) => {
    const b = use(ctx);
    const svc = `web-${Date.now().toString(36)}`;
    const slice = (name: string, service: string) => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.7'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    });
    await driver(b).create(slice(`${svc}-a`, svc));
    await driver(b).create(slice(`${svc}-other`, `${svc}-other`));
    const page = await createKubeApi(conn).endpointSlices({ labelSelector: `kubernetes.io/service-name=${svc}` }).list({ limit: 10 });
    expect(names(page.items)).toEqual([`${svc}-a`]);
    expect(page.items[0]).toMatchObject({ endpoints: [{ addresses: ['10.0.0.7'] }] });
  });

  it('gets, creates and replaces Leases; a stale write is EPI_LEASE_CONFLICT, a missing namespace a 404', async (ctx) => {
    use(ctx);
    const leases = createLeaseApi(conn);
    const name = `l-${Date.now().toString(36)}`;
    expect(await leases.get('default', name)).toBeUndefined();
    const at = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    const record = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: at, renewTime: at, leaseTransitions: 0 };
    const created = await leases.write('default', name, record);
    expect(created).toMatchObject(record);
    expect(await leases.get('default', name)).toEqual(created);
    const renewed = await leases.write('default', name, { ...record, renewTime: at + 2_000 }, created.resourceVersion);
    expect(renewed.renewTime).toBe(at + 2_000);
    expect(await rejection(leases.write('default', name, record, created.resourceVersion))).toMatchObject({ code: 'EPI_LEASE_CONFLICT' });
    const missing = await rejection(leases.write('no-such-namespace', name, record));
    expect(missing).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 404 });
    expect(missing.message).toBe(`Kubernetes create lease no-such-namespace/${name}: HTTP 404 NotFound: namespaces "no-such-namespace" not found`);
  });

  it('records events.k8s.io/v1 Events the API server accepts', async (ctx) => {
    const b = use(ctx);
    const node = `ev-${Date.now().toString(36)}`;
    new EventRecorder(eventSink(conn), log, { instance: 'test_1' })
      .record({ kind: 'Node', name: node }, { type: 'Normal', reason: 'DNSRecordsAdded', action: 'AddDNSRecords', note: 'Added x' });
    const list = () => driver(b).list('events.k8s.io/v1', 'Event', 'default');
    const event = await waitFor(async () => (await list()).items.find((e) => (e as { regarding?: { name?: string } }).regarding?.name === node), 10_000, 'the Event');
    expect(event).toMatchObject({ reason: 'DNSRecordsAdded', reportingController: 'epictetus', reportingInstance: 'test_1', note: 'Added x' });
    expect((event as unknown as { eventTime: string }).eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('names the call and the API\'s answer when refused: 401 for a bad token, 403 without one', async (ctx) => {
    const b = use(ctx);
    const badSa = serviceAccountDir(b, 'not-a-valid-token');
    dirs.push(badSa);
    const bad = loadKubeConfig('', { env: inClusterEnv(b), serviceAccountDir: badSa });
    const refused = await rejection(createKubeApi(bad).nodes.list({ limit: 1 }));
    expect(refused).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 401, retryable: false, message: 'Kubernetes list nodes: HTTP 401 Unauthorized: Unauthorized' });
    bad.close();

    const cfg = join(badSa, 'anonymous.json');
    writeFileSync(cfg, JSON.stringify({
      'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'c', user: 'nobody' } }],
      clusters: [{ name: 'c', cluster: { server: b.url, 'certificate-authority-data': b.ca.toString('base64') } }], users: [{ name: 'nobody', user: {} }],
    }));
    const anonymous = loadKubeConfig(cfg);
    const forbidden = await rejection(createKubeApi(anonymous).services.list({ limit: 1 }));
    expect(forbidden).toMatchObject({ code: 'EPI_KUBE_HTTP', status: 403, retryable: false });
    expect(forbidden.message).toBe('Kubernetes list services: HTTP 403 Forbidden: services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" at the cluster scope');

    // Leader election without Lease RBAC: one ERROR with the API's answer and the fix, and problem() says it.
    const lines: Array<{ level: number; msg: string }> = [];
    const capture = pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l) as { level: number; msg: string }); } });
    const elector = new LeaderElector(createLeaseApi(anonymous), { namespace: 'default', name: 'epictetus', identity: 'x' }, capture, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    expect(await elector.attempt()).toBe(false);
    expect(await elector.attempt()).toBe(false);
    expect(elector.problem()).toBe('leader election cannot use Lease default/epictetus: Kubernetes get lease default/epictetus: HTTP 403 Forbidden: leases.coordination.k8s.io "epictetus" is forbidden: User "system:anonymous" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "default". Fix: grant the service account get, create and update on leases (coordination.k8s.io) in namespace default (a Role and RoleBinding)');
    expect(lines.filter((l) => l.level >= 40).map((l) => [l.level, l.msg])).toEqual([[50, elector.problem()]]);
    anonymous.close();
  });
});

/** Runs `node [--import hook] file`; resolves its exit code and output. */
function runNode(file: string, env: Record<string, string>, hook = true): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(hook ? ['--import', HOOK] : []), file], {
      env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * Every call the service makes (test/helpers/kube-exercise.ts), bundled as the service is (same
 * resolution and code splitting: client-node in a chunk of its own), run from a fresh process.
 */
async function bundleExercise(dir: string): Promise<string> {
  await build({
    input: { exercise: fileURLToPath(new URL('../helpers/kube-exercise.ts', import.meta.url)) }, platform: 'node', resolve, logLevel: 'silent',
    output: { dir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: (chunk) => chunkFileNames(chunk, 'mjs') },
  });
  return join(dir, 'exercise.mjs');
}

describe('@kubernetes/client-node stays unloaded', () => {
  let pki: TestPki;
  let b: Backend;
  let world: World;
  const dirs: string[] = [];

  let exercise: string;

  beforeAll(async () => {
    const bundled = mkdtempSync(join(tmpdir(), 'epictetus-exercise-'));
    dirs.push(bundled);
    exercise = await bundleExercise(bundled);
    pki = makeTestPki();
    b = await simBehindTls(pki);
    await driver(b).create(makeNode('worker-1', { externalIP: '203.0.113.1' }) as k8s.KubernetesObject);
    world = await startWorld({ nodes: 2 });
  });

  afterAll(async () => {
    await b?.stop();
    await world?.stop();
    pki?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'epictetus-proof-'));
    dirs.push(d);
    return d;
  };

  it('in-cluster: every call the service makes, without loading it', async () => {
    const sa = serviceAccountDir(b);
    dirs.push(sa);
    const r = await runNode(exercise, { SA_DIR: sa, ...inClusterEnv(b) });
    expect(r.err).toBe('');
    expect(r.out).toBe(`OK in-cluster service account (${sa}), namespace default, server ${b.url}\n`);
    expect(r.code).toBe(0);
  });

  it('with a YAML kubeconfig (CA file, token file): the same', async () => {
    const d = tmp();
    writeFileSync(join(d, 'ca.pem'), b.ca);
    writeFileSync(join(d, 'token'), b.token);
    const config = join(d, 'config');
    writeFileSync(config, `apiVersion: v1\nkind: Config\ncurrent-context: proof\nclusters:\n- name: c\n  cluster:\n    server: ${b.url}\n    certificate-authority: ca.pem\ncontexts:\n- name: proof\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n    tokenFile: token\n`);
    const r = await runNode(exercise, { EXPLICIT: config });
    expect(r.err).toBe('');
    expect(r.out).toBe(`OK kubeconfig ${config} (K8S_CONFIG_PATH), context proof, server ${b.url}\n`);
    expect(r.code).toBe(0);
  });

  it('the hook does catch it: a user with an exec plugin loads it (and works without the hook)', async () => {
    const d = tmp();
    const plugin = join(d, 'plugin.mjs');
    writeFileSync(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(b.token)} } }));\n`);
    const config = join(d, 'exec.json');
    writeFileSync(config, JSON.stringify({
      'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: b.url, 'certificate-authority-data': b.ca.toString('base64') } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin] } } }],
    }));
    const hooked = await runNode(exercise, { EXPLICIT: config });
    expect(hooked.code).toBe(99);
    expect(hooked.err).toMatch(/^CLIENT-NODE LOADED: \.\/(chunks\/)?client-node-[\w-]+\.mjs from file:.*\/epictetus-exercise-\w+\/(exercise|chunks\/[\w-]+)\.mjs\n$/);
    const plain = await runNode(exercise, { EXPLICIT: config }, false);
    expect(plain.err).toBe('');
    expect(plain.code).toBe(0);
  });

  it('the service itself runs, leads and records Events without loading it', async () => {
    const service = startService({ ...world.env, NODE_OPTIONS: `--import=${HOOK}`, LEADER_ELECTION: 'true', LEASE_NAMESPACE: 'default', HOLD_NODE_DELETION: 'true' });
    try {
      await service.waitReady(30_000);
      await waitFor(async () => ((await service.get('/health')).body.leadership as { role?: string }).role === 'leader' || undefined, 15_000, 'leadership');
      world.kube.patchNode('worker-1', { spec: { taints: [
        { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' },
        { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' },
      ] } });
      await waitFor(() => world.kube.listObjects('events.events.k8s.io', 'default').length > 0 || undefined, 15_000, 'an Event');
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(service.stderr.join('\n')).not.toContain('CLIENT-NODE LOADED');
    } finally {
      await service.stop('SIGKILL');
    }
  });
});

describe('start-up without a Kubernetes configuration', () => {
  it('stops at once with one EPI_KUBECONFIG line saying what was looked for', async () => {
    const home = mkdtempSync(join(tmpdir(), 'epictetus-home-'));
    try {
      const service = startService({
        CLOUDFLARE_API_TOKEN: fakeToken('kube-client-service'), CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4',
        CLOUDFLARE_ZONE_ID: '0123456789abcdef0123456789abcdef', DNS_HOSTNAMES: 'app.example.com', HOME: home,
      });
      expect(await service.exit).toBe(1);
      const loud = service.logs.filter((l) => l.level === 'warn' || l.level === 'error');
      expect(loud).toHaveLength(1);
      expect(loud[0]).toMatchObject({ level: 'error', code: 'EPI_KUBECONFIG' });
      expect(loud[0]?.msg).toBe(`no Kubernetes configuration found: K8S_CONFIG_PATH is empty; not inside a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset); KUBECONFIG is not set; ${join(home, '.kube', 'config')} does not exist. Set K8S_CONFIG_PATH to a kubeconfig file, or run inside a cluster with a service account`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
