/** Node API object -> the small NodeSnapshot the controller keeps (pure, defensive). */
import { canonicalIp } from '../model/ip.js';
import type { NodeSnapshot, ReadyStatus } from '../model/types.js';

/** Labels some rule looks at; every other label is dropped. */
export const LABELS_OF_INTEREST: readonly string[] = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
  'node.kubernetes.io/exclude-from-external-load-balancers',
];

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

export function toSnapshot(node: unknown, labelsOfInterest: readonly string[] = LABELS_OF_INTEREST): NodeSnapshot | undefined {
  const name = nodeName(node);
  if (name === undefined || name === '') return undefined;
  const { spec, status, metadata } = obj(node) as { spec?: unknown; status?: unknown; metadata?: unknown };
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const a of arr(obj(status).addresses)) {
    if (str(obj(a).type) !== 'ExternalIP') continue;
    const ip = canonicalIp(str(obj(a).address) ?? '');
    if (ip?.family === 4) ipv4.push(ip.ip);
    else if (ip?.family === 6) ipv6.push(ip.ip);
  }
  const taints = arr(obj(spec).taints).map((t) => str(obj(t).key)).filter((k): k is string => k !== undefined);
  const readyCond = arr(obj(status).conditions).find((c) => str(obj(c).type) === 'Ready');
  const readyRaw = str(obj(readyCond).status);
  const ready: ReadyStatus = readyRaw === 'True' || readyRaw === 'False' ? readyRaw : 'Unknown';
  const allLabels = obj(obj(metadata).labels);
  const labels: Record<string, string> = {};
  for (const key of labelsOfInterest) {
    const v = str(allLabels[key]);
    if (v !== undefined) labels[key] = v;
  }
  return {
    name, ipv4: uniqueSorted(ipv4), ipv6: uniqueSorted(ipv6), taints: uniqueSorted(taints), ready,
    unschedulable: obj(spec).unschedulable === true, labels,
  };
}

/** True when nothing any rule looks at differs (heartbeats change nothing here). */
export function sameSnapshot(a: NodeSnapshot, b: NodeSnapshot): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  const la = Object.keys(a.labels);
  return a.name === b.name && eq(a.ipv4, b.ipv4) && eq(a.ipv6, b.ipv6) && eq(a.taints, b.taints) &&
    a.ready === b.ready && a.unschedulable === b.unschedulable &&
    la.length === Object.keys(b.labels).length && la.every((k) => a.labels[k] === b.labels[k]);
}
