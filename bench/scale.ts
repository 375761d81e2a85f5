/**
 * 3. Memory and start-up, and 4. the event storm, on one cluster of realistic nodes (~16 KB of
 * JSON each): time to ready, RSS from the OS and heap through the inspector after the initial
 * sync and after a long run of heartbeats, retained heap per node, then CPU and reconciles
 * under a storm of heartbeat-only updates.
 */
import { performance } from 'node:perf_hooks';
import type { World } from '../src/cli/world.js';
import { isFirstListPage, kindOf } from './lib/cloudflare-log.js';
import { heartbeats } from './lib/heartbeat.js';
import type { MemoryUsage } from './lib/inspector.js';
import { cpuSeconds, peakRssBytes, rssBytes } from './lib/proc.js';
import { progress, sleep, waitFor } from './lib/progress.js';
import { Service } from './lib/service.js';
import { MiB, mib, round } from './lib/stats.js';
import type { BenchOptions, BenchOutcome, Target } from './lib/types.js';
import { HOSTNAMES, startBenchWorld, stopBenchWorld } from './lib/world.js';
import { settle } from './reaction.js';

type Heap = { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number };

const heapOf = (m: MemoryUsage): Heap => ({
  heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external + m.arrayBuffers),
});

/** Log times relative to spawn: where start-up time goes. */
function startupPhases(service: Service, readyMs: number): Record<string, number | null> {
  const logs = service.logs();
  const at = (msg: string): number | null => {
    const line = logs.find((l) => l.msg === msg);
    return typeof line?.time === 'string' ? Date.parse(line.time) - service.spawnedWall : null;
  };
  return {
    processStartedLoggingMs: at('starting epictetus'),
    tokenVerifiedMs: at('Cloudflare API token verified'),
    kubernetesListsDoneMs: at('first lists in: planning'),
    firstSyncAppliedMs: at('reconciled'),
    readyMs: round(readyMs),
  };
}

function fullSyncsSince(world: World, from: number): number {
  return world.cloudflare.requests.slice(from).filter(isFirstListPage).length;
}

/** The service's reconciles (all results) from /metrics. */
function reconciles(service: Service): Promise<number> {
  return service.metric('epictetus_reconciles_total');
}

/** Heap of a service with `nodes` realistic nodes after its first sync and after one more full sync. */
async function baseline(nodes: number): Promise<{ afterSync: MemoryUsage; steady: MemoryUsage }> {
  const world = await startBenchWorld({ nodes, realistic: true });
  const intervalS = 5;
  const service = new Service({ env: { ...world.env, DNS_SYNC_INTERVAL: String(intervalS) }, inspectable: true });
  try {
    await service.waitReady();
    await settle(world, nodes * HOSTNAMES.length, 1000);
    const inspector = await service.inspector();
    const afterSync = await inspector.memoryUsage(true);
    const from = world.cloudflare.requests.length;
    await waitFor(() => fullSyncsSince(world, from) >= 1, (intervalS + 30) * 1000, 'a full sync', 100);
    await sleep(1000);
    const steady = await inspector.memoryUsage(true);
    return { afterSync, steady };
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
}

export async function memoryAndStorm(opts: BenchOptions): Promise<{ memoryAndStartup: BenchOutcome; eventStorm: BenchOutcome }> {
  const nodes = opts.quick ? 500 : 5000;
  const baselineNodes = opts.quick ? 50 : 500;
  const heartbeatEveryS = 10;
  const runS = opts.runSeconds ?? (opts.quick ? 10 : 600);
  const stormS = opts.quick ? 5 : 60;
  const stormPerS = opts.quick ? 500 : 1000;
  const records = nodes * HOSTNAMES.length;

  progress(`memory: baseline service with ${baselineNodes} realistic nodes`);
  const base = await baseline(baselineNodes);

  progress(`memory: creating ${nodes} realistic nodes`);
  let t = performance.now();
  const world = await startBenchWorld({ nodes, realistic: true });
  const createS = (performance.now() - t) / 1000;
  const nodeBytes = Buffer.byteLength(JSON.stringify(world.kube.getNode('node-1')));
  let service = new Service({ env: world.env, inspectable: true });
  try {
    progress(`memory: starting the service (${nodes} nodes, ${HOSTNAMES.length} hostnames, empty zone)`);
    const coldReadyMs = await service.waitReady();
    const coldPhases = startupPhases(service, coldReadyMs);
    const coldCpuS = cpuSeconds(service.pid);
    const peakAtStartup = peakRssBytes(service.pid);
    await settle(world, records, 2000);
    const rssAfterSync = rssBytes(service.pid);
    const inspector = await service.inspector();
    const afterSync = await inspector.memoryUsage(true);
    const rssAfterSyncGc = rssBytes(service.pid);

    // --- heartbeats: every node every 10 s
    const perS = nodes / heartbeatEveryS;
    progress(`memory: ${runS} s of heartbeats (${perS}/s: every node every ${heartbeatEveryS} s)`);
    const cpu0 = cpuSeconds(service.pid);
    const rec0 = await reconciles(service);
    const req0 = world.cloudflare.requests.length;
    // Starts just after the forced collection that measured the heap: RSS then regrows as V8 sees fit.
    const rssTimeline: Array<[number, number]> = [[0, mib(rssAfterSyncGc)]];
    t = performance.now();
    // No forced collection during the run: it would hand memory back to the OS and make RSS
    // look smaller than a production process's (V8 keeps freed pages pooled).
    const run = await heartbeats(world.kube, nodes, perS, runS * 1000, {
      everyMs: Math.min(10_000, (runS * 1000) / 4),
      fn: (elapsed) => {
        rssTimeline.push([round(elapsed / 1000, 0), mib(rssBytes(service.pid))]);
      },
    });
    await sleep(2000); // let the service drain the last events
    const runCpu = cpuSeconds(service.pid) - cpu0;
    const runReconciles = (await reconciles(service)) - rec0;
    const runFullSyncs = fullSyncsSince(world, req0);
    const runListCalls = world.cloudflare.requests.slice(req0).filter((r) => kindOf(r) === 'list-records').length;
    const rssEnd = rssBytes(service.pid);
    const end = await inspector.memoryUsage(true);
    const rssEndGc = rssBytes(service.pid);
    const peak = peakRssBytes(service.pid);
    rssTimeline.push([round((performance.now() - t) / 1000, 0), mib(rssEnd)]);

    // --- the storm
    progress(`storm: ${stormS} s of heartbeat-only updates at ${stormPerS}/s`);
    const stormCpu0 = cpuSeconds(service.pid);
    const stormRec0 = await reconciles(service);
    const stormReq0 = world.cloudflare.requests.length;
    const storm = await heartbeats(world.kube, nodes, stormPerS, stormS * 1000);
    await sleep(2000);
    const stormCpu = cpuSeconds(service.pid) - stormCpu0;
    const stormReconciles = (await reconciles(service)) - stormRec0;
    const stormFullSyncs = fullSyncsSince(world, stormReq0);
    const stormWrites = world.cloudflare.requests.slice(stormReq0).filter((r) => r.method !== 'GET').length;

    // --- a restart against the zone in sync
    await service.stop();
    progress('memory: restarting the service (zone in sync)');
    service = new Service({ env: world.env });
    const warmReadyMs = await service.waitReady();
    const warmPhases = startupPhases(service, warmReadyMs);
    const warmCpuS = cpuSeconds(service.pid);
    const warmPeak = peakRssBytes(service.pid);

    // --- figures and targets
    const extra = nodes - baselineNodes;
    const perNodeAfterSync = (afterSync.heapUsed - base.afterSync.heapUsed) / extra;
    const perNodeSteady = (end.heapUsed - base.steady.heapUsed) / extra;
    const heapGrowth = end.heapUsed - afterSync.heapUsed;
    const rssGrowth = rssEndGc - rssAfterSyncGc;
    const heapTolerance = Math.max(MiB, afterSync.heapUsed * 0.01);
    const rssTolerance = Math.max(5 * MiB, rssAfterSyncGc * 0.05);
    // Over the run, after start-up's garbage is gone: what a memory limit must hold for hours.
    const steadyRss = Math.max(...rssTimeline.slice(1).map(([, m]) => m * MiB));
    const cpuPerK = stormCpu / (storm.events / 1000);
    const eventReconciles = stormReconciles - stormFullSyncs;
    const ready = (label: string, ms: number, phases: Record<string, number | null>): Target => ({
      target: `ready in <= 3 s (${label})`,
      met: ms <= 3000,
      why: `ready after ${round(ms / 1000, 2)} s; phases (ms from spawn): ${JSON.stringify(phases)}`,
    });
    const memoryTargets: Target[] = [
      ready(`${nodes} nodes, empty zone: ${records} records created`, coldReadyMs, coldPhases),
      ready(`${nodes} nodes, restart with the zone in sync`, warmReadyMs, warmPhases),
      {
        target: `RSS <= 150 MB after the initial sync, <= 120 MB after the ${runS} s heartbeat run`,
        met: rssAfterSync <= 150 * 1e6 && rssEnd <= 120 * 1e6,
        why: `${round(rssAfterSync / 1e6)} MB after the initial sync (${round(rssAfterSyncGc / 1e6)} MB once garbage-collected), ${round(rssEnd / 1e6)} MB after the run; at most ${round(steadyRss / 1e6)} MB during it`,
      },
      {
        target: 'peak RSS (VmHWM) <= 150 MB, start-up included: what a memory limit must allow',
        met: peak <= 150 * 1e6,
        why: `peak ${round(peak / 1e6)} MB (${mib(peak)} MiB), reached during start-up (${round(peakAtStartup / 1e6)} MB by ready)`,
      },
      {
        target: 'retained heap <= 1 KB (1,000 bytes) per node (after the initial sync and after the run)',
        met: perNodeAfterSync <= 1000 && perNodeSteady <= 1000,
        why: `${Math.round(perNodeAfterSync)} bytes/node after the initial sync, ${Math.round(perNodeSteady)} bytes/node after the run (slope between ${baselineNodes} and ${nodes} nodes, 3 records each)`,
      },
      {
        target: `no growth over the run (post-GC heap within max(1 MiB, 1%); post-GC RSS within max(5 MiB, 5%))`,
        met: heapGrowth <= heapTolerance && rssGrowth <= rssTolerance,
        why: `heap ${heapGrowth >= 0 ? '+' : ''}${mib(heapGrowth)} MiB, RSS ${rssGrowth >= 0 ? '+' : ''}${mib(rssGrowth)} MiB over ${runS} s / ${run.events} heartbeats`,
      },
    ];
    const stormTargets: Target[] = [
      {
        target: 'zero reconciles triggered by heartbeat-only updates',
        met: eventReconciles === 0 && stormWrites === 0,
        why: `${stormReconciles} reconciles in the window, ${stormFullSyncs} of them periodic full syncs; ${stormWrites} Cloudflare writes`,
      },
      {
        target: 'CPU <= 0.1 core-second per 1,000 heartbeat-only events',
        met: cpuPerK <= 0.1,
        why: `${round(cpuPerK, 3)} core-s per 1,000 events (${round(stormCpu, 2)} s for ${storm.events} events)`,
      },
    ];
    return {
      memoryAndStartup: {
        params: {
          nodes, realisticNodeJsonBytes: nodeBytes, hostnames: HOSTNAMES.length, records, baselineNodes,
          heartbeatEveryS, heartbeatRunS: runS, dnsSyncIntervalS: 60, simulatorNodeCreationS: round(createS, 1),
          heapMeasuredWith: 'V8 inspector (SIGUSR1 on a service started with --inspect-port=127.0.0.1:0), after forced full GCs',
        },
        results: {
          startup: {
            emptyZone: { ...coldPhases, cpuSecondsToReady: round(coldCpuS, 2) },
            zoneInSync: { ...warmPhases, cpuSecondsToReady: round(warmCpuS, 2) },
            peakRssAtReadyMiB: mib(peakAtStartup), restartPeakRssMiB: mib(warmPeak),
          },
          afterInitialSync: { rssMiB: mib(rssAfterSync), rssAfterGcMiB: mib(rssAfterSyncGc), ...heapOf(afterSync) },
          afterRun: { rssMiB: mib(rssEnd), rssAfterGcMiB: mib(rssEndGc), ...heapOf(end) },
          peakRssMiB: mib(peak),
          baseline: { nodes: baselineNodes, afterSync: heapOf(base.afterSync), steady: heapOf(base.steady) },
          retainedHeapPerNodeBytes: { afterInitialSync: Math.round(perNodeAfterSync), afterRun: Math.round(perNodeSteady) },
          growthOverRun: { heapMiB: mib(heapGrowth), rssAfterGcMiB: mib(rssGrowth) },
          rssTimelineMiB: rssTimeline,
          heartbeats: {
            events: run.events, perSecond: round(run.perSecond), maxLagMs: round(run.maxLagMs),
            serviceCpuS: round(runCpu, 2), cpuSPer1000Events: round(runCpu / (run.events / 1000), 3),
            reconciles: runReconciles, fullSyncs: runFullSyncs,
            cloudflareListCallsPerFullSync: runFullSyncs > 0 ? round(runListCalls / runFullSyncs, 2) : null,
          },
        },
        targets: memoryTargets,
      },
      eventStorm: {
        params: { nodes, realistic: true, seconds: stormS, eventsPerSecondAsked: stormPerS },
        results: {
          events: storm.events, perSecond: round(storm.perSecond), maxLagMs: round(storm.maxLagMs),
          serviceCpuS: round(stormCpu, 2), cpuSPer1000Events: round(cpuPerK, 3),
          serviceCpuShareOfOneCore: round(stormCpu / storm.seconds, 3),
          reconciles: stormReconciles, fullSyncs: stormFullSyncs, reconcilesTriggeredByEvents: eventReconciles, cloudflareWrites: stormWrites,
        },
        targets: stormTargets,
      },
    };
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
}
