/** Plain data shared by every layer. No behaviour lives here. */

/** A parsed Kubernetes label selector (see reconcile/selector.ts). */
export type Requirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'absent' };

export interface LabelSelector {
  readonly text: string;
  readonly requirements: readonly Requirement[];
}

export type RecordType = 'A' | 'AAAA';
export const RECORD_TYPES: readonly RecordType[] = ['A', 'AAAA'];

export type ReadyStatus = 'True' | 'False' | 'Unknown';

/** What the controller keeps of a Node: never the whole object. */
export interface NodeSnapshot {
  readonly name: string;
  /** metadata.uid: Events about the node refer to it. */
  readonly uid: string | undefined;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  /** Taint key -> value ('' when none); effects matter to no rule. */
  readonly taints: Readonly<Record<string, string>>;
  readonly ready: ReadyStatus;
  /** While the node is not Ready: when its Ready condition last changed (ms epoch), if the API said. */
  readonly readySince: number | undefined;
  /** Why an address found outside status.addresses was not used, if one was rejected. */
  readonly addressProblem: string | undefined;
  /** The value of Epictetus' delay-deletion annotation, when the node carries it. */
  readonly hold?: string | undefined;
  readonly unschedulable: boolean;
  /** metadata.deletionTimestamp is set: the node is going away. */
  readonly deleting?: boolean;
  /** The first InternalIP, where health probes reach the node from the pod network. */
  readonly internalIp?: string | undefined;
  /** Only the labels some rule looks at. */
  readonly labels: Readonly<Record<string, string>>;
}

/** What Epictetus keeps of a Service: who it is and its epictetus.io/ annotations. */
export interface ServiceSnapshot {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A hostname the controller is responsible for, with the record settings it wants. */
export interface HostnameSpec {
  readonly name: string;
  readonly ttl: number;
  readonly proxied: boolean;
  /** Only nodes labelled control-plane (or master) serve it. */
  readonly controlPlaneOnly: boolean;
  /** Only nodes matching this label selector serve it. */
  readonly nodeSelector: LabelSelector | null;
  /** Who claimed it: `env` (DNS_HOSTNAMES) or `service <namespace>/<name>`. */
  readonly source: string;
  /** Only nodes hosting a ready endpoint of this Service (`namespace/name`) serve it. */
  readonly serveFrom?: string | null;
  /** Only nodes that answer this health probe serve it. */
  readonly probe?: ProbeSpec | null;
}

/** An active health check: a TCP connect, or an HTTP(S) GET that must answer 2xx or 3xx. */
export interface ProbeSpec {
  readonly kind: 'tcp' | 'http' | 'https';
  readonly port: number;
  /** The path of an HTTP(S) probe (starts with /); '' for tcp. */
  readonly path: string;
  /** As written in HEALTH_PROBE or the annotation, canonical: the probe's identity. */
  readonly text: string;
}

/** What the EndpointSlices of one Service say of one node. */
export type EndpointState = 'ready' | 'terminating' | 'not-ready';

/** What Epictetus keeps of an EndpointSlice: its Service and, per node, its endpoints' state. */
export interface EndpointSliceSnapshot {
  /** `namespace/name` of the Service the slice belongs to. */
  readonly service: string;
  readonly nodes: Readonly<Record<string, EndpointState>>;
}

/** A probe target's verdict, with its evidence. */
export interface ProbeVerdict {
  /** healthy: serves; failing: left after PROBE_FAILURES failures; pending: a new target, not yet PROBE_SUCCESSES successes. */
  readonly state: 'healthy' | 'failing' | 'pending';
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly last?: { readonly ok: boolean; readonly at: number; readonly latencyMs: number; readonly detail: string };
}

/** A DNS record as the provider reports it. */
export interface DnsRecord {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly comment: string | null;
}

/** A record to create. */
export interface RecordCreate {
  readonly name: string;
  readonly type: RecordType;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly comment: string;
  readonly node: string | null;
  readonly reason: string;
}

/** A change to an existing record: adoption (comment) and/or settings. */
export interface RecordUpdate {
  readonly record: DnsRecord;
  readonly comment: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly node: string | null;
  readonly reason: string;
}

export interface RecordDelete {
  readonly record: DnsRecord;
  readonly node: string | null;
  readonly reason: string;
  /** True when only health reasons (not a decision to retire the node) remove it. */
  readonly health?: boolean;
}

export interface Changes {
  readonly creates: readonly RecordCreate[];
  readonly updates: readonly RecordUpdate[];
  readonly deletes: readonly RecordDelete[];
}

export function hasChanges(c: Changes): boolean {
  return c.creates.length + c.updates.length + c.deletes.length > 0;
}
