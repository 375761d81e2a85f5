/** What a team needs before trusting it with production DNS: HA, metrics, Events, dry run, plan. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { MAIN, startService, waitFor, type ServiceProcess } from '../helpers/service.js';
import { tagProxy, type TaggedRequest } from '../helpers/tag-proxy.js';

const BOTH = [
  { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' },
  { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' },
];
const run = promisify(execFile);
let world: World | undefined;
const services: ServiceProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
  await world?.stop();
  world = undefined;
});

const ips = (w: World) => w.cloudflare.records(w.zoneId).map((r) => r.content).sort();
const waitIps = (w: World, want: string[], timeoutMs = 10_000) =>
  waitFor(() => JSON.stringify(ips(w)) === JSON.stringify([...want].sort()) || undefined, timeoutMs, `records ${want.join(',')}`);

async function role(s: ServiceProcess): Promise<string> {
  const h = await s.get('/health');
  return String((h.body.leadership as { role: string }).role);
}

describe('two replicas with leader election', () => {
  it('only the leader writes; a killed leader is replaced within the lease, a stopped one at once', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    const log: TaggedRequest[] = [];
    const start = async (tag: string) => {
      const proxy = await tagProxy(w.cloudflare.baseUrl, tag, log);
      cleanups.push(proxy.close);
      const s = startService({ ...w.env, CLOUDFLARE_API_BASE_URL: proxy.url, LEADER_ELECTION: 'true', LEASE_NAMESPACE: 'default' });
      services.push(s);
      return s;
    };
    const a = await start('a');
    await a.waitReady();
    await waitIps(w, [1, 2, 3].map(simNodeIp));
    const b = await start('b');
    await b.waitReady(); // a synced follower is ready too
    expect([await role(a), await role(b)]).toEqual(['leader', 'follower']);
    // a follower leaves Cloudflare alone (but for checking its token at start-up)
    expect(log.filter((r) => r.tag === 'b' && !r.path.endsWith('/user/tokens/verify'))).toEqual([]);
    const lease = w.kube.getObject('leases.coordination.k8s.io', 'epictetus', 'default') as { spec: { holderIdentity: string; leaseDurationSeconds: number } };
    expect(lease.spec.leaseDurationSeconds).toBe(15);
    expect(((await a.get('/health')).body.leadership as { identity: string }).identity).toBe(lease.spec.holderIdentity);

    // kill the leader without a release: the follower takes over within the lease duration
    await a.stop('SIGKILL');
    const killedAt = Date.now();
    w.kube.patchNode('worker-1', { spec: { taints: BOTH } });
    await waitIps(w, [2, 3].map(simNodeIp), 25_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000 + 2_000 * 2 + 1_000);
    expect(await role(b)).toBe('leader');

    // a third replica joins; SIGTERM the leader: the lease is released and the other leads within seconds
    const c = await start('c');
    await c.waitReady();
    expect(await role(c)).toBe('follower');
    expect(await b.stop('SIGTERM')).toBe(0);
    const stoppedAt = Date.now();
    await waitFor(async () => (await role(c)) === 'leader' || undefined, 8_000, 'takeover');
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    w.kube.patchNode('worker-2', { spec: { taints: BOTH } });
    await waitIps(w, [simNodeIp(3)]);

    // every write came from the one leader of its time, and none was repeated (judged once every
    // answer has passed the proxy: the simulator's commit shows a moment before its answer does)
    await waitFor(() => log.every((r) => r.status !== 0) || undefined, 5_000, 'every answer');
    const writes = log.filter((r) => r.method !== 'GET');
    const tagsInOrder = writes.map((r) => r.tag).filter((t, i, all) => all[i - 1] !== t);
    expect(tagsInOrder).toEqual(['a', 'b', 'c'].filter((t) => writes.some((r) => r.tag === t)));
    expect(writes.filter((r) => r.status !== 200).map((r) => `${r.tag} ${r.method} ${r.path} ${r.status}`)).toEqual([]);
    const commits = w.cloudflare.commits.map((x) => `${x.kind} ${x.record.content}`);
    expect(new Set(commits).size).toBe(commits.length);
  }, 90_000);
});

describe('observability', () => {
  it('metrics after a scripted scale-down show what happened, Events land on the Node', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    const s = startService(w.env);
    services.push(s);
    await s.waitReady();
    w.kube.patchNode('worker-2', { spec: { taints: BOTH } });
    await waitIps(w, [simNodeIp(1), simNodeIp(3)]);
    w.kube.deleteNode('worker-2');
    await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('node worker-2 was deleted'));

    const port = Number(/port (\d+)/.exec(s.lines.find((l) => l.includes('health server listening')) ?? '')?.[1]);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(metric('epictetus_reaction_latency_seconds_count')).toBe(1);
    expect(metric('epictetus_reaction_latency_seconds_sum')).toBeLessThan(1);
    expect(metric('epictetus_removal_lead_time_seconds_count')).toBe(1);
    expect(metric('epictetus_nodes{state="eligible",reason=""}')).toBe(2);
    expect(metric('epictetus_managed_records{hostname="app.example.com"}')).toBe(2);
    expect(metric('epictetus_reconciles_total{result="changed"}')).toBe(2);
    expect(metric('epictetus_cloudflare_requests_total{method="POST",status="200"}')).toBe(2);
    expect(metric('epictetus_cloudflare_requests_total{method="GET",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(metric('epictetus_leader')).toBe(1);
    expect(metric('epictetus_last_successful_sync_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metric('epictetus_records_held{guard="safety-floor"}')).toBe(0);

    const events = w.kube.listObjects('events.events.k8s.io', 'default') as Array<Record<string, unknown>>;
    const removed = events.find((e) => e.reason === 'DNSRecordsRemoved');
    expect(removed).toMatchObject({
      reportingController: 'epictetus', type: 'Normal', action: 'RemoveDNSRecords',
      regarding: { kind: 'Node', name: 'worker-2' },
    });
    expect(String(removed?.note)).toContain(`app.example.com A ${simNodeIp(2)} (both-ca-taints)`);
  });

  it('a bad Service annotation gets a Warning Event on the Service; kubectl describe shows Node events', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    w.kube.createObject('services', {
      metadata: { name: 'shop', namespace: 'default', annotations: { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': 'shop.example.com', 'epictetus.io/ttl': '7' } },
      spec: { ports: [{ port: 80 }] },
    });
    const s = startService(w.env);
    services.push(s);
    await s.waitReady();
    await waitFor(() => (w.kube.listObjects('events.events.k8s.io', 'default') as Array<Record<string, unknown>>)
      .find((e) => e.reason === 'InvalidDNSAnnotations'), 10_000, 'service event');
    w.kube.patchNode('worker-1', { spec: { taints: BOTH } });
    await waitIps(w, [simNodeIp(2)]);
    const { stdout } = await run('/usr/bin/kubectl', ['--kubeconfig', w.kubeconfigPath, 'describe', 'node', 'worker-1'], { timeout: 60_000 });
    expect(stdout).toMatch(/DNSRecordsRemoved/);
  });
});

describe('dry run and plan', () => {
  it('DRY_RUN=true changes nothing and logs each change it would make', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    const s = startService({ ...w.env, DRY_RUN: 'true' });
    services.push(s);
    await s.waitReady();
    await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('DRY RUN: would have created app.example.com A'));
    expect(w.cloudflare.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(w.cloudflare.records(w.zoneId)).toEqual([]);
  });

  it('epictetus plan shows the diff and exits 2, then 0 once applied', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    const env = { ...process.env, ...w.env, LOG_LEVEL: 'ERROR' };
    const plan = (...args: string[]) => run(process.execPath, [MAIN, 'plan', ...args], { env, timeout: 30_000 })
      .then((r) => ({ code: 0, stdout: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }));
    const first = await plan();
    expect(first.code).toBe(2);
    expect(first.stdout).toContain('app.example.com (zone example.com');
    expect(first.stdout).toMatch(/\+ A +203\.0\.113\.11 +worker-1 +node-eligible/);
    expect(first.stdout).toContain('2 change(s) in 1 zone(s).');
    const json = await plan('--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ changes: 2, zones: [{ zone: 'example.com', creates: [{ content: simNodeIp(1) }, { content: simNodeIp(2) }] }] });
    expect(w.cloudflare.requests.filter((r) => r.method !== 'GET')).toEqual([]);

    const s = startService(w.env);
    services.push(s);
    await s.waitReady();
    const after = await plan();
    expect(after).toMatchObject({ code: 0 });
    expect(after.stdout).toContain('No changes.');
  });
});
