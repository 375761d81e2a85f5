/**
 * Active health checks with the real service process: simulated nodes have loopback InternalIPs
 * (127.0.0.41…), and the tests open, close, hang or 503 those ports. Nothing outside 127.0.0.0/8
 * is ever probed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

let world: World | undefined;
let service: ServiceProcess | undefined;
const servers: Server[] = [];

afterEach(async () => {
  await service?.stop('SIGKILL');
  service = undefined;
  await world?.stop();
  world = undefined;
  for (const s of servers.splice(0)) { s.closeAllConnections(); s.close(); }
});

const internal = (i: number) => `127.0.0.${40 + i}`;

/** An ingress on one node's InternalIP: answers 200, or 503 while `healthy` is false. */
class Ingress {
  healthy = true;
  port = 0;
  private server: Server | undefined;
  constructor(readonly address: string) {}
  async open(port = 0): Promise<this> {
    this.server = createServer((_req, res) => res.writeHead(this.healthy ? 200 : 503).end());
    servers.push(this.server);
    await new Promise<void>((r) => this.server!.listen(port, this.address, () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

async function boot(n: number, env: Record<string, string>): Promise<{ w: World; s: ServiceProcess; ingresses: Ingress[] }> {
  world = await startWorld({ nodes: 0 });
  const w = world;
  const ingresses: Ingress[] = [];
  let port = 0;
  for (let i = 1; i <= n; i++) {
    const ingress = await new Ingress(internal(i)).open(port);
    port = ingress.port; // the same port on every node, as a DaemonSet's hostPort
    ingresses.push(ingress);
    w.kube.createNode(makeNode(`worker-${i}`, { externalIP: simNodeIp(i), internalIP: internal(i) }));
  }
  service = startService({
    ...w.env, HEALTH_PROBE: `http://:${port}/healthz`, PROBE_INTERVAL_SECONDS: '0.2', PROBE_TIMEOUT_SECONDS: '0.5',
    PROBE_FAILURES: '2', PROBE_SUCCESSES: '2', ...env,
  });
  await service.waitReady(30_000);
  return { w, s: service, ingresses };
}

const ips = (w: World, name = 'app.example.com') =>
  w.cloudflare.records(w.zoneId).filter((r) => r.name === name && r.type === 'A').map((r) => r.content).sort();
const waitIps = (w: World, want: string[], name = 'app.example.com') =>
  waitFor(() => JSON.stringify(ips(w, name)) === JSON.stringify([...want].sort()) || undefined, 15_000, `${name} ${want.join(',')} (have ${ips(w, name).join(',')})`);
const eventReasons = (w: World) => (w.kube.listObjects('events.events.k8s.io', 'default') as Array<{ reason?: string; regarding?: { name?: string } }>)
  .map((e) => `${e.regarding?.name} ${e.reason}`);

describe('health probes (HEALTH_PROBE)', () => {
  it('a node whose ingress answers 503 leaves DNS after the failures in a row, with its evidence, and comes back', async () => {
    const { w, s, ingresses } = await boot(3, { MAX_UNHEALTHY_FRACTION: '1' });
    await waitIps(w, [1, 2, 3].map(simNodeIp));
    ingresses[1]!.healthy = false;
    await waitIps(w, [1, 3].map(simNodeIp));
    expect(await s.waitForLog((l) => l.action === 'delete')).toMatchObject({ node: 'worker-2', reason: 'probe-failed' });
    const health = (await s.get('/health')).body as { probes: Array<Record<string, unknown>>; hostnames: Array<{ records: unknown[]; notServedBy?: Record<string, string[]> }> };
    expect(health.probes.find((p) => p.node === 'worker-2')).toMatchObject({
      address: internal(2), state: 'failing', consecutiveFailures: expect.any(Number), last: { ok: false, detail: 'HTTP 503', latencyMs: expect.any(Number) },
    });
    expect(health.hostnames[0]?.notServedBy).toEqual({ 'worker-2': ['probe-failed'] });
    await waitFor(() => eventReasons(w).includes('worker-2 ProbeFailed') || undefined, 10_000, 'ProbeFailed Event');
    const metrics = await fetch(`http://127.0.0.1:${Number(/port (\d+)/.exec(s.lines.find((l) => l.includes('health server listening')) ?? '')?.[1])}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/epictetus_probe_results_total\{result="failure"\} [1-9]/);
    expect(metrics).toMatch(/epictetus_probe_duration_seconds_count [1-9]/);

    ingresses[1]!.healthy = true;
    await waitIps(w, [1, 2, 3].map(simNodeIp));
    await waitFor(() => eventReasons(w).includes('worker-2 ProbeRecovered') || undefined, 10_000, 'ProbeRecovered Event');
  }, 60_000);

  it('a closed port or a hanging listener fails the probe too', async () => {
    const { w, ingresses } = await boot(3, { MAX_UNHEALTHY_FRACTION: '1' });
    await waitIps(w, [1, 2, 3].map(simNodeIp));
    ingresses[0]!.close();
    const hang = createServer(() => undefined); // accepts, never answers
    servers.push(hang);
    ingresses[2]!.close();
    await new Promise<void>((r) => hang.listen(ingresses[2]!.port, internal(3), () => r()));
    await waitIps(w, [simNodeIp(2)]);
  }, 60_000);

  it('when most nodes fail their probes together, the mass-removal guard keeps most records (at most MAX_UNHEALTHY_FRACTION go)', async () => {
    const { w, s, ingresses } = await boot(4, {});
    await waitIps(w, [1, 2, 3, 4].map(simNodeIp));
    for (const i of ingresses) i.healthy = false;
    const held = await s.waitForLog((l) => l.msg.startsWith('MASS-REMOVAL GUARD'));
    expect(held).toMatchObject({ wouldBe: 'probe-failed' });
    await new Promise((r) => setTimeout(r, 1_500)); // several more probe rounds, all failing
    expect(ips(w).length).toBeGreaterThanOrEqual(2); // 0.5 of 4 at most, whatever the order the failures came in
  }, 60_000);

  it('a Service sets its own probe with epictetus.io/probe, or none', async () => {
    const { w, ingresses } = await boot(2, { MAX_UNHEALTHY_FRACTION: '1', HEALTH_PROBE: '', DNS_HOSTNAMES: 'app.example.com' });
    const svc = (name: string, probe: string) => ({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', annotations: {
        'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': `${name}.example.com`, 'epictetus.io/probe': probe,
      } }, spec: { ports: [{ port: 80 }] },
    });
    w.kube.createObject('services', svc('probed', `http://:${ingresses[0]!.port}/`));
    w.kube.createObject('services', svc('plain', 'none'));
    await waitIps(w, [1, 2].map(simNodeIp), 'probed.example.com');
    ingresses[1]!.healthy = false;
    await waitIps(w, [simNodeIp(1)], 'probed.example.com');
    expect(ips(w, 'plain.example.com')).toEqual([1, 2].map(simNodeIp));
    expect(ips(w)).toEqual([1, 2].map(simNodeIp)); // DNS_HOSTNAMES without HEALTH_PROBE: not probed
  }, 60_000);
});

describe('a node being deleted', () => {
  it('leaves DNS as soon as it has a deletionTimestamp, before it is gone', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    w.kube.createNode({ ...makeNode('worker-3', { externalIP: simNodeIp(3) }), metadata: { name: 'worker-3', finalizers: ['karpenter.sh/termination'] } } as object);
    service = startService({ ...w.env, MAX_UNHEALTHY_FRACTION: '1' });
    await service.waitReady();
    await waitIps(w, [1, 2, 3].map(simNodeIp));
    w.kube.deleteNode('worker-3'); // a finalizer holds it: only marked
    await waitIps(w, [1, 2].map(simNodeIp));
    expect(w.kube.getNode('worker-3')).toBeDefined();
    expect(await service.waitForLog((l) => l.action === 'delete')).toMatchObject({ node: 'worker-3', reason: 'being-deleted' });
  }, 60_000);
});
