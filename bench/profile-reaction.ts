/**
 * Where a reaction's time goes (the service's side of `reactionLatency`):
 *
 *   node dist-bench/bench/profile-reaction.js [--nodes 1000] [--removals 30] [--out FILE]
 *
 * Starts the simulators and the service (1,000 plain nodes, 3 hostnames), then retires nodes one
 * after another (both autoscaler taints, 300 ms apart) while a CPU profile is recorded through the
 * inspector, and prints the functions with the most self time and the reaction p50.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { caTaints, patchTaints } from './lib/kube-http.js';
import { reportProfile, type Profile } from './lib/cpu-profile.js';
import { progress } from './lib/progress.js';
import { settle } from './reaction.js';
import { Service } from './lib/service.js';
import { summarize } from './lib/stats.js';
import { HOSTNAMES, nodeIp, nodeName, startBenchWorld, stopBenchWorld } from './lib/world.js';


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
  reportProfile(profile, argv, 30);
} finally {
  await service.stop();
  await stopBenchWorld(world);
}
