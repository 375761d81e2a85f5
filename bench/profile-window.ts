/**
 * Where a steady heartbeat load's CPU goes, without start-up in the picture:
 *
 *   node dist-bench/bench/profile-window.js [--nodes 2000] [--warmup 20] [--seconds 10] [--out FILE]
 *
 * Starts the simulators and the service (realistic nodes), runs heartbeats (every node every
 * 10 s) for the warm-up, then records a CPU profile through the inspector over the next window
 * of heartbeats and prints the functions with the most self time (FILE: the whole profile).
 */
import { heartbeats } from './lib/heartbeat.js';
import { cpuSeconds } from './lib/proc.js';
import { reportProfile, type Profile } from './lib/cpu-profile.js';
import { progress } from './lib/progress.js';
import { Service } from './lib/service.js';
import { round } from './lib/stats.js';
import { startBenchWorld, stopBenchWorld } from './lib/world.js';


const argv = process.argv.slice(2);
const arg = (name: string, def: number) => Number(argv[argv.indexOf(name) + 1] ?? def) || def;
const nodes = arg('--nodes', 2000);
const world = await startBenchWorld({ nodes, realistic: true });
const service = new Service({ env: world.env, inspectable: true });
try {
  await service.waitReady();
  const inspector = await service.inspector();
  await heartbeats(world.kube, nodes, nodes / 10, arg('--warmup', 20) * 1000);
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.start');
  const cpu0 = cpuSeconds(service.pid);
  const run = await heartbeats(world.kube, nodes, nodes / 10, arg('--seconds', 10) * 1000);
  const cpu = cpuSeconds(service.pid) - cpu0;
  const { profile } = await inspector.call('Profiler.stop') as { profile: Profile };
  progress(`${run.events} heartbeats in the window: ${round(cpu, 2)} CPU-s, ${round(cpu / (run.events / 1000), 3)} core-s per 1,000 events (profiler running)`);
  reportProfile(profile, argv, 25);
} finally {
  await service.stop();
  await stopBenchWorld(world);
}
