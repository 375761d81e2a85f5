/**
 * 5. Health checks: how fast a node leaves DNS when traffic could no longer land on it, and what
 * watching and probing cost.
 *
 * - probeDetection: a node's ingress port closes (its listener on the node's loopback InternalIP
 *   goes away) → the deletion of its records committed. PROBE_INTERVAL_SECONDS=1,
 *   PROBE_FAILURES=2.
 * - endpointDetection: the ingress Pod on a node turns not ready (its kubelet's report through
 *   the Pod's status, in the Kubernetes simulator, which then updates the EndpointSlice) → the
 *   deletion committed.
 * - healthCheckCost: 1,000 nodes probed every 5 s against the same cluster without probes (CPU
 *   and RSS, same run); 2,000 EndpointSlices watched against none (retained heap per endpoint).
 *
 * Every probe goes to a loopback address (127.0.0.0/8): nothing outside this machine is touched.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { World } from '../src/cli/world.js';
import { makeNode } from '../src/sim/kube/index.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { progress, sleep, waitFor } from './lib/progress.js';
import { Service } from './lib/service.js';
import { mib, round, summarize } from './lib/stats.js';
import type { BenchOptions, BenchOutcome, Target } from './lib/types.js';
import { HOSTNAMES, nodeIp, nodeName, startBenchWorld, stopBenchWorld } from './lib/world.js';

/** A loopback address per node: 127.1.x.y for node i (i < 65,536). */
const internalIp = (i: number) => `127.1.${(i >> 8) & 255}.${i & 255}`;

/** Resolves with performance.now() at the commit that deletes `ip`'s record on every hostname. */
function deletionOf(world: World, ip: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const names = new Set<string>();
    const timer = setTimeout(() => { off(); reject(new Error(`records of ${ip} not deleted within ${timeoutMs} ms`)); }, timeoutMs);
    const off = world.cloudflare.onCommit((c) => {
      if (c.kind !== 'delete' || c.record.content !== ip) return;
      names.add(c.record.name);
      if (names.size === HOSTNAMES.length) {
        clearTimeout(timer);
        off();
        resolve(performance.now());
      }
    });
  });
}

const recordsOf = (world: World, ip: string) => world.cloudflare.records(world.zoneId).filter((r) => r.content === ip).length;

/** The same port on each node's own loopback address, as a DaemonSet's hostPort. */
async function listeners(n: number, port = 0): Promise<{ servers: Server[]; port: number }> {
  const servers: Server[] = [];
  for (let i = 1; i <= n; i++) {
    const s = createServer((_req, res) => res.writeHead(200).end());
    await new Promise<void>((r) => s.listen(port, internalIp(i), () => r()));
    port = (s.address() as AddressInfo).port;
    servers.push(s);
  }
  return { servers, port };
}

function closeAll(servers: readonly Server[]): void {
  for (const s of servers) { s.closeAllConnections(); s.close(); }
}

async function nodesWithInternalIps(world: World, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) world.kube.createNode(makeNode(nodeName(i), { externalIP: nodeIp(i), internalIP: internalIp(i) }));
}

export async function probeDetection(opts: BenchOptions): Promise<BenchOutcome> {
  const samples = opts.quick ? 3 : 20;
  const nodes = 3;
  const world = await startBenchWorld({ nodes: 0, realistic: false });
  await nodesWithInternalIps(world, nodes);
  const { servers, port } = await listeners(nodes);
  const service = new Service({ env: {
    ...world.env, HEALTH_PROBE: `http://:${port}/healthz`, PROBE_INTERVAL_SECONDS: '1', PROBE_FAILURES: '2', PROBE_SUCCESSES: '1',
    PROBE_TIMEOUT_SECONDS: '0.5', MAX_UNHEALTHY_FRACTION: '1',
  } });
  const ms: number[] = [];
  try {
    await service.waitReady();
    await waitFor(() => world.cloudflare.records(world.zoneId).length === nodes * HOSTNAMES.length, 30_000, 'records', 20);
    for (let k = 0; k < samples; k++) {
      const i = 1 + (k % nodes);
      const deleted = deletionOf(world, nodeIp(i), 30_000);
      await sleep(Math.random() * 1000); // anywhere in the probe interval
      const t0 = performance.now();
      servers[i - 1]!.closeAllConnections();
      await new Promise<void>((r) => servers[i - 1]!.close(() => r()));
      ms.push((await deleted) - t0);
      const s = createServer((_req, res) => res.writeHead(200).end());
      await new Promise<void>((r) => s.listen(port, internalIp(i), () => r()));
      servers[i - 1] = s;
      await waitFor(() => recordsOf(world, nodeIp(i)) === HOSTNAMES.length, 30_000, 'the record back', 20);
      progress(`probeDetection: ${k + 1}/${samples}: ${round(ms[k] ?? NaN, 0)} ms`);
    }
  } finally {
    await service.stop();
    closeAll(servers);
    await stopBenchWorld(world);
  }
  const s = summarize(ms);
  const target: Target = { target: 'port closed → record deleted, p50 ≤ 2,200 ms (PROBE_INTERVAL_SECONDS=1, PROBE_FAILURES=2)', met: s.p50 <= 2200 };
  return {
    params: { samples, nodes, probeIntervalS: 1, probeFailures: 2, cloudflareLoadBalancingBestIntervalS: { pro: 60, business: 15, enterprise: 10 } },
    results: { detectionMs: s },
    targets: [target],
  };
}

/** An ingress Pod per node behind Service default/ingress; the simulator keeps its EndpointSlice. */
function ingressPods(world: World, n: number): void {
  world.kube.createObject('services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingress', namespace: 'default' },
    spec: { selector: { app: 'ingress' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  for (let i = 1; i <= n; i++) {
    world.kube.createObject('pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `ingress-${i}`, namespace: 'default', labels: { app: 'ingress' } },
      spec: { nodeName: nodeName(i), containers: [{ name: 'ingress', image: 'ingress' }] },
    });
    podReady(world, i, true, `10.244.${i >> 8}.${i & 255}`);
  }
}

function podReady(world: World, i: number, ready: boolean, podIP?: string): void {
  world.kube.patchObject('pods', `ingress-${i}`, {
    status: { phase: 'Running', ...(podIP ? { podIP } : {}), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }, { namespace: 'default', type: 'merge' });
}

export async function endpointDetection(opts: BenchOptions): Promise<BenchOutcome> {
  const samples = opts.quick ? 5 : 50;
  const nodes = 5;
  const world = await startBenchWorld({ nodes, realistic: false });
  ingressPods(world, nodes);
  const service = new Service({ env: { ...world.env, SERVE_FROM_ENDPOINTS_OF: 'default/ingress', MAX_UNHEALTHY_FRACTION: '1' } });
  const ms: number[] = [];
  try {
    await service.waitReady();
    await waitFor(() => world.cloudflare.records(world.zoneId).length === nodes * HOSTNAMES.length, 30_000, 'records', 20);
    for (let k = 0; k < samples; k++) {
      const i = 1 + (k % nodes);
      const deleted = deletionOf(world, nodeIp(i), 10_000);
      const t0 = performance.now();
      podReady(world, i, false);
      ms.push((await deleted) - t0);
      podReady(world, i, true);
      await waitFor(() => recordsOf(world, nodeIp(i)) === HOSTNAMES.length, 10_000, 'the record back', 5);
      await sleep(100);
    }
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
  const s = summarize(ms);
  return {
    params: { samples, nodes },
    results: { detectionMs: s },
    targets: [{ target: 'endpoint not ready → record deleted, p99 ≤ 250 ms', met: s.p99 <= 250 }],
  };
}

/** CPU (s) and RSS (bytes) of a service over `seconds` once ready and settled. */
async function idleCost(service: Service, seconds: number): Promise<{ cpuS: number; rss: number }> {
  await service.waitReady();
  await sleep(3_000);
  const cpu0 = cpuSeconds(service.pid);
  await sleep(seconds * 1000);
  return { cpuS: cpuSeconds(service.pid) - cpu0, rss: rssBytes(service.pid) };
}

export async function healthCheckCost(opts: BenchOptions): Promise<BenchOutcome> {
  const nodes = opts.quick ? 100 : 1000;
  const seconds = opts.quick ? 10 : 60;
  const slices = opts.quick ? 200 : 2000;
  const world = await startBenchWorld({ nodes: 0, realistic: false });
  await nodesWithInternalIps(world, nodes);
  const { servers, port } = await listeners(nodes);
  const results: Record<string, number> = {};
  try {
    const plain = new Service({ env: { ...world.env } });
    const base = await idleCost(plain, seconds).finally(() => plain.stop());
    const probed = new Service({ env: { ...world.env, HEALTH_PROBE: `http://:${port}/healthz`, PROBE_INTERVAL_SECONDS: '5' } });
    const withProbes = await idleCost(probed, seconds).finally(() => probed.stop());
    results.baselineCpuS = round(base.cpuS, 2);
    results.probingCpuS = round(withProbes.cpuS, 2);
    results.probingCoreShare = round(((withProbes.cpuS - base.cpuS) / seconds) * 100, 2);
    results.baselineRssMiB = mib(base.rss);
    results.probingRssMiB = mib(withProbes.rss);
    results.probingRssAddedMiB = round(mib(withProbes.rss - base.rss), 1);
    progress(`healthCheckCost: probing ${nodes} nodes every 5 s: +${results.probingCoreShare}% of a core, +${results.probingRssAddedMiB} MiB`);

    // EndpointSlices written by hand (no Service selects these Pods-less slices): one endpoint each.
    for (let k = 0; k < slices; k++) {
      world.kube.createObject('endpointslices.discovery.k8s.io', {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
        metadata: { name: `bench-${k}`, namespace: 'default', labels: { 'kubernetes.io/service-name': `bench-${k % 50}` } },
        endpoints: [{ addresses: [`10.250.${k >> 8}.${k & 255}`], nodeName: nodeName(1 + (k % nodes)), conditions: { ready: true, serving: true, terminating: false } }],
      });
    }
    const heap = async (env: Record<string, string>) => {
      const s = new Service({ env: { ...world.env, ...env }, inspectable: true });
      try {
        await s.waitReady();
        await sleep(2_000);
        return (await (await s.inspector()).memoryUsage(true)).heapUsed;
      } finally {
        await s.stop();
      }
    };
    const without = await heap({ WATCH_ENDPOINT_SLICES: 'false' });
    const watched = await heap({ WATCH_ENDPOINT_SLICES: 'true' });
    results.endpointSlices = slices;
    results.retainedHeapPerEndpointBytes = Math.round((watched - without) / slices);
  } finally {
    closeAll(servers);
    await stopBenchWorld(world);
  }
  return {
    params: { nodes, probeIntervalS: 5, seconds, endpointSlices: slices, endpointsPerSlice: 1 },
    results,
    targets: [
      { target: `probing ${nodes} nodes every 5 s uses < 5 % of one core (beyond the same service without probes)`, met: (results.probingCoreShare ?? Infinity) < 5 },
      { target: `probing ${nodes} nodes adds < 10 MB RSS`, met: (results.probingRssAddedMiB ?? Infinity) * 1.048576 < 10 },
      { target: 'a watch of EndpointSlices retains < 1 KB of heap per endpoint', met: (results.retainedHeapPerEndpointBytes ?? Infinity) < 1024 },
    ],
  };
}
