/**
 * The real service process against both simulators: annotated Services as hostname sources,
 * several zones, node health rules and the mass-removal guard, IPv6 and fallback addresses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World, type WorldOptions } from '../../src/cli/world.js';
import type { DnsRecordView } from '../../src/sim/cloudflare/index.js';
import { makeNode, type Taint } from '../../src/sim/kube/index.js';
import { startService, waitFor, type LogLine, type ServiceProcess } from '../helpers/service.js';

const HOST = 'app.example.com';
const OWNER_MARKER = 'epictetus:owner=default';

let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
  service = undefined;
  world = undefined;
});

// ---- /health as these tests read it ----

interface HealthBody {
  status: string;
  nodes: { total: number; eligible: number; excluded: Array<{ name: string; reasons: string[] }> };
  hostnames: Array<{ name: string; source: string; zone: string | null; ttl: number; proxied: boolean }>;
  conflicts: Array<{ hostname: string; kept: string; ignored: string; difference: string }>;
  serviceProblems: Array<{ service: string; problem: string }>;
  heldByMassRemovalGuard: Array<{ name: string; type: string; content: string; node: string | null; wouldBe: string }>;
  heldBySafetyFloor: unknown[];
}

async function health(s: ServiceProcess): Promise<HealthBody> {
  return (await s.get('/health')).body as unknown as HealthBody;
}

// ---- start-up ----

interface BootOptions {
  readonly world?: WorldOptions;
  readonly env?: Record<string, string>;
  /** Runs after the simulators start and before the service does (extra nodes, Services, records). */
  readonly before?: (w: World) => void;
}

async function boot(opts: BootOptions = {}): Promise<{ w: World; s: ServiceProcess }> {
  world = await startWorld(opts.world ?? {});
  opts.before?.(world);
  service = startService({ ...world.env, ...opts.env });
  await service.waitReady();
  return { w: world, s: service };
}

// ---- records ----

function recordsOf(w: World, name: string, type = 'A', zoneId = w.zoneId): DnsRecordView[] {
  return w.cloudflare.records(zoneId).filter((r) => r.name === name && r.type === type);
}

function ipsOf(w: World, name = HOST, type = 'A', zoneId = w.zoneId): string[] {
  return recordsOf(w, name, type, zoneId).map((r) => r.content).sort();
}

function waitIps(w: World, name: string, want: readonly string[], opts: { type?: string; zoneId?: string; timeoutMs?: number } = {}): Promise<true> {
  const wanted = JSON.stringify([...want].sort());
  return waitFor(() => JSON.stringify(ipsOf(w, name, opts.type ?? 'A', opts.zoneId ?? w.zoneId)) === wanted || undefined,
    opts.timeoutMs ?? 10_000, `${opts.type ?? 'A'} records of ${name}: ${want.join(',') || '(none)'}`);
}

const batchCalls = (w: World) => w.cloudflare.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records/batch'));
const recordLists = (w: World) => w.cloudflare.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/dns_records'));
const batchPath = (zoneId: string) => `/client/v4/zones/${zoneId}/dns_records/batch`;

// ---- logs ----

/** A log line matching `pred` written after `mark` lines had been written. */
function waitForLogAfter(s: ServiceProcess, mark: number, pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
  return waitFor(() => s.logs.slice(mark).find(pred), timeoutMs, 'log line');
}

const msgStarts = (prefix: string) => (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith(prefix);
const isDelete = (node: string) => (l: LogLine) => l.action === 'delete' && l.node === node;

/** Resolves once a reconcile triggered by a node event has run and changed nothing. */
function waitNoopNodeReconcile(s: ServiceProcess, mark: number): Promise<LogLine> {
  return waitForLogAfter(s, mark, (l) => l.msg === 'reconciled: no changes' && typeof l.trigger === 'string' && l.trigger.includes('node-change'));
}

// ---- Kubernetes objects ----

function annotatedService(name: string, annotations: Record<string, string>, namespace = 'default'): object {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace, annotations },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80 }] },
  };
}

const enabled = (more: Record<string, string>): Record<string, string> => ({ 'epictetus.io/dns-enabled': 'true', ...more });

function isoSeconds(t = Date.now()): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What the kubelet writes when readiness changes: a strategic merge of the Ready condition (merged by type). */
function setReady(w: World, node: string, status: 'True' | 'False', at = Date.now()): void {
  w.kube.patchNode(node, { status: { conditions: [{
    type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady',
    message: status === 'True' ? 'kubelet is posting ready status' : 'container runtime network not ready',
    lastHeartbeatTime: isoSeconds(at), lastTransitionTime: isoSeconds(at),
  }] } }, 'strategic');
}

function setTaints(w: World, node: string, taints: Taint[]): void {
  w.kube.patchNode(node, { spec: { taints } });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// =====================================================================================

describe('Services as hostname sources', () => {
  it('a dns-enabled Service adds its hostnames at once, without waiting for a full sync', async () => {
    const { w, s } = await boot({ world: { nodes: 2, hostnames: [] } });
    expect(w.cloudflare.records(w.zoneId)).toHaveLength(0);
    const listsAtStart = recordLists(w).length;

    w.kube.createObject('services', annotatedService('web', enabled({
      'epictetus.io/hostnames': '["web.example.com", "WWW.example.com"]',
      'epictetus.io/hostname': 'api.example.com',
    })));
    w.kube.createObject('services', annotatedService('shop', enabled({ 'epictetus.io/hostnames': 'shop.example.com, cart.example.com' })));
    // annotated with hostnames but not dns-enabled: ignored
    w.kube.createObject('services', annotatedService('quiet', { 'epictetus.io/hostname': 'quiet.example.com' }));

    const nodeIps = [simNodeIp(1), simNodeIp(2)];
    for (const name of ['web.example.com', 'www.example.com', 'api.example.com', 'shop.example.com', 'cart.example.com']) {
      await waitIps(w, name, nodeIps, { timeoutMs: 5_000 });
    }
    expect(ipsOf(w, 'quiet.example.com')).toEqual([]);
    // driven by the Service watch: planned against the cached zone, no full sync (re-read) happened
    expect(recordLists(w).length).toBe(listsAtStart);
    expect(w.cloudflare.records(w.zoneId).every((r) => r.comment === OWNER_MARKER && r.ttl === 1 && !r.proxied)).toBe(true);

    const h = await health(s);
    expect(h.hostnames).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'web.example.com', source: 'service default/web', zone: 'example.com' }),
      expect.objectContaining({ name: 'cart.example.com', source: 'service default/shop', zone: 'example.com' }),
    ]));
    expect(h.hostnames.map((x) => x.name)).not.toContain('quiet.example.com');
    expect(h.serviceProblems).toEqual([]);
  });

  it('changing a Service\'s ttl or proxied annotation updates its records in place', async () => {
    const { w } = await boot({
      world: { nodes: 2, hostnames: [] },
      before: (w0) => w0.kube.createObject('services', annotatedService('web', enabled({ 'epictetus.io/hostname': 'web.example.com', 'epictetus.io/ttl': '60' }))),
    });
    await waitIps(w, 'web.example.com', [simNodeIp(1), simNodeIp(2)]);
    const ids = recordsOf(w, 'web.example.com').map((r) => r.id).sort();
    expect(recordsOf(w, 'web.example.com').map((r) => r.ttl)).toEqual([60, 60]);

    const batches = batchCalls(w).length;
    w.kube.patchObject('services', 'web', { metadata: { annotations: { 'epictetus.io/ttl': '300' } } }, { namespace: 'default', type: 'merge' });
    await waitFor(() => recordsOf(w, 'web.example.com').every((r) => r.ttl === 300) || undefined, 5_000, 'ttl 300');
    expect(recordsOf(w, 'web.example.com').map((r) => r.id).sort()).toEqual(ids);
    const ttlBatch = batchCalls(w).slice(batches);
    expect(ttlBatch).toHaveLength(1);
    expect(ttlBatch[0]?.ops).toMatchObject({ patches: 2, posts: 0, deletes: 0 });

    w.kube.patchObject('services', 'web', { metadata: { annotations: { 'epictetus.io/proxied': 'true' } } }, { namespace: 'default', type: 'merge' });
    await waitFor(() => recordsOf(w, 'web.example.com').every((r) => r.proxied) || undefined, 5_000, 'proxied');
    expect(recordsOf(w, 'web.example.com').map((r) => r.id).sort()).toEqual(ids);
    expect(recordsOf(w, 'web.example.com').map((r) => r.ttl)).toEqual([1, 1]); // proxied records use automatic ttl
    expect(batchCalls(w).slice(batches).every((b) => b.ops?.posts === 0 && b.ops.deletes === 0)).toBe(true);
    expect(w.cloudflare.commits.filter((c) => c.kind !== 'update').map((c) => c.kind)).toEqual(['create', 'create']);
  });

  it('removing the annotation or deleting the Service removes its managed records, never a hand-made one', async () => {
    const { w, s } = await boot({
      world: { nodes: 2, hostnames: [HOST] },
      before: (w0) => {
        w0.cloudflare.addRecord(w0.zoneId, { name: 'web.example.com', type: 'A', content: '198.51.100.7', comment: 'office' });
        w0.cloudflare.addRecord(w0.zoneId, { name: 'shop.example.com', type: 'A', content: '198.51.100.8' });
        w0.kube.createObject('services', annotatedService('web', enabled({ 'epictetus.io/hostname': 'web.example.com' })));
        w0.kube.createObject('services', annotatedService('shop', enabled({ 'epictetus.io/hostname': 'shop.example.com' })));
      },
    });
    const nodeIps = [simNodeIp(1), simNodeIp(2)];
    await waitIps(w, 'web.example.com', ['198.51.100.7', ...nodeIps]);
    await waitIps(w, 'shop.example.com', ['198.51.100.8', ...nodeIps]);

    w.kube.patchObject('services', 'web', { metadata: { annotations: { 'epictetus.io/dns-enabled': null } } }, { namespace: 'default', type: 'merge' });
    await waitIps(w, 'web.example.com', ['198.51.100.7'], { timeoutMs: 5_000 });
    expect(recordsOf(w, 'web.example.com')[0]?.comment).toBe('office');
    expect(await s.waitForLog((l) => l.action === 'delete' && l.hostname === 'web.example.com')).toMatchObject({ ip: expect.stringMatching(/^203\.0\.113\./) as unknown });

    w.kube.deleteObject('services', 'shop', 'default');
    await waitIps(w, 'shop.example.com', ['198.51.100.8'], { timeoutMs: 5_000 });
    expect(recordsOf(w, 'shop.example.com')[0]?.comment).toBeNull();
    // the hostname from DNS_HOSTNAMES is untouched
    expect(ipsOf(w, HOST)).toEqual(nodeIps);
    expect((await health(s)).hostnames.map((h) => h.name)).toEqual([HOST]);
  });

  it('a Service with a bad annotation is disabled alone, reported in /health and the log', async () => {
    const { w, s } = await boot({ world: { nodes: 2, hostnames: [HOST] } });
    w.kube.createObject('services', annotatedService('bad-ttl', enabled({ 'epictetus.io/hostname': 'bad1.example.com', 'epictetus.io/ttl': '7' })));
    w.kube.createObject('services', annotatedService('bad-selector', enabled({ 'epictetus.io/hostname': 'bad2.example.com', 'epictetus.io/node-selector': 'role in (ingress' })));
    w.kube.createObject('services', annotatedService('good', enabled({ 'epictetus.io/hostname': 'good.example.com' })));

    await waitIps(w, 'good.example.com', [simNodeIp(1), simNodeIp(2)], { timeoutMs: 5_000 });
    expect(ipsOf(w, 'bad1.example.com')).toEqual([]);
    expect(ipsOf(w, 'bad2.example.com')).toEqual([]);
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), simNodeIp(2)]);

    const h = await health(s);
    expect(h.serviceProblems.map((p) => p.service).sort()).toEqual(['default/bad-selector', 'default/bad-ttl']);
    expect(h.serviceProblems.find((p) => p.service === 'default/bad-ttl')?.problem).toContain('epictetus.io/ttl');
    expect(h.serviceProblems.find((p) => p.service === 'default/bad-selector')?.problem).toContain('epictetus.io/node-selector');
    for (const svc of ['default/bad-ttl', 'default/bad-selector']) {
      const warning = await s.waitForLog((l) => l.service === svc);
      expect(warning.level).toBe('warn');
    }

    // everything else keeps working: a joining node gets records on both good hostnames
    w.kube.createNode(makeNode('worker-9', { externalIP: simNodeIp(9) }));
    await waitIps(w, 'good.example.com', [simNodeIp(1), simNodeIp(2), simNodeIp(9)]);
    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(2), simNodeIp(9)]);
    expect(ipsOf(w, 'bad1.example.com')).toEqual([]);
  });

  it('node-selector and control-plane-only choose the nodes, and a label change can add one', async () => {
    const edgeIp = '203.0.113.41';
    const cpIp = '203.0.113.42';
    const masterIp = '203.0.113.43';
    const { w } = await boot({
      world: { nodes: 1, hostnames: [HOST] },
      before: (w0) => {
        w0.kube.createNode(makeNode('edge-1', { externalIP: edgeIp, labels: { role: 'ingress' } }));
        w0.kube.createNode(makeNode('cp-1', { externalIP: cpIp, labels: { 'node-role.kubernetes.io/control-plane': '', accelerator: 'gpu' } }));
        w0.kube.createNode(makeNode('master-1', { externalIP: masterIp, labels: { 'node-role.kubernetes.io/master': '' } }));
        // present before the service starts: its selector's label must be known from the first sync
        w0.kube.createObject('services', annotatedService('edge', enabled({ 'epictetus.io/hostname': 'edge.example.com', 'epictetus.io/node-selector': 'role in (ingress, edge)' })));
      },
    });
    await waitIps(w, HOST, [simNodeIp(1), edgeIp, cpIp, masterIp]);
    await waitIps(w, 'edge.example.com', [edgeIp]);

    w.kube.createObject('services', annotatedService('kube-api', enabled({ 'epictetus.io/hostname': 'k8s.example.com', 'epictetus.io/control-plane-only': 'true' })));
    await waitIps(w, 'k8s.example.com', [cpIp, masterIp], { timeoutMs: 5_000 });

    // a selector on a label no rule read before, already on a node: nodes must be looked at again
    w.kube.createObject('services', annotatedService('gpu', enabled({ 'epictetus.io/hostname': 'gpu.example.com', 'epictetus.io/node-selector': 'accelerator=gpu' })));
    await waitIps(w, 'gpu.example.com', [cpIp], { timeoutMs: 5_000 });

    // label changes that make nodes match
    w.kube.patchNode('worker-1', { metadata: { labels: { role: 'edge' } } });
    w.kube.patchNode('master-1', { metadata: { labels: { accelerator: 'gpu' } } });
    await waitIps(w, 'edge.example.com', [edgeIp, simNodeIp(1)], { timeoutMs: 5_000 });
    await waitIps(w, 'gpu.example.com', [cpIp, masterIp], { timeoutMs: 5_000 });
    expect(ipsOf(w, 'k8s.example.com')).toEqual([cpIp, masterIp].sort());
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), edgeIp, cpIp, masterIp].sort());
  });

  it('two Services claiming one hostname with different ttl: the first by namespace/name wins, whatever the order they came in', async () => {
    const { w, s } = await boot({ world: { nodes: 2, hostnames: [] }, env: { SERVICE_CLAIM_NAMESPACES: 'default,kube-public' } });
    // kube-public/aaa comes first by name alone, default/zzz by namespace/name
    w.kube.createObject('services', annotatedService('aaa', enabled({ 'epictetus.io/hostname': 'shop.example.com', 'epictetus.io/ttl': '300' }), 'kube-public'));
    await waitFor(() => recordsOf(w, 'shop.example.com').length === 2 || undefined, 5_000, 'records of kube-public/aaa');
    w.kube.createObject('services', annotatedService('zzz', enabled({ 'epictetus.io/hostname': 'shop.example.com', 'epictetus.io/ttl': '120' })));

    await waitFor(() => {
      const recs = recordsOf(w, 'shop.example.com');
      return (recs.length === 2 && recs.every((r) => r.ttl === 120)) || undefined;
    }, 5_000, 'ttl of default/zzz');
    const expected = { hostname: 'shop.example.com', kept: 'service default/zzz', ignored: 'service kube-public/aaa' };
    const h = await health(s);
    expect(h.conflicts).toEqual([expect.objectContaining(expected)]);
    expect(h.conflicts[0]?.difference).toContain('ttl');
    expect(h.hostnames).toEqual([expect.objectContaining({ name: 'shop.example.com', source: 'service default/zzz', ttl: 120 })]);
    expect((await s.waitForLog((l) => l.hostname === 'shop.example.com' && l.kept !== undefined)).level).toBe('warn');

    // the loser changing its mind again changes nothing
    const batches = batchCalls(w).length;
    const mark = s.logs.length;
    w.kube.patchObject('services', 'aaa', { metadata: { annotations: { 'epictetus.io/ttl': '600' } } }, { namespace: 'kube-public', type: 'merge' });
    await waitForLogAfter(s, mark, (l) => l.msg === 'reconciled: no changes' && typeof l.trigger === 'string' && l.trigger.includes('service-change'));
    await pause(300);
    expect(recordsOf(w, 'shop.example.com').map((r) => r.ttl)).toEqual([120, 120]);
    expect(batchCalls(w).length).toBe(batches);
  });
});

describe('many zones', () => {
  it('puts each hostname in its own zone with one batch per changed zone, and reports a hostname that fits no zone', async () => {
    const { w, s } = await boot({
      world: { nodes: 2, extraZones: ['example.org'], hostnames: ['app.example.com', 'app.example.org', 'app.nowhere.net'] },
    });
    expect(w.env.CLOUDFLARE_ZONE_ID).toBeUndefined();
    const com = w.cloudflare.zone('example.com').id;
    const org = w.cloudflare.zone('example.org').id;
    const nodeIps = [simNodeIp(1), simNodeIp(2)];
    await waitIps(w, 'app.example.com', nodeIps, { zoneId: com });
    await waitIps(w, 'app.example.org', nodeIps, { zoneId: org });
    expect(w.cloudflare.records().some((r) => r.name.endsWith('nowhere.net'))).toBe(false);
    expect(batchCalls(w).map((r) => r.path).sort()).toEqual([batchPath(com), batchPath(org)].sort());

    const h = await health(s);
    expect(h.hostnames).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'app.example.com', zone: 'example.com' }),
      expect.objectContaining({ name: 'app.example.org', zone: 'example.org' }),
      expect.objectContaining({ name: 'app.nowhere.net', zone: null }),
    ]));
    expect((await s.waitForLog((l) => l.hostname === 'app.nowhere.net')).level).toBe('warn');

    // a change that concerns one zone costs one batch call, to that zone only
    const before = batchCalls(w).length;
    w.kube.createObject('services', annotatedService('web', enabled({ 'epictetus.io/hostname': 'web.example.org' })));
    await waitIps(w, 'web.example.org', nodeIps, { zoneId: org, timeoutMs: 5_000 });
    await pause(300);
    expect(batchCalls(w).slice(before).map((r) => r.path)).toEqual([batchPath(org)]);
    expect(ipsOf(w, 'app.example.com', 'A', com)).toEqual(nodeIps);
  });
});

describe('node health', () => {
  it('a NotReady node leaves DNS at once when there is no grace, and comes back when Ready again', async () => {
    const { w, s } = await boot({ env: { NOT_READY_GRACE_SECONDS: '0' } });
    setReady(w, 'worker-2', 'False');
    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(3)], { timeoutMs: 5_000 });
    expect(await s.waitForLog(isDelete('worker-2'))).toMatchObject({ hostname: HOST, ip: simNodeIp(2), reason: 'not-ready' });
    expect((await health(s)).nodes.excluded).toEqual([{ name: 'worker-2', reasons: ['not-ready'] }]);

    setReady(w, 'worker-2', 'True');
    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(2), simNodeIp(3)], { timeoutMs: 5_000 });
    expect((await health(s)).nodes.excluded).toEqual([]);
  });

  it('with a 1 s grace a NotReady node leaves DNS only once the grace has passed', async () => {
    const { w, s } = await boot({ env: { NOT_READY_GRACE_SECONDS: '1' } });
    // Kubernetes times have whole seconds: start early in a second so the grace ends >= 800 ms from now
    await waitFor(() => Date.now() % 1000 < 200 || undefined, 2_000, 'start of a second');
    const transition = Math.floor(Date.now() / 1000) * 1000;
    const mark = s.logs.length;
    setReady(w, 'worker-2', 'False', transition);
    await waitNoopNodeReconcile(s, mark); // the NotReady event was seen and changed nothing yet
    expect(Date.now()).toBeLessThan(transition + 1000);
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), simNodeIp(2), simNodeIp(3)]);

    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(3)], { timeoutMs: 5_000 });
    const deleted = w.cloudflare.commits.find((c) => c.kind === 'delete');
    expect(deleted?.record.content).toBe(simNodeIp(2));
    expect(deleted?.at ?? 0).toBeGreaterThanOrEqual(transition + 1000);
    expect(deleted?.at ?? Infinity).toBeLessThan(transition + 3000);
    expect(await s.waitForLog(isDelete('worker-2'))).toMatchObject({ reason: 'not-ready' });
  });

  it('when most nodes go NotReady at once (a CNI restart) the mass-removal guard keeps their records', async () => {
    const all = [1, 2, 3, 4].map(simNodeIp);
    const { w, s } = await boot({ world: { nodes: 4 }, env: { NOT_READY_GRACE_SECONDS: '0' } });
    for (const n of ['worker-1', 'worker-2', 'worker-3']) setReady(w, n, 'False');

    const warning = await s.waitForLog(msgStarts('MASS-REMOVAL GUARD'), 5_000);
    expect(warning.level).toBe('warn');
    await pause(300);
    expect(ipsOf(w, HOST)).toEqual(all);
    expect(w.cloudflare.commits.filter((c) => c.kind === 'delete')).toEqual([]);
    const h = await health(s);
    expect(h.heldByMassRemovalGuard.map((x) => x.node).sort()).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect(h.heldByMassRemovalGuard.every((x) => x.name === HOST && x.wouldBe === 'not-ready')).toBe(true);
    expect(h.nodes.excluded.map((n) => n.name)).toEqual(['worker-1', 'worker-2', 'worker-3']);

    for (const n of ['worker-1', 'worker-2', 'worker-3']) setReady(w, n, 'True');
    await waitFor(async () => (await health(s)).heldByMassRemovalGuard.length === 0 || undefined, 5_000, 'guard released');
    expect(ipsOf(w, HOST)).toEqual(all);
  });

  it('nodes failing a few hundred ms apart are judged together by the mass-removal guard', async () => {
    const { w, s } = await boot({ world: { nodes: 4 }, env: { NOT_READY_GRACE_SECONDS: '0' } });
    setReady(w, 'worker-1', 'False');
    await waitIps(w, HOST, [2, 3, 4].map(simNodeIp), { timeoutMs: 5_000 }); // one of four: a sick node, it goes
    setReady(w, 'worker-2', 'False');
    await pause(300);
    setReady(w, 'worker-3', 'False');
    await s.waitForLog(msgStarts('MASS-REMOVAL GUARD'), 5_000);
    await pause(300);
    // worker-2 makes 2 of 4 in the window (allowed, at the limit); worker-3 would make 3 of 4: held.
    // Judged alone, worker-3 would have been 1 of the 2 left, and gone too.
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(3), simNodeIp(4)]);
  });

  it('a Karpenter disruption taint removes the node', async () => {
    const { w, s } = await boot();
    setTaints(w, 'worker-1', [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }]);
    await waitIps(w, HOST, [simNodeIp(2), simNodeIp(3)], { timeoutMs: 5_000 });
    expect(await s.waitForLog(isDelete('worker-1'))).toMatchObject({ hostname: HOST, ip: simNodeIp(1), reason: 'karpenter-disrupted' });
    expect((await health(s)).nodes.excluded).toEqual([{ name: 'worker-1', reasons: ['karpenter-disrupted'] }]);
  });

  it('KARPENTER_AWARE=false ignores the Karpenter disruption taint', async () => {
    const { w, s } = await boot({ env: { KARPENTER_AWARE: 'false' } });
    const mark = s.logs.length;
    setTaints(w, 'worker-1', [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }]);
    await waitNoopNodeReconcile(s, mark);
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), simNodeIp(2), simNodeIp(3)]);
    expect(w.cloudflare.commits.filter((c) => c.kind === 'delete')).toEqual([]);
    expect((await health(s)).nodes.excluded).toEqual([]);
  });

  it('a node labelled exclude-from-external-load-balancers leaves DNS', async () => {
    const { w, s } = await boot();
    w.kube.patchNode('worker-3', { metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } } });
    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(2)], { timeoutMs: 5_000 });
    expect(await s.waitForLog(isDelete('worker-3'))).toMatchObject({ hostname: HOST, ip: simNodeIp(3) });
    expect((await health(s)).nodes.excluded.map((n) => n.name)).toEqual(['worker-3']);
  });

  it('a critical taint from UNHEALTHY_NODE_TAINTS (out-of-service) removes the node', async () => {
    const { w, s } = await boot({ env: { UNHEALTHY_NODE_TAINTS: 'critical' } });
    setTaints(w, 'worker-2', [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }]);
    await waitIps(w, HOST, [simNodeIp(1), simNodeIp(3)], { timeoutMs: 5_000 });
    expect(await s.waitForLog(isDelete('worker-2'))).toMatchObject({ hostname: HOST, ip: simNodeIp(2), reason: 'tainted:node.kubernetes.io/out-of-service' });
    expect((await health(s)).nodes.excluded).toEqual([{ name: 'worker-2', reasons: ['tainted:node.kubernetes.io/out-of-service'] }]);
  });
});

describe('IPv6 and fallback addresses', () => {
  const dualStack = (w: World) => {
    w.kube.createNode(makeNode('dual-1', { externalIP: '203.0.113.21', externalIPv6: '2001:db8::21' }));
    w.kube.createNode(makeNode('dual-2', { externalIP: '203.0.113.22', externalIPv6: '2001:DB8:0:0::22' }));
  };

  it('a node with an IPv6 ExternalIP gets an AAAA record next to its A record', async () => {
    const { w, s } = await boot({ world: { nodes: 1 }, before: dualStack });
    await waitIps(w, HOST, ['2001:db8::21', '2001:db8::22'], { type: 'AAAA' });
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), '203.0.113.21', '203.0.113.22']);
    expect(recordsOf(w, HOST, 'AAAA').every((r) => r.comment === OWNER_MARKER)).toBe(true);

    // (two of them: the safety floor keeps the last record of each type)
    w.kube.deleteNode('dual-1');
    await waitIps(w, HOST, ['2001:db8::22'], { type: 'AAAA' });
    expect(await s.waitForLog((l) => l.action === 'delete' && l.type === 'AAAA')).toMatchObject({ node: 'dual-1', ip: '2001:db8::21', reason: 'node-deleted' });
    expect(ipsOf(w, HOST)).toEqual([simNodeIp(1), '203.0.113.22']);
  });

  it('DNS_RECORD_TYPES=A publishes no AAAA record', async () => {
    const { w } = await boot({ world: { nodes: 1 }, before: dualStack, env: { DNS_RECORD_TYPES: 'A' } });
    await waitIps(w, HOST, [simNodeIp(1), '203.0.113.21', '203.0.113.22']);
    expect(w.cloudflare.records(w.zoneId).filter((r) => r.type === 'AAAA')).toEqual([]);
  });

  it('a node without ExternalIP serves through its flannel public-ip annotation, but never through a private one', async () => {
    const { w, s } = await boot({
      world: { nodes: 0 },
      before: (w0) => {
        w0.kube.createNode(makeNode('flannel-pub', { externalIP: [], internalIP: '10.0.0.5', annotations: { 'flannel.alpha.coreos.com/public-ip': '203.0.113.31' } }));
        w0.kube.createNode(makeNode('flannel-priv', { externalIP: [], internalIP: '10.1.2.3', annotations: { 'flannel.alpha.coreos.com/public-ip': '10.1.2.3' } }));
      },
    });
    await waitIps(w, HOST, ['203.0.113.31']);
    const h = await health(s);
    expect(h.nodes).toMatchObject({ total: 2, eligible: 1 });
    expect(h.nodes.excluded).toEqual([{ name: 'flannel-priv', reasons: ['no-external-ip'], detail: 'flannel.alpha.coreos.com/public-ip: 10.1.2.3 is in the non-public range 10.0.0.0/8' }]);
    expect(w.cloudflare.records().some((r) => r.content === '10.1.2.3')).toBe(false);
  });
});
