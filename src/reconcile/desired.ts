/** Which IPs each hostname should have, and which nodes are excluded and why (pure). */
import type { HostnameSpec, NodeSnapshot, RecordType } from '../model/types.js';
import { DEFAULT_POLICY, evaluateNode, servesHostname, type NodePolicy, type NodeVerdict } from './policy.js';

/** ip -> names of the nodes that have it (sorted). */
export type IpTargets = ReadonlyMap<string, readonly string[]>;

export interface Desired {
  readonly hostnames: readonly HostnameSpec[];
  readonly types: readonly RecordType[];
  /** hostname -> record type -> ip -> serving nodes. */
  readonly targets: ReadonlyMap<string, ReadonlyMap<RecordType, IpTargets>>;
  /** One verdict per node, sorted by name. */
  readonly verdicts: readonly NodeVerdict[];
  /** Every external IP of every node now in the cluster, eligible or not -> node names. */
  readonly clusterIps: IpTargets;
  /** The earliest moment a verdict may change by itself (a readiness grace ends), if any. */
  readonly recheckAt: number | undefined;
}

function addTo(map: Map<string, string[]>, ip: string, node: string): void {
  const list = map.get(ip);
  if (list === undefined) map.set(ip, [node]);
  else if (!list.includes(node)) list.push(node);
}

function ipsOf(node: NodeSnapshot, type: RecordType): readonly string[] {
  return type === 'A' ? node.ipv4 : node.ipv6;
}

export function desiredState(
  nodes: Iterable<NodeSnapshot>,
  hostnames: readonly HostnameSpec[],
  types: readonly RecordType[],
  policy: NodePolicy = DEFAULT_POLICY,
  now: number = Date.now(),
): Desired {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const verdicts = sorted.map((n) => evaluateNode(n, policy, now));
  const clusterIps = new Map<string, string[]>();
  for (const node of sorted) for (const type of types) for (const ip of ipsOf(node, type)) addTo(clusterIps, ip, node.name);
  const eligible = sorted.filter((_, i) => verdicts[i]?.eligible);
  const targets = new Map<string, ReadonlyMap<RecordType, IpTargets>>();
  for (const spec of hostnames) {
    const byType = new Map<RecordType, Map<string, string[]>>();
    for (const type of types) {
      const ips = new Map<string, string[]>();
      for (const node of eligible) if (servesHostname(node, spec)) for (const ip of ipsOf(node, type)) addTo(ips, ip, node.name);
      byType.set(type, ips);
    }
    targets.set(spec.name, byType);
  }
  const rechecks = verdicts.map((v) => v.recheckAt).filter((t): t is number => t !== undefined);
  return { hostnames, types, targets, verdicts, clusterIps, recheckAt: rechecks.length > 0 ? Math.min(...rechecks) : undefined };
}
