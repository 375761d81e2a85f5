import type { DnsRecord, HostnameSpec, NodeSnapshot } from '../../src/model/types.js';

export function node(name: string, opts: Partial<Omit<NodeSnapshot, 'name'>> = {}): NodeSnapshot {
  return {
    name,
    ipv4: opts.ipv4 ?? [],
    ipv6: opts.ipv6 ?? [],
    taints: [...(opts.taints ?? [])].sort(),
    ready: opts.ready ?? 'True',
    unschedulable: opts.unschedulable ?? false,
    labels: opts.labels ?? {},
  };
}

export function host(name: string, opts: Partial<Omit<HostnameSpec, 'name'>> = {}): HostnameSpec {
  return { name, ttl: opts.ttl ?? 1, proxied: opts.proxied ?? false };
}

let nextId = 1;
export function rec(name: string, content: string, comment: string | null, opts: Partial<DnsRecord> = {}): DnsRecord {
  return {
    id: opts.id ?? `r${String(nextId++).padStart(4, '0')}`,
    name, type: opts.type ?? (content.includes(':') ? 'AAAA' : 'A'), content,
    ttl: opts.ttl ?? 1, proxied: opts.proxied ?? false, comment,
  };
}
