/** The simulated cluster and Cloudflare zone a benchmark runs against (in this process). */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';

export const HOSTNAMES = ['app.example.com', 'www.example.com', 'api.example.com'] as const;

export function nodeName(i: number): string {
  return `node-${i}`;
}

/**
 * Node i's ExternalIP, unique up to 131,072 nodes. 198.18.0.0/15 is reserved for benchmarks
 * (RFC 2544): it can never reach a real host.
 */
export function nodeIp(i: number): string {
  return `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
}

export function benchNode(i: number, realistic: boolean): object {
  return makeNode(nodeName(i), { externalIP: nodeIp(i), realistic });
}

/** Both simulators (as `startWorld` wires them: rate limiting off, 1,000,000 records per zone) and `nodes` Nodes. */
export async function startBenchWorld(opts: { nodes: number; realistic: boolean }): Promise<World> {
  const world = await startWorld({ nodes: 0, hostnames: [...HOSTNAMES] });
  for (let i = 1; i <= opts.nodes; i++) world.kube.createNode(benchNode(i, opts.realistic));
  return world;
}

/** Stops both simulators and removes the kubeconfig's temporary directory. */
export async function stopBenchWorld(world: World): Promise<void> {
  await world.stop();
  rmSync(dirname(world.kubeconfigPath), { recursive: true, force: true });
}
