/** Node API object -> the small NodeSnapshot the controller keeps (pure, defensive). */
import { canonicalIp, nonPublicReason } from '../model/ip.js';
import type { NodeSnapshot, ReadyStatus } from '../model/types.js';
import { CONTROL_PLANE_LABELS, EXCLUDE_FROM_LB } from '../reconcile/policy.js';

export const FLANNEL_PUBLIC_IP = 'flannel.alpha.coreos.com/public-ip';
/** The cluster autoscaler waits while any annotation with this prefix is on a Node it drains. */
export const HOLD_ANNOTATION = 'delay-deletion.cluster-autoscaler.kubernetes.io/epictetus';

/** Labels every configuration reads; selectors add theirs. */
export const BASE_LABELS: readonly string[] = [...CONTROL_PLANE_LABELS, EXCLUDE_FROM_LB];

export interface SnapshotOptions {
  /** Labels kept; every other label is dropped. */
  readonly labels: ReadonlySet<string>;
  /** A label or annotation holding the external IP when status has none (EXTERNAL_IP_LABEL). */
  readonly externalIpKey?: string | undefined;
}

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function nodeName(node: unknown): string | undefined {
  return str(obj(obj(node).metadata).name);
}

export function resourceVersionOf(o: unknown): string | undefined {
  return str(obj(obj(o).metadata).resourceVersion);
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function timeOf(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** ExternalIP addresses, or else the first fallback source that is set; rejected fallbacks say why. */
function externalAddresses(node: Record<string, unknown>, opts: SnapshotOptions): { ips: Array<{ family: 4 | 6; ip: string }>; problem?: string } {
  const ips = arr(obj(node.status).addresses)
    .filter((a) => str(obj(a).type) === 'ExternalIP')
    .map((a) => canonicalIp(str(obj(a).address) ?? ''))
    .filter((ip): ip is { family: 4 | 6; ip: string } => ip !== null);
  if (ips.length > 0) return { ips };
  const meta = obj(node.metadata);
  const annotations = obj(meta.annotations);
  const labels = obj(meta.labels);
  const sources: Array<[string, unknown]> = [[FLANNEL_PUBLIC_IP, annotations[FLANNEL_PUBLIC_IP]]];
  if (opts.externalIpKey) sources.push([opts.externalIpKey, labels[opts.externalIpKey] ?? annotations[opts.externalIpKey]]);
  for (const [key, value] of sources) {
    const raw = str(value);
    if (raw === undefined || raw.trim() === '') continue;
    const found: Array<{ family: 4 | 6; ip: string }> = [];
    for (const part of raw.split(',')) {
      const ip = canonicalIp(part);
      if (ip === null) return { ips: [], problem: `${key}="${raw.slice(0, 100)}" is not an IP address` };
      const why = nonPublicReason(ip);
      if (why !== null) return { ips: [], problem: `${key}: ${why}` };
      found.push(ip);
    }
    return { ips: found };
  }
  return { ips: [] };
}

/** Shared by every snapshot without taints, labels of interest or IPv6 addresses: thousands of empty objects otherwise. */
const NONE: Readonly<Record<string, string>> = Object.freeze({});
const NO_IPS: readonly string[] = Object.freeze([]);
const orNone = (r: Record<string, string>): Readonly<Record<string, string>> => (Object.keys(r).length === 0 ? NONE : r);
const orNoIps = (a: string[]): readonly string[] => (a.length === 0 ? NO_IPS : a);

export function toSnapshot(node: unknown, opts: SnapshotOptions): NodeSnapshot | undefined {
  const name = nodeName(node);
  if (name === undefined || name === '') return undefined;
  const o = obj(node);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const { ips, problem } = externalAddresses(o, opts);
  const taints: Record<string, string> = {};
  for (const t of arr(spec.taints)) {
    const key = str(obj(t).key);
    if (key !== undefined) taints[key] = str(obj(t).value) ?? '';
  }
  const readyCond = obj(arr(status.conditions).find((c) => str(obj(c).type) === 'Ready'));
  const readyRaw = str(readyCond.status);
  const ready: ReadyStatus = readyRaw === 'True' || readyRaw === 'False' ? readyRaw : 'Unknown';
  const allLabels = obj(obj(o.metadata).labels);
  const labels: Record<string, string> = {};
  for (const key of opts.labels) {
    const v = str(allLabels[key]);
    if (v !== undefined) labels[key] = v;
  }
  return {
    name,
    uid: str(obj(o.metadata).uid),
    ipv4: orNoIps(uniqueSorted(ips.filter((i) => i.family === 4).map((i) => i.ip))),
    ipv6: orNoIps(uniqueSorted(ips.filter((i) => i.family === 6).map((i) => i.ip))),
    // Only a node that is not Ready has a grace period to time: a Ready node's transition time
    // would be one more number per node and one more change that matters to no rule.
    taints: orNone(taints), ready, readySince: ready === 'True' ? undefined : timeOf(readyCond.lastTransitionTime), addressProblem: problem,
    unschedulable: spec.unschedulable === true, labels: orNone(labels),
    ...(str(obj(o.metadata).deletionTimestamp) !== undefined ? { deleting: true } : {}),
    ...(internalIp(status) !== undefined ? { internalIp: internalIp(status) } : {}),
    ...(typeof annotationsOf(o)[HOLD_ANNOTATION] === 'string' ? { hold: annotationsOf(o)[HOLD_ANNOTATION] as string } : {}),
  };
}

/** The first InternalIP, canonical (where health probes reach the node). */
function internalIp(status: Record<string, unknown>): string | undefined {
  for (const a of arr(status.addresses)) {
    if (str(obj(a).type) !== 'InternalIP') continue;
    const ip = canonicalIp(str(obj(a).address) ?? '');
    if (ip !== null) return ip.ip;
  }
  return undefined;
}

const annotationsOf = (o: Record<string, unknown>): Record<string, unknown> => obj(obj(o.metadata).annotations);

const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/** True when nothing any rule looks at differs (heartbeats change nothing here). */
export function sameSnapshot(a: NodeSnapshot, b: NodeSnapshot): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.name === b.name && a.uid === b.uid && eq(a.ipv4, b.ipv4) && eq(a.ipv6, b.ipv6) && sameRecord(a.taints, b.taints) &&
    a.ready === b.ready && a.readySince === b.readySince && a.addressProblem === b.addressProblem && a.hold === b.hold &&
    a.unschedulable === b.unschedulable && a.deleting === b.deleting && a.internalIp === b.internalIp && sameRecord(a.labels, b.labels);
}
