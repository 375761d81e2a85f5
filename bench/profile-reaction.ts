/**
 * Where a reaction's time goes (the service's side of `reactionLatency`):
 *
 *   node dist-bench/bench/profile-reaction.js [--nodes 1000] [--removals 30] [--out FILE]
 *
 * Starts the simulators and the service (1,000 plain nodes, 3 hostnames), then retires nodes one
 * after another (both autoscaler taints, 300 ms apart) while a CPU profile is recorded through the
 * inspector, and prints the functions with the most self time and the reaction p50.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { caTaints, patchTaints } from './lib/kube-http.js';
import { progress } from './lib/progress.js';
import { settle } from './reaction.js';
import { Service } from './lib/service.js';
import { round, summarize } from './lib/stats.js';
import { HOSTNAMES, nodeIp, nodeName, startBenchWorld, stopBenchWorld } from './lib/world.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => Number(argv[argv.indexOf(name) + 1] ?? def) || def;
const nodes = arg('--nodes', 1000);
const world = await startBenchWorld({ nodes, realistic: false });
const service = new Service({ env: world.env, inspectable: true });
try {
  await service.waitReady();
  await settle(world, nodes * HOSTNAMES.length);
  const inspector = await service.inspector();
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.start');
  const samples: number[] = [];
  for (let i = 1; i <= arg('--removals', 30); i++) {
    await patchTaints(world.kube.url, nodeName(i), caTaints('first'));
    await sleep(300);
    const gone = new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        if (!world.cloudflare.records().some((r) => r.content === nodeIp(i))) { clearInterval(timer); resolve(performance.now()); }
      }, 1);
    });
    const t0 = await patchTaints(world.kube.url, nodeName(i), caTaints('both'));
    samples.push((await gone) - t0);
    await sleep(200);
  }
  const { profile } = await inspector.call('Profiler.stop') as { profile: Profile };
  progress(`reaction (profiler running, polled every 1 ms): ${JSON.stringify(summarize(samples))}`);
  const out = argv[argv.indexOf('--out') + 1];
  if (argv.includes('--out') && out) writeFileSync(out, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const key = `${f?.functionName || '(anonymous)'} ${f?.url.split('/').pop() ?? ''}:${f?.lineNumber ?? 0}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) process.stdout.write(`${String(round(us / 1000, 1)).padStart(8)} ms  ${k}\n`);
} finally {
  await service.stop();
  await stopBenchWorld(world);
}
