import type { DnsRecord, HostnameSpec, NodeSnapshot } from '../../src/model/types.js';

type NodeOpts = Partial<Omit<NodeSnapshot, 'name' | 'taints'>> & { taints?: readonly string[] | Readonly<Record<string, string>> };

/** A snapshot; taints may be given as keys (values '') or as key -> value. */
export function node(name: string, opts: NodeOpts = {}): NodeSnapshot {
  const t = opts.taints ?? [];
  return {
    name,
    uid: opts.uid ?? `uid-${name}`,
    ipv4: opts.ipv4 ?? [],
    ipv6: opts.ipv6 ?? [],
    taints: Array.isArray(t) ? Object.fromEntries((t as readonly string[]).map((k) => [k, ''])) : (t as Readonly<Record<string, string>>),
    ready: opts.ready ?? 'True',
    readySince: opts.readySince,
    addressProblem: opts.addressProblem,
    ...(opts.hold !== undefined ? { hold: opts.hold } : {}),
    unschedulable: opts.unschedulable ?? false,
    ...(opts.internalIp !== undefined ? { internalIp: opts.internalIp } : {}),
    ...(opts.deleting !== undefined ? { deleting: opts.deleting } : {}),
    labels: opts.labels ?? {},
  };
}

export function host(name: string, opts: Partial<Omit<HostnameSpec, 'name'>> = {}): HostnameSpec {
  return {
    name, ttl: opts.ttl ?? 1, proxied: opts.proxied ?? false, controlPlaneOnly: opts.controlPlaneOnly ?? false,
    nodeSelector: opts.nodeSelector ?? null, source: opts.source ?? 'env',
    ...(opts.serveFrom ? { serveFrom: opts.serveFrom } : {}), ...(opts.probe ? { probe: opts.probe } : {}),
  };
}

let nextId = 1;
export function rec(name: string, content: string, comment: string | null, opts: Partial<DnsRecord> = {}): DnsRecord {
  return {
    id: opts.id ?? `r${String(nextId++).padStart(4, '0')}`,
    name, type: opts.type ?? (content.includes(':') ? 'AAAA' : 'A'), content,
    ttl: opts.ttl ?? 1, proxied: opts.proxied ?? false, comment,
  };
}
