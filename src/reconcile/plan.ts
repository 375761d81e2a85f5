/** desired + current + owner -> the changes that get there, each with its reason (pure). */
import { canonicalIp } from '../model/ip.js';
import type {
  DnsRecord, HostnameSpec, RecordCreate, RecordDelete, RecordType, RecordUpdate,
} from '../model/types.js';
import type { Desired } from './desired.js';
import { adoptedComment, ownerMarker, ownerOf } from './ownership.js';
import { isHealthReason } from './policy.js';
import { applyGuards, type Hold } from './safety.js';

export interface ForeignRecord {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly content: string;
  /** Another owner's id, or null for a record without any marker. */
  readonly owner: string | null;
  readonly reason: 'other-owner' | 'not-a-cluster-ip';
}

export interface PlanInput {
  readonly desired: Desired;
  /** The zone's records (any names and types: the plan picks what is its business). */
  readonly current: readonly DnsRecord[];
  readonly owner: string;
  readonly minRecordsPerHostname: number;
  /** Health removals above this share of a hostname's records are held back (1 turns it off). */
  readonly maxUnhealthyFraction?: number;
  /** `${hostname} ${type}` -> records removed for health reasons lately (the guard's window). */
  readonly recentHealthRemovals?: ReadonlyMap<string, number>;
  readonly commentMaxLength: number;
  /** IPs of nodes deleted recently -> node name, only to say which node a removal was for. */
  readonly formerNodes?: ReadonlyMap<string, string>;
}

export interface Plan {
  readonly creates: readonly RecordCreate[];
  readonly updates: readonly RecordUpdate[];
  readonly deletes: readonly RecordDelete[];
  readonly foreign: readonly ForeignRecord[];
  readonly held: readonly Hold[];
  /** hostname -> managed records it will have once the plan is applied. */
  readonly managedAfter: ReadonlyMap<string, number>;
}

interface Managed { readonly record: DnsRecord; readonly ip: string; readonly marked: boolean }

function contentIp(record: DnsRecord): string {
  return canonicalIp(record.content)?.ip ?? record.content;
}

function wantedTtl(spec: HostnameSpec): number {
  return spec.proxied ? 1 : spec.ttl;
}

export function plan(input: PlanInput): Plan {
  const { desired, owner } = input;
  const marker = ownerMarker(owner);
  const creates: RecordCreate[] = [];
  const updates: RecordUpdate[] = [];
  const deletes: RecordDelete[] = [];
  const foreign: ForeignRecord[] = [];
  const managedCount = new Map<string, number>();
  const claimed = new Set(desired.hostnames.map((h) => h.name));
  const types = new Set<string>(desired.types);

  const byKey = new Map<string, DnsRecord[]>();
  for (const record of input.current) {
    if (!types.has(record.type)) continue;
    const name = record.name.toLowerCase();
    if (!claimed.has(name)) {
      if (ownerOf(record.comment) === owner) {
        deletes.push({ record, node: null, reason: 'hostname-unclaimed' });
      }
      continue;
    }
    const key = `${name} ${record.type}`;
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [record]);
    else list.push(record);
  }

  const nodeFor = (ip: string): string | null =>
    desired.clusterIps.get(ip)?.[0] ?? input.formerNodes?.get(ip) ?? null;
  const verdictOf = new Map(desired.verdicts.map((v) => [v.name, v]));
  const removal = (ip: string): { reason: string; health: boolean } => {
    const nodes = desired.clusterIps.get(ip);
    if (nodes === undefined) return { reason: 'node-deleted', health: false };
    const reasons = [...new Set(nodes.flatMap((n) => verdictOf.get(n)?.reasons ?? []))];
    // Every node with this IP may serve, just not this hostname (control-plane-only or a selector).
    if (reasons.length === 0) return { reason: 'not-selected', health: false };
    return { reason: reasons.join(','), health: reasons.every(isHealthReason) };
  };

  for (const spec of desired.hostnames) {
    for (const type of desired.types) {
      const wanted = desired.targets.get(spec.name)?.get(type) ?? new Map<string, string[]>();
      const managed: Managed[] = [];
      const foreignIps = new Set<string>();
      for (const record of byKey.get(`${spec.name} ${type}`) ?? []) {
        const ip = contentIp(record);
        const recOwner = ownerOf(record.comment);
        if (recOwner === owner) managed.push({ record, ip, marked: true });
        else if (recOwner === null && desired.clusterIps.has(ip)) managed.push({ record, ip, marked: false });
        else {
          foreignIps.add(ip);
          foreign.push({
            id: record.id, name: record.name, type: record.type, content: record.content, owner: recOwner,
            reason: recOwner === null ? 'not-a-cluster-ip' : 'other-owner',
          });
        }
      }
      managedCount.set(`${spec.name} ${type}`, managed.length);
      const kept = new Set<string>();
      // Marked records first, then by id: which duplicate survives is deterministic.
      managed.sort((a, b) => Number(b.marked) - Number(a.marked) || (a.record.id < b.record.id ? -1 : 1));
      for (const m of managed) {
        if (!wanted.has(m.ip)) {
          deletes.push({ record: m.record, node: nodeFor(m.ip), ...removal(m.ip) });
        } else if (kept.has(m.ip)) {
          deletes.push({ record: m.record, node: nodeFor(m.ip), reason: 'duplicate' });
        } else {
          kept.add(m.ip);
          const ttl = wantedTtl(spec);
          const settingsDiffer = m.record.ttl !== ttl || m.record.proxied !== spec.proxied;
          if (!m.marked || settingsDiffer) {
            updates.push({
              record: m.record,
              comment: m.marked ? (m.record.comment ?? marker) : adoptedComment(m.record.comment, owner, input.commentMaxLength),
              ttl, proxied: spec.proxied, node: nodeFor(m.ip),
              reason: m.marked ? 'settings-changed' : 'adopt',
            });
          }
        }
      }
      for (const [ip, nodes] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (kept.has(ip) || foreignIps.has(ip)) continue;
        creates.push({
          name: spec.name, type: type as RecordType, content: ip, ttl: wantedTtl(spec), proxied: spec.proxied,
          comment: marker, node: nodes[0] ?? null, reason: 'node-eligible',
        });
      }
    }
  }

  const floored = applyGuards({
    deletes, creates, min: input.minRecordsPerHostname, maxUnhealthyFraction: input.maxUnhealthyFraction ?? 1, managedCount,
    ...(input.recentHealthRemovals ? { recentHealthRemovals: input.recentHealthRemovals } : {}),
    alive: (record) => desired.clusterIps.has(contentIp(record)),
  });

  const managedAfter = new Map<string, number>();
  for (const [key, n] of managedCount) {
    const name = key.split(' ')[0] ?? key;
    managedAfter.set(name, (managedAfter.get(name) ?? 0) + n);
  }
  for (const d of floored.deletes) {
    const name = d.record.name.toLowerCase();
    if (managedAfter.has(name)) managedAfter.set(name, (managedAfter.get(name) ?? 0) - 1);
  }
  for (const c of creates) managedAfter.set(c.name, (managedAfter.get(c.name) ?? 0) + 1);
  return { creates, updates, deletes: floored.deletes, foreign, held: floored.held, managedAfter };
}
