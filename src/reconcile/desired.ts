/** Every signal in, the desired state out: which IPs each hostname should have, and why not (pure). */
import type { HostnameSpec, NodeSnapshot, RecordType } from '../model/types.js';
import { DEFAULT_POLICY, evaluateNode, servesHostname, type NodePolicy, type NodeVerdict } from './policy.js';
import { selectorKeys } from './selector.js';

/** ip -> names of the nodes that have it (sorted). */
export type IpTargets = ReadonlyMap<string, readonly string[]>;

/** What the sources know, as small snapshots. Adding a signal adds a field here. */
export interface Signals {
  readonly nodes: readonly NodeSnapshot[];
  /** The hostnames claimed now (DNS_HOSTNAMES and Services), settled. */
  readonly hostnames: readonly HostnameSpec[];
  /** Hostnames whose claim is in doubt (a Service's annotation that does not parse): left alone. */
  readonly inDoubt?: ReadonlyMap<string, string> | undefined;
  /**
   * The node label keys every node snapshot carries. A hostname whose selector reads another key
   * waits for the re-list that brings it (undefined: every key is carried).
   */
  readonly carriedLabels?: ReadonlySet<string> | undefined;
}

export interface Desired {
  readonly hostnames: readonly HostnameSpec[];
  readonly types: readonly RecordType[];
  /** hostname -> record type -> ip -> serving nodes. */
  readonly targets: ReadonlyMap<string, ReadonlyMap<RecordType, IpTargets>>;
  /** One verdict per node, sorted by name. */
  readonly verdicts: readonly NodeVerdict[];
  /** Every external IP of every node now in the cluster, eligible or not -> node names. */
  readonly clusterIps: IpTargets;
  /** hostname -> why nothing may be written for it now (its records are left as they are). */
  readonly frozen: ReadonlyMap<string, string>;
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
  signals: Signals,
  types: readonly RecordType[],
  policy: NodePolicy = DEFAULT_POLICY,
  now: number = Date.now(),
): Desired {
  const sorted = [...signals.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const verdicts = sorted.map((n) => evaluateNode(n, policy, now));
  const clusterIps = new Map<string, string[]>();
  for (const node of sorted) for (const type of ['A', 'AAAA'] as const) for (const ip of ipsOf(node, type)) addTo(clusterIps, ip, node.name);
  const eligible = sorted.filter((_, i) => verdicts[i]?.eligible);
  const claimed = new Set(signals.hostnames.map((h) => h.name));
  const frozen = new Map<string, string>();
  for (const [name, why] of signals.inDoubt ?? []) if (!claimed.has(name)) frozen.set(name, why);
  const targets = new Map<string, ReadonlyMap<RecordType, IpTargets>>();
  for (const spec of signals.hostnames) {
    const missing = spec.nodeSelector && signals.carriedLabels
      ? selectorKeys(spec.nodeSelector).filter((k) => !signals.carriedLabels?.has(k)) : [];
    if (missing.length > 0) {
      frozen.set(spec.name, `waiting for the node re-list that brings label ${missing.join(', ')}`);
      continue;
    }
    const byType = new Map<RecordType, Map<string, string[]>>();
    for (const type of types) {
      const ips = new Map<string, string[]>();
      for (const node of eligible) if (servesHostname(node, spec)) for (const ip of ipsOf(node, type)) addTo(ips, ip, node.name);
      byType.set(type, ips);
    }
    targets.set(spec.name, byType);
  }
  const rechecks = verdicts.map((v) => v.recheckAt).filter((t): t is number => t !== undefined);
  return {
    hostnames: signals.hostnames, types, targets, verdicts, clusterIps, frozen,
    recheckAt: rechecks.length > 0 ? Math.min(...rechecks) : undefined,
  };
}
