/**
 * Where the time and memory go, for a finding in bench/README.md to be checked:
 *
 *   node dist-bench/bench/diagnose.js --nodes 5000 [--plain] [--cpu-prof DIR] [--heap] [--heartbeats SECONDS] [--idle SECONDS] [--attach] [--keep-logs] [--node-arg FLAG]...
 *
 * Starts the simulators with that many nodes (realistic unless --plain) and the service, waits
 * until it is ready, prints the start-up phases and RSS, then optionally the service's heap
 * after a full GC grouped by constructor (--heap), and stops it; with --cpu-prof the service's
 * CPU profile is written to DIR when it exits (open it in Chrome DevTools or speedscope);
 * --heartbeats runs that long with every node beating every 10 s and prints RSS every 10 s;
 * --node-arg passes a Node.js option to the service (e.g. --max-old-space-size=256, --trace-gc).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { heartbeats } from './lib/heartbeat.js';
import { cpuSeconds, peakRssBytes, rssBytes } from './lib/proc.js';
import { progress } from './lib/progress.js';
import { Service } from './lib/service.js';
import { mib, round } from './lib/stats.js';
import { HOSTNAMES, startBenchWorld, stopBenchWorld } from './lib/world.js';
import { settle } from './reaction.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per (type, constructor name), largest first. */
export function summarizeHeap(text: string, top = 25): Array<{ what: string; count: number; selfMiB: number }> {
  const snap = JSON.parse(text) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + (iType ?? 0)] ?? 0] ?? '?';
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + (iName ?? 1)] ?? 0] ?? '?' : '';
    const key = `${type}${name ? ` ${name}` : ''}`;
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += snap.nodes[i + (iSize ?? 3)] ?? 0;
    groups.set(key, g);
  }
  return [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)
    .map(([what, g]) => ({ what, count: g.count, selfMiB: round(g.size / 1024 / 1024, 2) }));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const nodes = Number(arg('--nodes') ?? 5000);
  const realistic = !argv.includes('--plain');
  const cpuProf = arg('--cpu-prof');
  const world = await startBenchWorld({ nodes, realistic });
  progress(`${nodes} ${realistic ? 'realistic' : 'plain'} nodes ready; starting the service`);
  const service = new Service({
    env: world.env, inspectable: argv.includes('--heap') || argv.includes('--attach'), keepLogs: argv.includes('--keep-logs'),
    nodeArgs: [
      ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []),
      ...argv.flatMap((a, i) => (argv[i - 1] === '--node-arg' ? [a] : [])),
    ],
  });
  try {
    const readyMs = await service.waitReady();
    const logs = service.logs();
    const at = (msg: string) => {
      const t = logs.find((l) => l.msg === msg)?.time;
      return typeof t === 'string' ? Date.parse(t) - service.spawnedWall : null;
    };
    progress(`ready after ${round(readyMs)} ms; logged: starting ${at('starting epictetus')} ms, lists done ${at('first lists in: planning')} ms, first changes ${at('reconciled')} ms`);
    await settle(world, nodes * HOSTNAMES.length, 1000);
    progress(`RSS ${mib(rssBytes(service.pid))} MiB, peak ${mib(peakRssBytes(service.pid))} MiB`);
    // --attach: the inspector connected from ready on, as the memory benchmark has it during its run.
    if (argv.includes('--attach')) await (await service.inspector()).memoryUsage(true);
    const idleS = Number(arg('--idle') ?? 0);
    if (idleS > 0) {
      const cpu0 = cpuSeconds(service.pid);
      await new Promise((r) => setTimeout(r, idleS * 1000));
      progress(`idle ${idleS} s: service CPU ${round(cpuSeconds(service.pid) - cpu0, 3)} s; RSS ${mib(rssBytes(service.pid))} MiB, peak ${mib(peakRssBytes(service.pid))} MiB`);
    }
    const beatS = Number(arg('--heartbeats') ?? 0);
    if (beatS > 0) {
      const cpu0 = cpuSeconds(service.pid);
      let lastCpu = cpu0;
      const run = await heartbeats(world.kube, nodes, nodes / 10, beatS * 1000, {
        everyMs: 10_000,
        fn: (ms) => {
          const cpu = cpuSeconds(service.pid);
          progress(`${round(ms / 1000, 0)} s: RSS ${mib(rssBytes(service.pid))} MiB; CPU ${round(cpu - lastCpu, 2)} s in 10 s (${round((cpu - lastCpu) / nodes * 1000, 3)} core-s per 1,000 events)`);
          lastCpu = cpu;
        },
      });
      progress(`${run.events} heartbeats; service CPU ${round(cpuSeconds(service.pid) - cpu0, 2)} s; peak RSS ${mib(peakRssBytes(service.pid))} MiB`);
    }
    if (argv.includes('--heap')) {
      const inspector = await service.inspector();
      const usage = await inspector.memoryUsage(true);
      progress(`after GC: heap used ${mib(usage.heapUsed)} MiB, external ${mib(usage.external)} MiB, RSS ${mib(rssBytes(service.pid))} MiB`);
      const text = await inspector.heapSnapshot();
      const file = join(tmpdir(), `epictetus-${nodes}.heapsnapshot`);
      writeFileSync(file, text);
      progress(`heap snapshot: ${file}`);
      for (const g of summarizeHeap(text)) process.stdout.write(`${String(g.selfMiB).padStart(8)} MiB ${String(g.count).padStart(9)}  ${g.what}\n`);
    }
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
  if (cpuProf) progress(`CPU profile written to ${cpuProf}`);
  if (argv.includes('--keep-logs')) progress(`the service's stdout and stderr: ${service.logDir}`);
}

await main();
