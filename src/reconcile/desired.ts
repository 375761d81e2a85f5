/** Which IPs each hostname should have (pure). */
import type { HostnameSpec, NodeSnapshot, RecordType } from '../model/types.js';
import { evaluateNode, type NodeVerdict } from './policy.js';

/** ip -> names of the eligible nodes that have it (sorted). */
export type IpTargets = ReadonlyMap<string, readonly string[]>;

export interface Desired {
  readonly hostnames: readonly HostnameSpec[];
  readonly types: readonly RecordType[];
  /** hostname -> record type -> ip -> nodes. */
  readonly targets: ReadonlyMap<string, ReadonlyMap<RecordType, IpTargets>>;
  /** One verdict per node, sorted by name. */
  readonly verdicts: readonly NodeVerdict[];
  /** Every external IP of every node now in the cluster, eligible or not -> node names. */
  readonly clusterIps: IpTargets;
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
): Desired {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const verdicts = sorted.map(evaluateNode);
  const clusterIps = new Map<string, string[]>();
  const eligible = new Map<RecordType, Map<string, string[]>>(types.map((t) => [t, new Map()]));
  sorted.forEach((node, i) => {
    for (const type of types) {
      for (const ip of ipsOf(node, type)) {
        addTo(clusterIps, ip, node.name);
        if (verdicts[i]?.eligible) addTo(eligible.get(type) as Map<string, string[]>, ip, node.name);
      }
    }
  });
  const targets = new Map<string, ReadonlyMap<RecordType, IpTargets>>();
  for (const spec of hostnames) targets.set(spec.name, eligible);
  return { hostnames, types, targets, verdicts, clusterIps };
}
