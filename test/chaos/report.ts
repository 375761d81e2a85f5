/** The figures a soak reports: cluster, zones, Cloudflare traffic, leadership and each replica's life. */
import { eligible } from './model.js';
import type { Soak } from './soak.js';

export function clusterSummary(soak: Soak): Record<string, number> {
  const nodes = [...soak.model.nodes.values()];
  const hostnames = [...soak.model.hostnames.values()];
  return {
    nodesEver: nodes.length, nodesAtEnd: nodes.filter((n) => n.exists).length, eligibleAtEnd: nodes.filter(eligible).length,
    hostnamesClaimedAtEnd: hostnames.filter((h) => h.claim === 'claimed').length, hostnamesInDoubtAtEnd: hostnames.filter((h) => h.claim === 'doubt').length,
    hostnamesEver: hostnames.length, zones: soak.model.zones.size, cnamesAtEnd: soak.churnWorld.cnames.size,
  };
}

export function zoneSummary(soak: Soak): Array<Record<string, string>> {
  return [...soak.model.zones.values()].map((z) => ({ name: z.name, status: z.status, permission: z.permission, account: z.account.slice(0, 12) }));
}

export function cloudflareSummary(soak: Soak): Record<string, unknown> {
  const commits = soak.world.cloudflare.commits;
  const byKind = (k: string) => commits.filter((c) => c.kind === k && !soak.churnWorld.driverCommits.has(`${c.kind} ${c.record.id}`)).length;
  const batches = soak.requests.filter((r) => r.method === 'POST' && r.path.includes('/batch'));
  const statuses: Record<string, number> = {};
  for (const b of batches) statuses[String(b.status || 'reset/none')] = (statuses[String(b.status || 'reset/none')] ?? 0) + 1;
  const writesByReplica: Record<string, number> = {};
  for (const b of batches) writesByReplica[b.tag] = (writesByReplica[b.tag] ?? 0) + 1;
  return {
    commits: { create: byKind('create'), update: byKind('update'), delete: byKind('delete') },
    requests: soak.requests.length, kubeRequests: soak.kubeCallCount, batchCalls: batches.length, batchStatuses: statuses, batchCallsByReplica: writesByReplica,
    recordsAtEnd: soak.world.cloudflare.records().length,
  };
}

export function leadershipSummary(soak: Soak): Record<string, unknown> {
  return { mode: soak.mode, holderChanges: soak.holderChangeCount, identities: soak.identities.size, config: soak.config, ownersEver: [...soak.ownersEver] };
}

export function replicaSummary(soak: Soak): Array<Record<string, unknown>> {
  return soak.slots.map((s) => {
    const incs = s.incarnations;
    const counters: Record<string, number> = {};
    for (const inc of incs) for (const [k, v] of Object.entries(inc.counters)) counters[k] = (counters[k] ?? 0) + v;
    const lives = incs.map((i) => ((i.exitedAt ?? Date.now()) - i.startedAt) / 1000);
    const rss = incs.flatMap((i) => i.rss.map(([, kb]) => kb));
    const longest = incs[lives.indexOf(Math.max(...lives))];
    const first = longest?.rss[0]?.[0] ?? 0;
    const q = ((longest?.rss[longest.rss.length - 1]?.[0] ?? first) - first) / 4;
    const peakMb = (a: number, b: number) =>
      Math.round(Math.max(0, ...(longest?.rss ?? []).filter(([t]) => t >= first + a * q && t <= first + b * q).map(([, kb]) => kb)) / 1024);
    return {
      replica: s.tag, incarnations: incs.length, killed: incs.filter((i) => i.endedBy === 'sigkill').length,
      stopped: incs.filter((i) => i.endedBy === 'sigterm').length,
      longestLifeS: Math.round(Math.max(0, ...lives)), maxRssMb: Math.round(Math.max(0, ...rss) / 1024),
      minRssMb: rss.length > 0 ? Math.round(Math.min(...rss) / 1024) : null,
      // RSS peaks of the longest-lived incarnation per quarter of its life (what the memory rule compares).
      longestRssPeaksMb: longest ? [peakMb(0, 1), peakMb(1, 2), peakMb(2, 3), peakMb(3, 4)] : [],
      clockOffsetS: soak.clockOffset(s.tag) ?? null,
      log: counters,
    };
  });
}
