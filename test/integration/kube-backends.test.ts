/**
 * The real service against each Kubernetes backend: the simulator and a real kube-apiserver
 * (test/kube-apiserver, built with Go on first use). One suite, run against both: a test that
 * passes on one backend and fails on the other is a bug in the simulator or in the service.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed, type TestContext } from 'vitest';
import { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import type * as k8s from '@kubernetes/client-node';
import { makeNode } from '../../src/sim/kube/index.js';
import { builtinResources } from '../../src/sim/kube/kinds/index.js';
import { openapiV3 } from '../../src/sim/kube/openapi/documents.js';
import type { Prop } from '../../src/sim/kube/openapi/schema.js';
import { builtinTypes } from '../../src/sim/kube/openapi/types.js';
import { startSimBackend, startRealBackend, type BackendKind, type KubeBackend, type RawAnswer, type SliceEvent } from '../helpers/kube-backend.js';
import { buildKubeApiserver } from '../helpers/kube-apiserver.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const run = promisify(execFile);

const ZONE = 'example.com';
const HOST = `app.${ZONE}`;
const TOKEN = fakeToken('kube-backends');
const CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' };
const TO_BE_DELETED = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };
/** The first real build compiles much of Kubernetes: give it its own long limit. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

/** Documentation addresses (RFC 5737), as the simulated world uses. */
const nodeIp = (i: number): string => `203.0.113.${10 + i}`;
const nodeIps = (...ns: number[]): string[] => ns.map(nodeIp).sort();

function log(line: string): void {
  process.stderr.write(`[kube-backends] ${line}\n`);
}

describe.each<{ kind: BackendKind }>([{ kind: 'sim' }, { kind: 'real' }])('the service against the $kind Kubernetes backend', ({ kind }) => {
  let backend: KubeBackend | undefined;
  let skipReason: string | undefined;
  let cloudflare: CloudflareSim | undefined;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    let start: () => Promise<KubeBackend> = () => startSimBackend();
    if (kind === 'real') {
      log('building (or reusing) the real kube-apiserver; the first build takes many minutes');
      const built = await buildKubeApiserver();
      if (!built.ok) {
        skipReason = `real kube-apiserver unavailable: ${built.reason}`;
        log(`SKIPPING the real-backend tests: ${skipReason}`);
        return;
      }
      log(`kube-apiserver ${built.version} ready after ${Math.round(built.ms / 1000)} s: ${built.binary}`);
      start = () => startRealBackend(built.binary);
    }
    const t0 = Date.now();
    backend = await start();
    log(`${kind} backend (${backend.version}) started in ${Date.now() - t0} ms`);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await backend?.stop();
  }, 60_000);

  afterEach(async () => {
    await service?.stop('SIGKILL');
    service = undefined;
    await cloudflare?.stop();
    cloudflare = undefined;
    if (backend) await clean(backend);
  }, 60_000);

  /** The backend, or the test is skipped (with the reason) when it could not be had. */
  function use(ctx: TestContext): KubeBackend {
    if (skipReason !== undefined) ctx.skip(skipReason);
    if (backend === undefined) throw new Error(`no ${kind} backend`);
    return backend;
  }

  /** Nodes worker-1..n, the Cloudflare simulator, and the service, ready. */
  async function boot(b: KubeBackend, nodes: number, hostnames: string[] = [HOST], env: Record<string, string> = {}): Promise<{ cf: CloudflareSim; s: ServiceProcess; zoneId: string; env: Record<string, string> }> {
    for (let i = 1; i <= nodes; i++) await b.createNode(makeNode(`worker-${i}`, { externalIP: nodeIp(i), internalIP: `10.0.0.${i}` }));
    cloudflare = await CloudflareSim.start({ token: TOKEN, zones: [{ name: ZONE }], dnsPort: false, maxRecordsPerZone: 1_000_000, rateLimit: false });
    const zoneId = cloudflare.zone(ZONE).id;
    const serviceEnv = {
      CLOUDFLARE_API_TOKEN: TOKEN,
      CLOUDFLARE_ZONE_ID: zoneId,
      CLOUDFLARE_API_BASE_URL: cloudflare.baseUrl,
      K8S_CONFIG_PATH: b.kubeconfigPath,
      DNS_HOSTNAMES: hostnames.join(','),
      ...env,
    };
    service = startService(serviceEnv);
    const s = service;
    onTestFailed(() => log(`the service's last log lines:\n${[...s.lines.slice(-60), ...s.stderr.slice(-20)].join('\n')}`));
    await s.waitReady(30_000);
    return { cf: cloudflare, s, zoneId, env: serviceEnv };
  }

  function ips(cf: CloudflareSim, zoneId: string, name = HOST): string[] {
    return cf.records(zoneId).filter((r) => r.name === name && r.type === 'A').map((r) => r.content).sort();
  }

  function waitIps(cf: CloudflareSim, zoneId: string, want: string[], opts: { name?: string; timeoutMs?: number } = {}): Promise<true> {
    const name = opts.name ?? HOST;
    return waitFor(() => JSON.stringify(ips(cf, zoneId, name)) === JSON.stringify([...want].sort()) || undefined,
      opts.timeoutMs ?? 15_000, `${name} records ${want.join(',') || '(none)'} (have ${ips(cf, zoneId, name).join(',') || 'none'})`);
  }

  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('lists the nodes at start-up, then follows a joining node through its watch', async (ctx) => {
    const b = use(ctx);
    const { cf, s, zoneId } = await boot(b, 3);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    expect(cf.records(zoneId).every((r) => r.comment === 'epictetus:owner=default')).toBe(true);
    expect((await s.get('/health')).body).toMatchObject({ status: 'ok', nodes: { total: 3, eligible: 3 } });

    await b.createNode(makeNode('worker-4', { externalIP: nodeIp(4) }));
    await waitIps(cf, zoneId, nodeIps(1, 2, 3, 4));
    expect(await s.waitForLog((l) => l.action === 'create' && l.node === 'worker-4')).toMatchObject({ ip: nodeIp(4), reason: 'node-eligible' });
  });

  it('adds a node that joins with the not-ready taint once the taint goes', async (ctx) => {
    const b = use(ctx);
    const { cf, zoneId } = await boot(b, 1);
    await waitIps(cf, zoneId, nodeIps(1));
    // as a kubelet registers (a real server's TaintNodesByCondition admission adds this taint
    // to every new Node), before the node lifecycle controller sees it Ready
    await b.createNode(makeNode('worker-2', { externalIP: nodeIp(2), taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }));
    await pause(800);
    expect(ips(cf, zoneId)).toEqual(nodeIps(1));
    await b.patchNode('worker-2', { spec: { taints: null } }, 'merge');
    await waitIps(cf, zoneId, nodeIps(1, 2));
  });

  it('ignores kubelet heartbeats written through /status', async (ctx) => {
    const b = use(ctx);
    const { cf, s, zoneId } = await boot(b, 2);
    await waitIps(cf, zoneId, nodeIps(1, 2));
    const reconciles = () => s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('reconciled')).length;
    const before = reconciles();
    for (let i = 1; i <= 5; i++) {
      const beat = new Date(Date.now() + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      await b.patchNodeStatus('worker-1', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: beat }] } }, 'strategic');
    }
    await pause(500);
    expect(reconciles()).toBe(before);
    // a status change that matters goes through /status too
    await b.patchNodeStatus('worker-1', { status: { addresses: [{ type: 'ExternalIP', address: nodeIp(7) }] } }, 'merge');
    await waitIps(cf, zoneId, nodeIps(2, 7));
  });

  it('removes a node tainted by a strategic-merge patch only when both autoscaler taints are on', async (ctx) => {
    const b = use(ctx);
    const { cf, zoneId } = await boot(b, 3);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    await b.patchNode('worker-2', { spec: { taints: [CANDIDATE] } }, 'strategic');
    await pause(800);
    expect(ips(cf, zoneId)).toEqual(nodeIps(1, 2, 3));
    await b.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } }, 'strategic');
    await waitIps(cf, zoneId, nodeIps(1, 3));
    // cancelled scale-down: the hard taint goes, the record comes back
    await b.patchNode('worker-2', { spec: { taints: [CANDIDATE] } }, 'strategic');
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
  });

  it('follows kubectl taint (add, add, remove) and kubectl delete', async (ctx) => {
    const b = use(ctx);
    const { cf, zoneId } = await boot(b, 3);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    const kubectl = async (...args: string[]) => (await run('/usr/bin/kubectl', ['--kubeconfig', b.kubeconfigPath, ...args], { timeout: 60_000 })).stdout;

    expect(await kubectl('get', 'nodes')).toContain('worker-2');
    await kubectl('taint', 'nodes', 'worker-2', `${CANDIDATE.key}=${CANDIDATE.value}:${CANDIDATE.effect}`);
    await pause(800);
    expect(ips(cf, zoneId)).toEqual(nodeIps(1, 2, 3));
    await kubectl('taint', 'nodes', 'worker-2', `${TO_BE_DELETED.key}=${TO_BE_DELETED.value}:${TO_BE_DELETED.effect}`);
    await waitIps(cf, zoneId, nodeIps(1, 3));
    await kubectl('taint', 'nodes', 'worker-2', `${TO_BE_DELETED.key}-`);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    await kubectl('delete', 'node', 'worker-3');
    await waitIps(cf, zoneId, nodeIps(1, 2));
  });

  it('removes the record of a deleted node', async (ctx) => {
    const b = use(ctx);
    const { cf, s, zoneId } = await boot(b, 3);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    await b.deleteNode('worker-3');
    await waitIps(cf, zoneId, nodeIps(1, 2));
    expect(await s.waitForLog((l) => l.action === 'delete')).toMatchObject({ hostname: HOST, ip: nodeIp(3), node: 'worker-3', reason: 'node-deleted' });
  });

  it('re-lists after its watch expires (410 Gone) and still converges', async (ctx) => {
    const b = use(ctx);
    const { cf, s, zoneId } = await boot(b, 4);
    await waitIps(cf, zoneId, nodeIps(1, 2, 3, 4));
    await b.forceWatchExpiry();
    await s.waitForLog((l) => l.msg === 'watch expired (410 Gone); re-listing', 60_000);
    await b.deleteNode('worker-4');
    await b.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } }, 'strategic');
    await waitIps(cf, zoneId, nodeIps(2, 3), { timeoutMs: 30_000 });
  }, 120_000);

  it('adds the hostname of a dns-enabled Service and removes it with the annotation', async (ctx) => {
    const b = use(ctx);
    const { cf, s, zoneId } = await boot(b, 2, []);
    await waitFor(() => s.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('reconciled')) || undefined, 15_000, 'a first reconcile');
    const web = `web.${ZONE}`;
    await b.createService({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', annotations: { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': web } },
      spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] },
    });
    await waitIps(cf, zoneId, nodeIps(1, 2), { name: web });
    await b.patchService('default', 'web', { metadata: { annotations: { 'epictetus.io/dns-enabled': null } } }, 'merge');
    await waitIps(cf, zoneId, [], { name: web });
    expect(await s.waitForLog((l) => l.action === 'delete' && l.hostname === web)).toMatchObject({ ip: expect.stringMatching(/^203\.0\.113\./) as unknown });
  });

  // Still to come on both backends (the driver already has getLease and listEvents):
  it('leader election: one replica holds and renews the Lease, and hands it over on SIGTERM', async (ctx) => {
    const b = use(ctx);
    const lease = `epictetus-${kind}-${Date.now()}`;
    const { s: first, env } = await boot(b, 2, [HOST], { LEADER_ELECTION: 'true', LEASE_NAMESPACE: 'default', LEASE_NAME: lease });
    const second = startService(env);
    try {
      await second.waitReady(30_000);
      const identity = async (p: ServiceProcess) => ((await p.get('/health')).body.leadership as { identity: string; role: string });
      const [a, c] = [await identity(first), await identity(second)];
      expect([a.role, c.role]).toEqual(['leader', 'follower']);
      const held = await b.getLease('default', lease);
      expect(held?.spec?.holderIdentity).toBe(a.identity);
      expect(held?.spec?.leaseDurationSeconds).toBe(15);
      const renewed = new Date(String(held?.spec?.renewTime)).getTime();
      await waitFor(async () => new Date(String((await b.getLease('default', lease))?.spec?.renewTime)).getTime() > renewed || undefined, 10_000, 'a renewal');

      expect(await first.stop('SIGTERM')).toBe(0);
      await waitFor(async () => (await b.getLease('default', lease))?.spec?.holderIdentity === c.identity || undefined, 8_000, 'hand-over');
      expect((await identity(second)).role).toBe('leader');
      expect((await b.getLease('default', lease))?.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
    } finally {
      await second.stop('SIGKILL');
    }
  });

  it('holds a retiring node with the delay-deletion annotation, then releases it', async (ctx) => {
    const b = use(ctx);
    const KEY = 'delay-deletion.cluster-autoscaler.kubernetes.io/epictetus';
    const { cf, zoneId } = await boot(b, 2, [HOST], { HOLD_NODE_DELETION: 'true', DNS_TTL: '60', HOLD_MARGIN_SECONDS: '0', HOLD_MAX_SECONDS: '3' });
    await waitIps(cf, zoneId, nodeIps(1, 2));
    const annotation = async () => (await b.listNodes()).find((n) => n.metadata?.name === 'worker-1')?.metadata?.annotations?.[KEY];
    await b.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } }, 'strategic');
    const placed = await waitFor(annotation, 8_000, 'hold placed');
    const deletedAt = cf.commits.find((c) => c.kind === 'delete')?.at ?? Infinity;
    expect(Date.parse(placed)).toBeGreaterThanOrEqual(deletedAt); // valued with when the records went, after they went
    expect(ips(cf, zoneId)).toEqual(nodeIps(2));
    await waitFor(async () => (await annotation()) === undefined || undefined, 10_000, 'hold released');
    const taints = (await b.listNodes()).find((n) => n.metadata?.name === 'worker-1')?.spec?.taints?.map((t) => t.key).sort();
    expect(taints).toEqual(['DeletionCandidateOfClusterAutoscaler', 'ToBeDeletedByClusterAutoscaler']);
  });

  it('records Events about a retired node in namespace default', async (ctx) => {
    const b = use(ctx);
    const { cf, zoneId } = await boot(b, 2);
    await waitIps(cf, zoneId, nodeIps(1, 2));
    await b.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } }, 'strategic');
    await waitIps(cf, zoneId, nodeIps(2));
    const event = await waitFor(async () => (await b.listEvents('default'))
      .find((e) => e.reason === 'DNSRecordsRemoved' && e.involvedObject.name === 'worker-1'), 10_000, 'the Event');
    expect(event.involvedObject.kind).toBe('Node');
    expect(event.reportingComponent).toBe('epictetus');
    expect(event.message).toContain(`${HOST} A ${nodeIp(1)} (both-ca-taints)`);
  });

  for (const denied of ['services', 'nodes'] as const) it(`plans nothing while the first list of ${denied} is refused (RBAC), then converges without a deletion once allowed`, async (ctx) => {
    const b = use(ctx);
    for (const i of [1, 2, 3]) await b.createNode(makeNode(`worker-${i}`, { externalIP: nodeIp(i), internalIP: `10.0.0.${i}` }));
    await b.createService({ metadata: { name: 'shop', namespace: 'default', annotations: { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': `shop.${ZONE}` } },
      spec: { ports: [{ port: 80 }] } });
    cloudflare = await CloudflareSim.start({ token: TOKEN, zones: [{ name: ZONE }], dnsPort: false, maxRecordsPerZone: 1_000_000, rateLimit: false });
    const cf = cloudflare;
    const zoneId = cf.zone(ZONE).id;
    // A restart: the records of the last run are there.
    for (const name of [HOST, `shop.${ZONE}`]) for (const i of [1, 2, 3]) cf.addRecord(zoneId, { name, type: 'A', content: nodeIp(i), comment: 'epictetus:owner=default' });
    const identity = await b.deniedIdentity(denied);
    service = startService({
      CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ZONE_ID: zoneId, CLOUDFLARE_API_BASE_URL: cf.baseUrl, K8S_CONFIG_PATH: identity.kubeconfigPath,
      DNS_HOSTNAMES: HOST, LEADER_ELECTION: 'false', RETRY_DELAY: '0.05',
    });
    const s = service;
    onTestFailed(() => log(`the service's last log lines:\n${[...s.lines.slice(-60), ...s.stderr.slice(-20)].join('\n')}`));
    const why = await waitFor(async () => {
      const r = await s.get('/health/ready').catch(() => undefined);
      return r?.status === 503 && String(r.body.reason).includes('403') ? String(r.body.reason) : undefined;
    }, 30_000, 'not ready, saying why');
    expect(why).toContain(`waiting for the first list of ${denied}`);
    await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('list failed') && String(l.err).includes('403'), 15_000);
    expect(cf.requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/tokens/verify'))).toEqual([]);
    await identity.allow();
    await s.waitReady(30_000);
    expect(ips(cf, zoneId)).toEqual(nodeIps(1, 2, 3));
    expect(ips(cf, zoneId, `shop.${ZONE}`)).toEqual(nodeIps(1, 2, 3));
    expect(cf.commits.filter((c) => c.kind === 'delete')).toEqual([]);
  }, 90_000);

  it('serves a hostname only from nodes with a ready endpoint of its Service: not ready, terminating, back (SERVE_FROM_ENDPOINTS_OF)', async (ctx) => {
    const b = use(ctx);
    await b.createSelectorService({ name: 'ingress', selector: { app: 'ingress' } });
    for (const i of [1, 2, 3]) await b.createNode(makeNode(`worker-${i}`, { externalIP: nodeIp(i), internalIP: `10.0.0.${i}` }));
    for (const i of [1, 2, 3]) await b.createPod({ name: `ingress-${i}`, node: `worker-${i}`, labels: { app: 'ingress' }, ip: `10.244.${i}.5` });
    const { cf, zoneId, s } = await boot(b, 0, [HOST], { SERVE_FROM_ENDPOINTS_OF: 'default/ingress', MAX_UNHEALTHY_FRACTION: '1' });
    await waitIps(cf, zoneId, nodeIps(1, 2, 3));
    await b.setPodReady('default', 'ingress-2', false);
    await waitIps(cf, zoneId, nodeIps(1, 3));
    expect(await s.waitForLog((l) => l.action === 'delete' && l.node === 'worker-2')).toMatchObject({ reason: 'no-ready-endpoint' });
    await b.startPodTermination('default', 'ingress-3', 30); // the ingress pod starts shutting down: its node leaves before the pod is gone
    await waitIps(cf, zoneId, nodeIps(1));
    expect(await s.waitForLog((l) => l.action === 'delete' && l.node === 'worker-3')).toMatchObject({ reason: 'endpoint-terminating' });
    await b.setPodReady('default', 'ingress-2', true);
    await waitIps(cf, zoneId, nodeIps(1, 2));
    await b.finishPodTermination('default', 'ingress-3');
    expect(ips(cf, zoneId)).toEqual(nodeIps(1, 2));
  }, 90_000);

  describe('EndpointSlices', () => {
    const SERVICE_LABEL = 'kubernetes.io/service-name';
    const MANAGED_BY = { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
    const bySelector = (service: string) => `${SERVICE_LABEL}=${service}`;
    const endpointOf = (e: SliceEvent, pod: string) => e.object.endpoints?.find((p) => p.targetRef?.name === pod);

    it('follows a selected Pod: ready on its node, not ready, ready, terminating, gone', async (ctx) => {
      const b = use(ctx);
      await b.createNode(makeNode('worker-1', { externalIP: nodeIp(1) }));
      const svc = await b.createSelectorService({ name: 'eps-web', selector: { app: 'eps-web' }, labels: { team: 'edge' } });
      const watch = await b.watchEndpointSlices({ namespace: 'default', labelSelector: bySelector('eps-web') });
      try {
        const ours = (e: SliceEvent) => e.object.metadata?.ownerReferences?.some((o) => o.uid === svc.metadata?.uid) === true;
        const web = (e: SliceEvent) => (ours(e) ? endpointOf(e, 'web-1') : undefined);
        await b.createPod({ name: 'web-1', node: 'worker-1', labels: { app: 'eps-web' }, ip: '10.244.1.5' });

        const ready = await watch.next((e) => web(e)?.conditions?.ready === true);
        expect(web(ready)).toMatchObject({
          addresses: ['10.244.1.5'],
          nodeName: 'worker-1',
          conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1' },
        });
        expect(ready.object.addressType).toBe('IPv4');
        expect(ready.object.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
        expect(ready.object.metadata?.labels).toEqual({ team: 'edge', [SERVICE_LABEL]: 'eps-web', ...MANAGED_BY });
        expect(ready.object.metadata?.generateName).toBe('eps-web-');
        expect(ready.object.metadata?.ownerReferences).toEqual([
          { apiVersion: 'v1', kind: 'Service', name: 'eps-web', uid: svc.metadata?.uid, controller: true, blockOwnerDeletion: true },
        ]);
        // The cluster-wide list, over plain HTTP, says the same.
        const listed = await b.request('GET', `/apis/discovery.k8s.io/v1/endpointslices?labelSelector=${encodeURIComponent(bySelector('eps-web'))}`);
        expect(listed.status).toBe(200);
        const items = (listed.body as { kind: string; items: Array<{ endpoints: unknown[] }> }).items;
        expect((listed.body as { kind: string }).kind).toBe('EndpointSliceList');
        expect(items).toHaveLength(1);
        expect(items[0]?.endpoints).toEqual([expect.objectContaining({ addresses: ['10.244.1.5'], nodeName: 'worker-1' })]);

        let from = watch.events.length;
        await b.setPodReady('default', 'web-1', false);
        const notReady = await watch.next((e) => web(e)?.conditions?.ready === false, { from });
        expect(web(notReady)?.conditions).toEqual({ ready: false, serving: false, terminating: false });

        from = watch.events.length;
        await b.setPodReady('default', 'web-1', true);
        await watch.next((e) => web(e)?.conditions?.ready === true, { from });

        from = watch.events.length;
        const deleting = await b.startPodTermination('default', 'web-1', 30);
        expect(deleting.metadata?.deletionTimestamp).toBeDefined();
        expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(30);
        const terminating = await watch.next((e) => web(e)?.conditions?.terminating === true, { from });
        expect(web(terminating)?.conditions).toEqual({ ready: false, serving: true, terminating: true });
        // Nothing stops it: the Pod stays, marked, until deleted with gracePeriodSeconds 0.
        const marked = (await b.listPods()).find((p) => p.metadata?.name === 'web-1');
        expect(marked?.metadata?.deletionTimestamp).toBeDefined();

        from = watch.events.length;
        await b.finishPodTermination('default', 'web-1');
        const gone = await watch.next((e) => ours(e) && e.type === 'MODIFIED' && endpointOf(e, 'web-1') === undefined, { from });
        expect(gone.object.endpoints ?? []).toEqual([]);
        expect((await b.listPods()).some((p) => p.metadata?.name === 'web-1')).toBe(false);
        const raw = await b.request('GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${gone.object.metadata?.name ?? ''}`);
        expect(raw.body).toMatchObject({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', addressType: 'IPv4', endpoints: null, ports: null });
      } finally {
        watch.stop();
      }
    }, 60_000);

    it('lists only Pods that have an IP and a Node, and takes a Pod in once its Node exists', async (ctx) => {
      const b = use(ctx);
      await b.createNode(makeNode('worker-1', { externalIP: nodeIp(1) }));
      await b.createSelectorService({ name: 'eps-api', selector: { app: 'eps-api' } });
      await b.createPod({ name: 'api-pending', node: 'worker-1', labels: { app: 'eps-api' } });
      await b.createPod({ name: 'api-lost', node: 'worker-9', labels: { app: 'eps-api' }, ip: '10.244.9.2' });
      await b.createPod({ name: 'other', node: 'worker-1', labels: { app: 'other' }, ip: '10.244.1.3' });
      await b.createPod({ name: 'api-1', node: 'worker-1', labels: { app: 'eps-api' }, ip: '10.244.1.2', ready: false });
      const pods = async () => (await b.listEndpointSlices({ namespace: 'default', labelSelector: bySelector('eps-api') }))
        .flatMap((s) => s.endpoints ?? []).map((e) => `${e.targetRef?.name ?? ''}@${e.nodeName ?? ''}:${String(e.conditions?.ready)}`).sort();
      await waitFor(async () => (await pods()).length > 0 || undefined, 15_000, 'an endpoint');
      expect(await pods()).toEqual(['api-1@worker-1:false']);
      // The controller retries the Service while a Pod's Node is missing (with back-off on a real server).
      await b.createNode(makeNode('worker-9', { externalIP: nodeIp(9) }));
      await waitFor(async () => (await pods()).length === 2 || undefined, 40_000, 'the Pod on worker-9');
      expect(await pods()).toEqual(['api-1@worker-1:false', 'api-lost@worker-9:true']);
    }, 60_000);

    it('keeps a placeholder slice for a Service with no Pods, none without a selector, and deletes slices with their Service', async (ctx) => {
      const b = use(ctx);
      await b.createService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'eps-manual', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
      const svc = await b.createSelectorService({ name: 'eps-empty', selector: { app: 'nothing' } });
      const slices = () => b.listEndpointSlices({ namespace: 'default', labelSelector: bySelector('eps-empty') });
      const [placeholder] = await waitFor(async () => ((await slices()).length === 1 ? slices() : undefined), 15_000, 'the placeholder');
      const raw = await b.request('GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${placeholder?.metadata?.name ?? ''}`);
      expect(raw.body).toMatchObject({ addressType: 'IPv4', endpoints: null, ports: null, metadata: { labels: { [SERVICE_LABEL]: 'eps-empty', ...MANAGED_BY } } });
      expect(placeholder?.metadata?.ownerReferences?.[0]?.uid).toBe(svc.metadata?.uid);
      expect(await b.listEndpointSlices({ namespace: 'default', labelSelector: bySelector('eps-manual') })).toEqual([]);
      await b.deleteService('default', 'eps-empty');
      await waitFor(async () => (await slices()).length === 0 || undefined, 40_000, 'the slices to go with their Service');
    }, 60_000);

    it('takes hand-written slices, validated like the real API', async (ctx) => {
      const b = use(ctx);
      const path = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
      const created = await b.request('POST', path, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'eps-hand', labels: { [SERVICE_LABEL]: 'eps-hand', 'endpointslice.kubernetes.io/managed-by': 'hand.example.com' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['192.0.2.10'], nodeName: 'worker-1', conditions: { ready: true } }],
        ports: [{ port: 443 }],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        metadata: { generation: 1 },
        endpoints: [{ addresses: ['192.0.2.10'], nodeName: 'worker-1', conditions: { ready: true } }],
        ports: [{ name: '', port: 443, protocol: 'TCP' }],
      });
      const invalid = await b.request('POST', path, {
        metadata: { name: 'eps-bad' },
        addressType: 'IPv5',
        endpoints: [{ addresses: [] }, { addresses: ['192.0.2.1'], nodeName: 'Bad_Node' }],
        ports: [{ name: 'http', protocol: 'ICMP' }, { name: 'http' }],
      });
      expect(invalid.status).toBe(422);
      expect(invalid.body).toMatchObject({
        reason: 'Invalid',
        details: { name: 'eps-bad', group: 'discovery.k8s.io', kind: 'EndpointSlice' },
        message:
          'EndpointSlice.discovery.k8s.io "eps-bad" is invalid: [addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6", ' +
          'ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP", ports[1].name: Duplicate value: "http", ' +
          'endpoints[0].addresses: Required value: must contain at least 1 address, ' +
          'endpoints[1].nodeName: Invalid value: "Bad_Node": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')]',
      });
      const loopback = await b.request('POST', path, { metadata: { name: 'eps-lo' }, addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1', '2001:db8::1'] }] });
      expect((loopback.body as { message: string }).message).toBe(
        'EndpointSlice.discovery.k8s.io "eps-lo" is invalid: [endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128), ' +
          'endpoints[0].addresses: Invalid value: "2001:db8::1": must be an IPv4 address]',
      );
      const wrongType = await b.request('POST', path, { metadata: { name: 'eps-type' }, addressType: 'IPv4', endpoints: [{ addresses: ['192.0.2.1'], conditions: { ready: 'yes' } }] });
      expect(wrongType.status).toBe(400);
      expect((wrongType.body as { message: string }).message).toBe(
        'EndpointSlice in version "v1" cannot be handled as a EndpointSlice: json: cannot unmarshal string into Go struct field EndpointConditions.endpoints.conditions.ready of type bool',
      );
      await b.request('DELETE', `${path}/eps-hand`);
    });
  });

  describe('field validation, OpenAPI and kubectl', () => {
    const message = (a: RawAnswer) => (a.body as { message?: string }).message;

    it('fails unknown fields with fieldValidation=Strict, drops them with a warning by default', async (ctx) => {
      const b = use(ctx);
      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'fv-1', labelz: { a: 'b' } }, spec: { taint: [], taints: [{ key: 'k', effect: 'NoSchedule', foo: 1 }] } };
      const strict = await b.request('POST', '/api/v1/nodes?fieldValidation=Strict', node);
      expect(strict.status).toBe(400);
      expect(message(strict)).toBe(
        'Node in version "v1" cannot be handled as a Node: strict decoding error: unknown field "metadata.labelz", unknown field "spec.taint", unknown field "spec.taints[0].foo"',
      );
      const bogus = await b.request('POST', '/api/v1/nodes?fieldValidation=Bogus', node);
      expect(bogus.status).toBe(422);
      expect(message(bogus)).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"');

      const warned = await b.request('POST', '/api/v1/nodes', node);
      expect(warned.status).toBe(201);
      expect(warned.headers.warning).toBe('299 - "unknown field \\"metadata.labelz\\"", 299 - "unknown field \\"spec.taint\\"", 299 - "unknown field \\"spec.taints[0].foo\\""');
      const created = warned.body as { metadata: object; spec: { taints: object[] } };
      expect(created.metadata).not.toHaveProperty('labelz');
      expect(created.spec).not.toHaveProperty('taint');
      expect(created.spec.taints[0]).toEqual({ key: 'k', effect: 'NoSchedule' });

      const patch = { metadata: { labels: { a: 'b' } }, spec: { foo: 1 } };
      const strictPatch = await b.request('PATCH', '/api/v1/nodes/fv-1?fieldValidation=Strict', patch, 'application/strategic-merge-patch+json');
      expect(strictPatch.status).toBe(422);
      expect(message(strictPatch)).toBe(' "" is invalid: patch: Invalid value: "map[metadata:map[labels:map[a:b]] spec:map[foo:1]]": strict decoding error: unknown field "spec.foo"');
      const ignored = await b.request('PATCH', '/api/v1/nodes/fv-1?fieldValidation=Ignore', patch, 'application/merge-patch+json');
      expect(ignored.status).toBe(200);
      expect(ignored.headers.warning).toBeUndefined();
      expect((ignored.body as { metadata: { labels: object } }).metadata.labels).toEqual({ a: 'b' });
    });

    it('describes the kinds in OpenAPI v3 with the simulator\'s schemas, and advertises server-side field validation', async (ctx) => {
      const b = use(ctx);
      const index = (await b.request('GET', '/openapi/v3')).body as { paths: Record<string, { serverRelativeURL: string }> };
      const served: Record<string, string[]> = {
        'api/v1': ['Node', 'Namespace', 'Service', 'Pod', 'Event'],
        'apis/discovery.k8s.io/v1': ['EndpointSlice'],
        'apis/coordination.k8s.io/v1': ['Lease'],
        'apis/events.k8s.io/v1': ['Event'],
      };
      let compared = 0;
      for (const [gv, kinds] of Object.entries(served)) {
        const url = index.paths[gv]?.serverRelativeURL ?? '';
        expect(url, gv).toMatch(new RegExp(`^/openapi/v3/${gv}\\?hash=[0-9A-F]{128}$`));
        const doc = (await b.request('GET', url)).body as OpenApiV3;
        const schemas = doc.components.schemas;
        for (const k of kinds) {
          const schema = Object.values(schemas).find((s) => s['x-kubernetes-group-version-kind']?.some((g) => g.kind === k && `${g.group ? `apis/${g.group}` : 'api'}/${g.version}` === gv));
          expect(schema, `${gv} ${k}`).toBeDefined();
          const patch = Object.values(doc.paths).map((p) => p.patch).find((op) => op?.['x-kubernetes-group-version-kind']?.kind === k);
          expect(patch?.parameters?.map((p) => p.name), `${gv} ${k} PATCH`).toContain('fieldValidation');
          expect(Object.keys(patch?.requestBody?.content ?? {}), `${gv} ${k} PATCH`).toContain('application/strategic-merge-patch+json');
        }
        for (const t of builtinTypes.values()) {
          const theirs = schemas[t.name];
          if (t.kind !== 'struct' || t.open || !theirs) continue;
          compared++;
          expect(Object.keys(theirs.properties ?? {}).sort(), t.name).toEqual(Object.keys(t.props).sort());
          expect([...(theirs.required ?? [])].sort(), `${t.name} required`).toEqual([...(t.required ?? [])].sort());
          for (const [name, prop] of Object.entries(t.props)) expect(shapeOf(theirs.properties?.[name], prop), `${t.name}.${name}`).toEqual(shapeOf(simSchemas()[t.name]?.properties?.[name], prop));
        }
      }
      expect(compared).toBeGreaterThan(40);
    });

    it('is driven by kubectl: create -f, create service and namespace, apply, get endpointslices, explain', async (ctx) => {
      const b = use(ctx);
      const dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
      const kubectl = (...args: string[]) => runKubectl(b.kubeconfigPath, args);
      try {
        const node = join(dir, 'node.yaml');
        writeFileSync(node, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: kc-1\n  labels: {pool: web}\nspec:\n  taints:\n  - {key: dedicated, value: web, effect: NoSchedule}\n');
        expect(await kubectl('create', '-f', node)).toMatchObject({ code: 0, stdout: 'node/kc-1 created\n' });
        writeFileSync(node, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: kc-2\nspec:\n  taint: []\n');
        const typo = await kubectl('create', '-f', node);
        expect(typo.code).not.toBe(0);
        expect(typo.stderr).toContain('Node in version "v1" cannot be handled as a Node: strict decoding error: unknown field "spec.taint"');

        expect(await kubectl('create', 'service', 'clusterip', 'kc-web', '--tcp=80:8080')).toMatchObject({ code: 0, stdout: 'service/kc-web created\n' });
        const web = JSON.parse((await kubectl('get', 'service', 'kc-web', '-o', 'json')).stdout) as k8s.V1Service;
        expect(web.spec?.ports).toEqual([{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]);
        expect(web.spec?.selector).toEqual({ app: 'kc-web' });
        expect(await kubectl('create', 'namespace', `kc-${kind}`)).toMatchObject({ code: 0, stdout: `namespace/kc-${kind} created\n` });

        const svc = join(dir, 'svc.yaml');
        const manifest = (ports: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-api\nspec:\n  selector: {app: kc-api}\n  ports:\n${ports}`;
        writeFileSync(svc, manifest('  - {name: http, port: 80}\n'));
        expect(await kubectl('apply', '-f', svc)).toMatchObject({ code: 0, stdout: 'service/kc-api created\n' });
        writeFileSync(svc, manifest('  - {name: http, port: 80}\n  - {name: https, port: 443}\n'));
        expect(await kubectl('apply', '-f', svc)).toMatchObject({ code: 0, stdout: 'service/kc-api configured\n' });
        const api = JSON.parse((await kubectl('get', 'service', 'kc-api', '-o', 'json')).stdout) as k8s.V1Service;
        expect(api.spec?.ports?.map((p) => `${p.name}:${p.port}`)).toEqual(['http:80', 'https:443']);

        await b.createNode(makeNode('worker-1', { externalIP: nodeIp(1) }));
        await b.createPod({ name: 'kc-web-1', node: 'worker-1', labels: { app: 'kc-web' }, ip: '10.244.3.4' });
        const row = await waitFor(async () => {
          const out = (await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name=kc-web')).stdout;
          return out.includes('10.244.3.4') ? out : undefined;
        }, 15_000, 'the slice in kubectl get');
        expect(row.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
        expect(row.split('\n')[1]).toMatch(/^kc-web-\w{5}\s+IPv4\s+8080\s+10\.244\.3\.4\s+\d+s$/);

        const explain = await kubectl('explain', 'node.spec.taints');
        expect(explain.code).toBe(0);
        expect(explain.stdout).toMatch(/^FIELD: taints <\[\]Taint>$/m);
        expect(explain.stdout).toMatch(/^ {2}effect\t<string> -required-$/m);
        expect(explain.stdout).toMatch(/^ {2}enum: NoExecute, NoSchedule, PreferNoSchedule$/m);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
});

/** Back to an empty cluster between tests: no Pods, no Nodes, no Services of ours. */
async function clean(b: KubeBackend): Promise<void> {
  for (const pod of await b.listPods()) await b.finishPodTermination(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
  for (const node of await b.listNodes()) await b.deleteNode(node.metadata?.name ?? '');
  for (const svc of await b.listServices()) {
    const { namespace = '', name = '' } = svc.metadata ?? {};
    if (namespace === 'default' && name === 'kubernetes') continue; // the apiserver's own
    await b.deleteService(namespace, name);
  }
}

interface OpenApiV3Schema {
  type?: string;
  format?: string;
  enum?: string[];
  $ref?: string;
  allOf?: Array<{ $ref?: string }>;
  items?: OpenApiV3Schema;
  additionalProperties?: OpenApiV3Schema;
  properties?: Record<string, OpenApiV3Schema>;
  required?: string[];
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
}

interface OpenApiV3 {
  paths: Record<string, Partial<Record<'get' | 'patch', { parameters?: Array<{ name: string }>; requestBody?: { content: Record<string, unknown> }; 'x-kubernetes-group-version-kind'?: { kind: string } }>>>;
  components: { schemas: Record<string, OpenApiV3Schema> };
}

/**
 * What a property is, for comparing two documents: type, format, enum, referenced type, list
 * and map semantics. Where the simulator's schema (`prop`) leaves a part open, that part is
 * only "open".
 */
function shapeOf(s: OpenApiV3Schema | undefined, prop: Prop | undefined): unknown {
  if (!s) return undefined;
  if (prop?.kind === 'open') return 'open';
  const ref = s.$ref ?? s.allOf?.[0]?.$ref;
  return {
    type: s.type,
    format: s.format,
    enum: s.enum,
    ref: ref?.split('/').pop(),
    listType: s['x-kubernetes-list-type'],
    mapKeys: s['x-kubernetes-list-map-keys'],
    mergeKey: s['x-kubernetes-patch-merge-key'],
    strategy: s['x-kubernetes-patch-strategy']?.split(',').filter((x) => x !== 'retainKeys').join(','),
    items: shapeOf(s.items, prop?.kind === 'list' ? prop.items : undefined),
    values: shapeOf(s.additionalProperties, prop?.kind === 'map' ? prop.values : undefined),
  };
}

/** The schemas as the simulator renders them, of every group-version. */
let simDocs: Record<string, OpenApiV3Schema> | undefined;
function simSchemas(): Record<string, OpenApiV3Schema> {
  simDocs ??= Object.assign(
    {},
    ...['api/v1', 'apis/discovery.k8s.io/v1', 'apis/coordination.k8s.io/v1', 'apis/events.k8s.io/v1'].map(
      (gv) => (openapiV3({ defs: builtinResources, types: builtinTypes, version: 'v1.33.0' }, gv) as unknown as OpenApiV3).components.schemas,
    ),
  ) as Record<string, OpenApiV3Schema>;
  return simDocs;
}

async function runKubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
