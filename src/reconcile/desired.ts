/** Every signal in, the desired state out: which IPs each hostname should have, and why not (pure). */
import type { EndpointState, HostnameSpec, NodeSnapshot, ProbeVerdict, RecordType } from '../model/types.js';
import { DEFAULT_POLICY, evaluateNode, servesHostname, type NodePolicy, type NodeVerdict } from './policy.js';
import { probeKey } from './probe-spec.js';
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
  /** Service (`namespace/name`) -> node -> what its EndpointSlices say of the node. */
  readonly endpoints?: ReadonlyMap<string, ReadonlyMap<string, EndpointState>> | undefined;
  /** probeKey(node, probe) -> the probe's verdict; a node without one is pending. */
  readonly probes?: ReadonlyMap<string, ProbeVerdict> | undefined;
}

export interface Desired {
  readonly hostnames: readonly HostnameSpec[];
  readonly types: readonly RecordType[];
  /** hostname -> record type -> ip -> serving nodes. */
  readonly targets: ReadonlyMap<string, ReadonlyMap<RecordType, IpTargets>>;
  /** One verdict per node, sorted by name. */
  readonly verdicts: readonly NodeVerdict[];
  /** hostname -> node the policy allows but this hostname does not take -> why (endpoints, probes). */
  readonly excludedFor: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
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

/** Why a node the policy allows does not serve one hostname now: its endpoints, its probe. */
function hostnameReasons(node: NodeSnapshot, spec: HostnameSpec, signals: Signals): string[] {
  const out: string[] = [];
  if (spec.serveFrom) {
    const state = signals.endpoints?.get(spec.serveFrom)?.get(node.name);
    if (state === 'terminating') out.push('endpoint-terminating');
    else if (state !== 'ready') out.push('no-ready-endpoint');
  }
  if (spec.probe) {
    const v = signals.probes?.get(probeKey(node.name, spec.probe));
    if (v?.state === 'failing') out.push('probe-failed');
    else if (v === undefined || v.state === 'pending') out.push('probe-pending');
  }
  return out;
}

/**
 * Each snapshot's verdict under a policy, kept while it cannot change by itself (no grace period
 * running): snapshots are replaced, never changed, so a node event re-evaluates only its node.
 */
const verdictsUnder = new WeakMap<NodePolicy, WeakMap<NodeSnapshot, NodeVerdict>>();

function verdict(node: NodeSnapshot, policy: NodePolicy, now: number): NodeVerdict {
  let kept = verdictsUnder.get(policy);
  if (kept === undefined) verdictsUnder.set(policy, (kept = new WeakMap()));
  const known = kept.get(node);
  if (known !== undefined) return known;
  const v = evaluateNode(node, policy, now);
  if (v.recheckAt === undefined) kept.set(node, v);
  return v;
}

const byName = (a: NodeSnapshot, b: NodeSnapshot) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The nodes sorted by name (a list arrives sorted: then only checked). */
function sortedByName(nodes: readonly NodeSnapshot[]): readonly NodeSnapshot[] {
  for (let i = 1; i < nodes.length; i++) if (byName(nodes[i - 1]!, nodes[i]!) > 0) return [...nodes].sort(byName);
  return nodes;
}

/** A hostname that takes every node the policy allows: no filter, no endpoints, no probe. */
const takesEvery = (spec: HostnameSpec) => !spec.controlPlaneOnly && spec.nodeSelector === null && !spec.serveFrom && !spec.probe;

export function desiredState(
  signals: Signals,
  types: readonly RecordType[],
  policy: NodePolicy = DEFAULT_POLICY,
  now: number = Date.now(),
): Desired {
  const sorted = sortedByName(signals.nodes);
  const verdicts = sorted.map((n) => verdict(n, policy, now));
  const clusterIps = new Map<string, string[]>();
  for (const node of sorted) for (const type of ['A', 'AAAA'] as const) for (const ip of ipsOf(node, type)) addTo(clusterIps, ip, node.name);
  const eligible = sorted.filter((_, i) => verdicts[i]?.eligible);
  const claimed = new Set(signals.hostnames.map((h) => h.name));
  const frozen = new Map<string, string>();
  for (const [name, why] of signals.inDoubt ?? []) if (!claimed.has(name)) frozen.set(name, why);
  const targets = new Map<string, ReadonlyMap<RecordType, IpTargets>>();
  const excludedFor = new Map<string, Map<string, string[]>>();
  let everyEligible: ReadonlyMap<RecordType, IpTargets> | undefined; // shared by the hostnames that take every node
  for (const spec of signals.hostnames) {
    const missing = spec.nodeSelector && signals.carriedLabels
      ? selectorKeys(spec.nodeSelector).filter((k) => !signals.carriedLabels?.has(k)) : [];
    if (missing.length > 0) {
      frozen.set(spec.name, `waiting for the node re-list that brings label ${missing.join(', ')}`);
      continue;
    }
    if (takesEvery(spec) && everyEligible !== undefined) {
      targets.set(spec.name, everyEligible);
      continue;
    }
    const serving: NodeSnapshot[] = [];
    for (const node of eligible) {
      if (!servesHostname(node, spec)) continue;
      const why = hostnameReasons(node, spec, signals);
      if (why.length === 0) serving.push(node);
      else (excludedFor.get(spec.name) ?? excludedFor.set(spec.name, new Map()).get(spec.name)!).set(node.name, why);
    }
    const byType = new Map<RecordType, Map<string, string[]>>();
    for (const type of types) {
      const ips = new Map<string, string[]>();
      for (const node of serving) for (const ip of ipsOf(node, type)) addTo(ips, ip, node.name);
      byType.set(type, ips);
    }
    targets.set(spec.name, byType);
    if (takesEvery(spec)) everyEligible = byType;
  }
  const rechecks = verdicts.map((v) => v.recheckAt).filter((t): t is number => t !== undefined);
  return {
    hostnames: signals.hostnames, types, targets, verdicts, excludedFor, clusterIps, frozen,
    recheckAt: rechecks.length > 0 ? Math.min(...rechecks) : undefined,
  };
}
