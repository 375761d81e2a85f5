/**
 * 2. API economy: Cloudflare requests by method at start-up, per idle full sync, for 100 nodes
 * retired at once and for 100 nodes joining at once.
 */
import type { World } from '../src/cli/world.js';
import type { RequestLogEntry } from '../src/sim/cloudflare/index.js';
import { countRequests, isFirstListPage, kindOf, writes, type RequestCounts } from './lib/cloudflare-log.js';
import { FIRST_TAINT, SECOND_TAINT } from './lib/kube-http.js';
import { progress, waitFor } from './lib/progress.js';
import { Service } from './lib/service.js';
import { round } from './lib/stats.js';
import type { BenchOptions, BenchOutcome, Target } from './lib/types.js';
import { benchNode, HOSTNAMES, nodeIp, nodeName, startBenchWorld, stopBenchWorld } from './lib/world.js';
import { settle } from './reaction.js';

/** Cloudflare's Free plan: operations per batch call. */
const BATCH_LIMIT = 200;
/** The largest per_page Cloudflare accepts when listing DNS records. */
const MAX_PER_PAGE = 5_000_000;

/** Waits until `count` commits of `kind` touching `ips` happened after `from`, then for a quiet API. */
async function waitForCommits(world: World, from: number, kind: 'create' | 'delete', ips: ReadonlySet<string>, count: number): Promise<void> {
  await waitFor(() => world.cloudflare.commits.slice(from).filter((c) => c.kind === kind && ips.has(c.record.content)).length >= count,
    60_000, `${count} ${kind} commits`, 20);
  await settle(world, world.cloudflare.records(world.zoneId).length);
}

function startupWindow(world: World, service: Service, readyMs: number): RequestLogEntry[] {
  const readyWall = service.spawnedWall + readyMs;
  return world.cloudflare.requests.filter((r) => r.at >= service.spawnedWall && r.at <= readyWall);
}

function batchTarget(what: string, c: RequestCounts, operations: number): Target {
  const minimum = Math.ceil(operations / BATCH_LIMIT);
  const batches = c.byKind.batch ?? 0;
  const otherWrites = writes(c) - batches;
  const met = batches === minimum && otherWrites === 0;
  return {
    target: `${what}: the minimum number of batch calls at ${BATCH_LIMIT} operations each (${operations} operations -> ${minimum})`,
    met,
    ...(met ? {} : { why: `${batches} batch calls (sizes ${c.batchSizes.join(', ')}) and ${otherWrites} other writes` }),
  };
}

export async function apiEconomy(opts: BenchOptions): Promise<BenchOutcome> {
  const nodes = opts.quick ? 200 : 1000;
  const syncs = opts.quick ? 3 : 10;
  const batchOf = opts.quick ? 20 : 100;
  const syncIntervalS = 2;
  const records = nodes * HOSTNAMES.length;
  const world = await startBenchWorld({ nodes, realistic: false });
  let service = new Service({ env: { ...world.env, DNS_SYNC_INTERVAL: String(syncIntervalS) } });
  try {
    // --- cold start-up (empty zone), then idle full syncs every 2 s
    progress(`api: ${nodes} nodes, ${HOSTNAMES.length} hostnames, empty zone; DNS_SYNC_INTERVAL=${syncIntervalS}`);
    const coldReadyMs = await service.waitReady();
    const cold = countRequests(startupWindow(world, service, coldReadyMs));
    await waitFor(() => world.cloudflare.records(world.zoneId).length === records, 30_000, 'the zone to be complete');
    progress(`api: waiting for ${syncs} idle full syncs`);
    const mark = world.cloudflare.requests.length;
    const firstPages = (): number[] =>
      world.cloudflare.requests.flatMap((r, i) => (i >= mark && isFirstListPage(r) ? [i] : []));
    const starts = await waitFor(() => {
      const found = firstPages();
      return found.length >= syncs + 1 && found;
    }, (syncs + 5) * syncIntervalS * 1000 + 30_000, `${syncs} full syncs`, 50);
    const idleEntries = world.cloudflare.requests.slice(starts[0], starts[syncs]);
    const idle = countRequests(idleEntries);
    const perSync = Object.fromEntries(Object.entries(idle.byMethod).map(([m, n]) => [m, round(n / syncs, 2)]));
    await service.stop();

    // --- warm start-up (zone in sync), then 100 nodes retiring and 100 joining, each in one tick.
    // A long sync interval keeps periodic syncs out of these windows.
    service = new Service({ env: { ...world.env, DNS_SYNC_INTERVAL: '3600' } });
    progress('api: restarting the service against the zone in sync (DNS_SYNC_INTERVAL=3600)');
    const warmReadyMs = await service.waitReady();
    const warm = countRequests(startupWindow(world, service, warmReadyMs));
    await settle(world, records);

    progress(`api: ${batchOf} nodes retired at once`);
    let from = world.cloudflare.requests.length;
    let commitsFrom = world.cloudflare.commits.length;
    const retiring = Array.from({ length: batchOf }, (_, k) => k + 1);
    const now = String(Math.floor(Date.now() / 1000));
    for (const i of retiring) {
      world.kube.patchNode(nodeName(i), {
        spec: { taints: [{ key: FIRST_TAINT, value: now, effect: 'PreferNoSchedule' }, { key: SECOND_TAINT, value: now, effect: 'NoSchedule' }] },
      }, 'merge');
    }
    await waitForCommits(world, commitsFrom, 'delete', new Set(retiring.map(nodeIp)), batchOf * HOSTNAMES.length);
    const retire = countRequests(world.cloudflare.requests.slice(from));

    progress(`api: ${batchOf} nodes joining at once`);
    from = world.cloudflare.requests.length;
    commitsFrom = world.cloudflare.commits.length;
    const joining = Array.from({ length: batchOf }, (_, k) => nodes + k + 1);
    for (const i of joining) world.kube.createNode(benchNode(i, false));
    await waitForCommits(world, commitsFrom, 'create', new Set(joining.map(nodeIp)), batchOf * HOSTNAMES.length);
    const join = countRequests(world.cloudflare.requests.slice(from));

    const idleOnlyLists = idleEntries.every((r) => kindOf(r) === 'list-records');
    const listsPerSync = (idle.byKind['list-records'] ?? 0) / syncs;
    const minPages = Math.ceil(records / MAX_PER_PAGE);
    const idleMet = writes(idle) === 0 && idleOnlyLists && listsPerSync === minPages;
    const targets: Target[] = [
      {
        target: `idle full sync: only list calls, ${minPages} page(s) each at the largest page size (${records} records), no writes`,
        met: idleMet,
        ...(idleMet
          ? { why: `per_page=${idle.listPerPage.join(',')}: one page holds the zone (Cloudflare accepts up to ${MAX_PER_PAGE})` }
          : { why: `per sync: ${JSON.stringify(perSync)}; kinds ${JSON.stringify(idle.byKind)}; per_page ${idle.listPerPage.join(',')}` }),
      },
      batchTarget(`${batchOf} nodes retired at once`, retire, batchOf * HOSTNAMES.length),
      batchTarget(`${batchOf} nodes joining at once`, join, batchOf * HOSTNAMES.length),
      batchTarget('start-up with an empty zone', cold, records),
    ];
    return {
      params: {
        nodes, hostnames: HOSTNAMES.length, records, idleSyncs: syncs, dnsSyncIntervalS: syncIntervalS, nodesAtOnce: batchOf,
        batchLimit: BATCH_LIMIT, changesAppliedInOneTick: true,
      },
      results: {
        startupEmptyZone: { ...cold, readyMs: round(coldReadyMs) },
        startupZoneInSync: { ...warm, readyMs: round(warmReadyMs) },
        idleFullSync: { syncs, perSyncByMethod: perSync, total: idle },
        retireAtOnce: retire,
        joinAtOnce: join,
      },
      targets,
    };
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
}
