/** The real service process against both simulators, as a user would run it. */
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' };
const TO_BE_DELETED = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };
const HOST = 'app.example.com';

let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
  service = undefined;
  world = undefined;
});

async function boot(nodes = 3, env: Record<string, string> = {}) {
  world = await startWorld({ nodes });
  service = startService({ ...world.env, ...env });
  await service.waitReady();
  return { w: world, s: service };
}

function ips(w: World, name = HOST): string[] {
  return w.cloudflare.records(w.zoneId).filter((r) => r.name === name && r.type === 'A').map((r) => r.content).sort();
}

function waitIps(w: World, want: string[], timeoutMs = 10_000): Promise<true> {
  return waitFor(() => JSON.stringify(ips(w)) === JSON.stringify([...want].sort()) || undefined, timeoutMs, `records ${want.join(',')}`);
}

const writes = (w: World) => w.cloudflare.requests.filter((r) => r.method !== 'GET');

describe('the service against both simulators', () => {
  it('creates one owned record per node at start-up, in one batch call, and is ready', async () => {
    const { w, s } = await boot(3);
    expect(ips(w)).toEqual([simNodeIp(1), simNodeIp(2), simNodeIp(3)]);
    expect(w.cloudflare.records(w.zoneId).every((r) => r.comment === 'epictetus:owner=default')).toBe(true);
    expect(writes(w).map((r) => r.path)).toEqual([`/client/v4/zones/${w.zoneId}/dns_records/batch`]);
    const health = await s.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', nodes: { total: 3, eligible: 3 }, records: { managed: { [HOST]: 3 } } });
    expect((await s.get('/health/live')).status).toBe(200);
  });

  it('removes a node only when it carries both autoscaler taints, within a second', async () => {
    const { w } = await boot(3);
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE] } });
    await new Promise((r) => setTimeout(r, 800));
    expect(ips(w)).toEqual([simNodeIp(1), simNodeIp(2), simNodeIp(3)]);
    const before = writes(w).length;
    const t0 = Date.now();
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitIps(w, [simNodeIp(1), simNodeIp(3)], 5_000);
    const deleted = w.cloudflare.commits.find((c) => c.kind === 'delete');
    expect(deleted?.record.content).toBe(simNodeIp(2));
    expect((deleted?.at ?? Infinity) - t0).toBeLessThan(1000);
    expect(writes(w).length - before).toBe(1);
  });

  it('brings the record back when the scale-down is cancelled', async () => {
    const { w } = await boot(2);
    w.kube.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitIps(w, [simNodeIp(2)]);
    w.kube.patchNode('worker-1', { spec: { taints: [CANDIDATE] } });
    await waitIps(w, [simNodeIp(1), simNodeIp(2)]);
  });

  it('removes a deleted node and adds a joining one', async () => {
    const { w, s } = await boot(3);
    w.kube.deleteNode('worker-3');
    await waitIps(w, [simNodeIp(1), simNodeIp(2)]);
    const line = await s.waitForLog((l) => l.action === 'delete');
    expect(line).toMatchObject({ hostname: HOST, ip: simNodeIp(3), node: 'worker-3', reason: 'node-deleted' });
    w.kube.createNode(makeNode('worker-9', { externalIP: simNodeIp(9) }));
    await waitIps(w, [simNodeIp(1), simNodeIp(2), simNodeIp(9)]);
    expect(await s.waitForLog((l) => l.action === 'create' && l.node === 'worker-9')).toMatchObject({ ip: simNodeIp(9), reason: 'node-eligible' });
  });

  it('ignores heartbeat-only node updates', async () => {
    const { w, s } = await boot(2);
    const reconciles = () => s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('reconciled')).length;
    const before = reconciles();
    const changesBefore = s.logs.filter((l) => l.msg === 'node changes').length;
    for (let i = 0; i < 20; i++) {
      w.kube.patchNode('worker-1', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date(Date.now() + i * 1000).toISOString() }] } });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(reconciles()).toBe(before);
    expect(s.logs.filter((l) => l.msg === 'node changes')).toHaveLength(changesBefore);
  });

  it('leaves hand-made and foreign-owned records alone and reports them', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    w.cloudflare.addRecord(w.zoneId, { name: HOST, type: 'A', content: '198.51.100.7', comment: 'office' });
    w.cloudflare.addRecord(w.zoneId, { name: HOST, type: 'A', content: '198.51.100.8', comment: 'epictetus:owner=other-cluster' });
    w.cloudflare.addRecord(w.zoneId, { name: HOST, type: 'A', content: simNodeIp(1), comment: 'made by hand' });
    service = startService(w.env);
    await service.waitReady();
    await waitIps(w, ['198.51.100.7', '198.51.100.8', simNodeIp(1), simNodeIp(2)]);
    const adopted = w.cloudflare.records(w.zoneId).find((r) => r.content === simNodeIp(1));
    expect(adopted?.comment).toBe('epictetus:owner=default made by hand');
    const health = await service.get('/health');
    expect(health.body.foreignRecords).toEqual([
      { name: HOST, type: 'A', content: '198.51.100.7', owner: null, reason: 'not-a-cluster-ip' },
      { name: HOST, type: 'A', content: '198.51.100.8', owner: 'other-cluster', reason: 'other-owner' },
    ]);
    // retire every node: the foreign records stay, and so does the floor's last managed record
    for (const n of ['worker-1', 'worker-2']) w.kube.patchNode(n, { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitFor(() => ips(w).length === 3 || undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(ips(w)).toContain('198.51.100.7');
    expect(ips(w)).toContain('198.51.100.8');
    const floor = await service.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('SAFETY FLOOR'));
    expect(floor.level).toBe('warn');
    expect(((await service.get('/health')).body.heldBySafetyFloor as unknown[]).length).toBe(1);
  });

  it('rides out 429 and 500 answers and converges', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    w.cloudflare.failNext({ status: 429, retryAfter: '0', count: 1 });
    w.cloudflare.failNext({ status: 500, count: 2 });
    service = startService(w.env);
    await service.waitReady();
    await waitIps(w, [simNodeIp(1), simNodeIp(2)]);
    const statuses = w.cloudflare.requests.map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([429, 500, 500]);
    expect(service.logs.some((l) => l.msg === 'Cloudflare call failed; retrying')).toBe(true);
  });

  it('keeps reacting after its watch is dropped, expires (410 Gone) or the API server restarts', async () => {
    const { w, s } = await boot(4);
    const lists = () => w.kube.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && !/watch=(1|true)/.test(r.query)).length;
    w.kube.dropWatches();
    w.kube.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitIps(w, [2, 3, 4].map(simNodeIp));
    expect(lists()).toBe(1);

    w.kube.sendWatchError({ code: 410, reason: 'Expired', message: 'too old resource version: 1 (99)' });
    await waitFor(() => lists() === 2 || undefined, 10_000, 're-list');
    expect(s.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('re-listing'))).toBe(true);
    w.kube.deleteNode('worker-2');
    await waitIps(w, [3, 4].map(simNodeIp));

    await w.kube.restart();
    w.kube.deleteNode('worker-3');
    await waitIps(w, [simNodeIp(4)]);
  });

  it('stops cleanly on SIGTERM', async () => {
    const { s } = await boot(1);
    const t0 = Date.now();
    expect(await s.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('refuses bad configuration before any API call, naming every bad variable', async () => {
    world = await startWorld({ nodes: 1 });
    const w = world;
    service = startService({ ...w.env, DNS_TTL: '7', DNS_HOSTNAMES: 'ok.example.com,-bad-.example.com', MAX_RETRIES: 'many' });
    expect(await service.exit).toBe(2);
    const err = service.stderr.join('\n');
    expect(err).toContain('DNS_TTL="7"');
    expect(err).toContain('-bad-.example.com');
    expect(err).toContain('MAX_RETRIES="many"');
    expect(w.cloudflare.requests).toHaveLength(0);
    expect(w.kube.requests).toHaveLength(0);
  });
});

describe('liveness', () => {
  it('a hanging Cloudflare cuts a reconcile short and retries it: the loop stays alive, /health says why', async () => {
    world = await startWorld({ nodes: 1 });
    const w = world;
    service = startService({ ...w.env, LIVENESS_TIMEOUT: '6' }); // a reconcile may take half of it: 3 s
    await service.waitReady();
    w.cloudflare.setLatency(8_000);
    w.kube.createNode(makeNode('worker-7', { externalIP: simNodeIp(7) }));
    const s = service;
    const lives: number[] = [];
    const failed = await waitFor(async () => {
      lives.push((await s.get('/health/live')).status);
      const h = (await s.get('/health')).body as { lastError?: { code: string; message: string } | null };
      return h.lastError?.code === 'EPI_RECONCILE_TIMEOUT' ? h.lastError : undefined;
    }, 20_000, 'a reconcile cut short');
    expect(failed.message).toMatch(/took longer than 3 s/);
    expect(lives.every((c) => c === 200)).toBe(true);
    w.cloudflare.setLatency(0);
    await waitFor(() => w.cloudflare.records(w.zoneId).some((r) => r.content === simNodeIp(7)) || undefined, 20_000, "worker-7's record");
    expect((await s.get('/health/live')).status).toBe(200);
  });
});
