/**
 * Where a steady heartbeat load's CPU goes, without start-up in the picture:
 *
 *   node dist-bench/bench/profile-window.js [--nodes 2000] [--warmup 20] [--seconds 10] [--out FILE]
 *
 * Starts the simulators and the service (realistic nodes), runs heartbeats (every node every
 * 10 s) for the warm-up, then records a CPU profile through the inspector over the next window
 * of heartbeats and prints the functions with the most self time (FILE: the whole profile).
 */
import { writeFileSync } from 'node:fs';
import { heartbeats } from './lib/heartbeat.js';
import { cpuSeconds } from './lib/proc.js';
import { progress } from './lib/progress.js';
import { Service } from './lib/service.js';
import { round } from './lib/stats.js';
import { startBenchWorld, stopBenchWorld } from './lib/world.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

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
  const out = argv[argv.indexOf('--out') + 1];
  if (argv.includes('--out') && out) writeFileSync(out, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const key = `${f?.functionName || '(anonymous)'} ${f?.url.split('/').pop() ?? ''}:${f?.lineNumber ?? 0}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${String(round(us / 1000, 1)).padStart(8)} ms  ${k}\n`);
} finally {
  await service.stop();
  await stopBenchWorld(world);
}
