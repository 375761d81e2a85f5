/**
 * desired + every zone's records + owner -> the changes that get there, zone by zone, each with
 * its reason (pure). Every deletion, whatever its reason and zone, passes the guards once
 * (safety.ts); a hostname that is frozen, or whose zone is unknown, unread or ambiguous, is
 * written nowhere.
 */
import { canonicalIp } from '../model/ip.js';
import type {
  DnsRecord, HostnameSpec, RecordCreate, RecordDelete, RecordType, RecordUpdate,
} from '../model/types.js';
import type { Desired } from './desired.js';
import { adoptedComment, externalDnsNames, ownerMarker, ownerOf, renamedComment } from './ownership.js';
import { isHealthReason } from './policy.js';
import { applyGuards, guardKey, type Hold } from './safety.js';
import { assignZones, type Zone } from './zones.js';

export type ForeignReason =
  /** Another owner's marker. */
  | 'other-owner'
  /** No marker, and the address is no node's. */
  | 'not-a-cluster-ip'
  /** No marker, at a node's address that this hostname does not want now: never adopted to be deleted. */
  | 'not-wanted'
  /** No marker, proxied by hand where the hostname is not: adopting it would expose the origin. */
  | 'proxied-by-hand'
  /** external-dns owns the name through its TXT registry. */
  | 'external-dns'
  /** Our marker and the human's comment would not fit Cloudflare's comment limit together. */
  | 'comment-full';

export interface ForeignRecord {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly content: string;
  /** Another owner's id, or null for a record without any marker. */
  readonly owner: string | null;
  readonly reason: ForeignReason;
}

/** Why Cloudflare refused one operation (found by isolating it from its batch). */
export interface Refusal {
  readonly code: string;
  readonly apiCodes: readonly number[];
  readonly message: string;
  readonly at: string;
}

export interface RefusedChange {
  readonly key: string;
  readonly action: 'create' | 'update' | 'delete';
  readonly hostname: string;
  readonly type: string;
  readonly ip: string;
  readonly refusal: Refusal;
}

/** A hostname whose zone changed: new records first, the old ones only once those are committed. */
export interface Move {
  readonly hostname: string;
  readonly type: string;
  readonly from: string;
  readonly to: string;
  readonly state: 'creating-in-new-zone' | 'removing-from-old-zone';
}

export interface HostnameStatus {
  readonly name: string;
  readonly source: string;
  readonly zone: string | null;
  readonly ttl: number;
  readonly proxied: boolean;
  /** Why nothing is written for it now, if so. */
  readonly frozen?: string;
}

export interface ZoneChanges {
  readonly zone: Zone;
  readonly creates: readonly RecordCreate[];
  readonly updates: readonly RecordUpdate[];
  readonly deletes: readonly RecordDelete[];
}

export interface PlanInput {
  readonly desired: Desired;
  /** Every zone known (any status). */
  readonly zones: readonly Zone[];
  /** zone id -> its records, for the zones read this time (any names and types). */
  readonly records: ReadonlyMap<string, readonly DnsRecord[]>;
  readonly owner: string;
  /** Former owner ids whose records are ours (OWNER_ID_ALIASES): re-marked, then managed. */
  readonly ownerAliases?: readonly string[];
  readonly minRecordsPerHostname: number;
  /** Health removals above this share of a hostname's records are held back (1 turns it off). */
  readonly maxUnhealthyFraction?: number;
  /** `${hostname} ${type}` -> records removed for health reasons lately (the guard's window). */
  readonly recentHealthRemovals?: ReadonlyMap<string, number>;
  readonly commentMaxLength: number;
  /** IPs of nodes deleted recently -> node name, only to say which node a removal was for. */
  readonly formerNodes?: ReadonlyMap<string, string>;
  /** Operations Cloudflare refused lately (opKey -> why): set aside, not planned again. */
  readonly refused?: ReadonlyMap<string, Refusal>;
  /** `upsert-only`: create and update, never delete (the deletions are reported as skipped). */
  readonly policy?: 'sync' | 'upsert-only';
}

export interface Plan {
  /** One entry per zone read, in the order given. */
  readonly zones: readonly ZoneChanges[];
  readonly foreign: readonly ForeignRecord[];
  readonly held: readonly Hold[];
  /** Deletions POLICY=upsert-only leaves undone. */
  readonly skipped: readonly RecordDelete[];
  readonly refused: readonly RefusedChange[];
  readonly moves: readonly Move[];
  readonly hostnames: readonly HostnameStatus[];
  /** hostname -> managed records it will have once the plan is applied. */
  readonly managedAfter: ReadonlyMap<string, number>;
}

export const opKey = {
  create: (zoneId: string, c: { name: string; type: string; content: string }): string => `create ${zoneId} ${c.name} ${c.type} ${c.content}`,
  update: (zoneId: string, recordId: string): string => `update ${zoneId} ${recordId}`,
  delete: (zoneId: string, recordId: string): string => `delete ${zoneId} ${recordId}`,
};

const HANDLED_TYPES: readonly RecordType[] = ['A', 'AAAA'];

interface Managed { readonly record: DnsRecord; readonly ip: string; readonly kind: 'ours' | 'alias' | 'adopt' }
const RANK = { ours: 0, alias: 1, adopt: 2 } as const;

/** Each record's IP in canonical form, parsed once per record object (the cache keeps them between plans). */
const ipOfRecord = new WeakMap<DnsRecord, string>();

/** A record's address in canonical form (its content as it is when that is no address). */
export function contentIp(record: DnsRecord): string {
  let ip = ipOfRecord.get(record);
  if (ip === undefined) {
    ip = canonicalIp(record.content)?.ip ?? record.content;
    ipOfRecord.set(record, ip);
  }
  return ip;
}

/** A zone's A/AAAA records by lower-case name and type, and its external-dns names: once per records array. */
interface Grouped {
  readonly byName: ReadonlyMap<string, Partial<Record<string, DnsRecord[]>>>;
  readonly externalDns: ReadonlySet<string>;
}
const groupedOf = new WeakMap<readonly DnsRecord[], Grouped>();

/** A zone's A/AAAA records by lower-case name, then type (shared: never to be changed). */
export function recordsByName(records: readonly DnsRecord[]): Grouped['byName'] {
  return grouped(records).byName;
}

function grouped(records: readonly DnsRecord[]): Grouped {
  let g = groupedOf.get(records);
  if (g === undefined) {
    const byName = new Map<string, Partial<Record<string, DnsRecord[]>>>();
    for (const record of records) {
      if (!HANDLED_TYPES.includes(record.type as RecordType)) continue;
      const name = record.name.toLowerCase();
      let byType = byName.get(name);
      if (byType === undefined) byName.set(name, byType = {});
      (byType[record.type] ??= []).push(record);
    }
    g = { byName, externalDns: externalDnsNames(records) };
    groupedOf.set(records, g);
  }
  return g;
}

function wantedTtl(spec: HostnameSpec): number {
  return spec.proxied ? 1 : spec.ttl;
}

export function changeCount(z: Pick<ZoneChanges, 'creates' | 'updates' | 'deletes'>): number {
  return z.creates.length + z.updates.length + z.deletes.length;
}

export function plan(input: PlanInput): Plan {
  const { desired, owner } = input;
  const aliases = new Set(input.ownerAliases ?? []);
  const marker = ownerMarker(owner);
  const published = new Set<string>(desired.types);
  const specs = new Map(desired.hostnames.map((h) => [h.name, h]));
  const assignment = assignZones(specs.keys(), input.zones);
  const zoneName = new Map(input.zones.map((z) => [z.id, z.name]));

  /** Why nothing may be written for a hostname now, or undefined. */
  const frozenWhy = (name: string): string | undefined => {
    const why = desired.frozen.get(name) ?? assignment.problems.get(name);
    if (why !== undefined) return why;
    const home = assignment.home.get(name);
    if (home !== undefined && !input.records.has(home.id)) return `zone ${home.name} could not be read`;
    return undefined;
  };

  const ops = new Map<string, { creates: RecordCreate[]; updates: RecordUpdate[]; deletes: RecordDelete[] }>();
  for (const zoneId of input.records.keys()) ops.set(zoneId, { creates: [], updates: [], deletes: [] });
  const zoneOf = new Map<DnsRecord, string>(); // each deletion candidate's record -> its zone
  const refused: RefusedChange[] = [];
  const foreign: ForeignRecord[] = [];
  const managedCount = new Map<string, number>();
  const bump = (key: string, n = 1) => managedCount.set(key, (managedCount.get(key) ?? 0) + n);

  const isRefused = (key: string, action: RefusedChange['action'], name: string, type: string, ip: string): boolean => {
    const r = input.refused?.get(key);
    if (r !== undefined) refused.push({ key, action, hostname: name, type, ip, refusal: r });
    return r !== undefined;
  };
  const addCreate = (zoneId: string, c: RecordCreate): boolean => {
    if (isRefused(opKey.create(zoneId, c), 'create', c.name, c.type, c.content)) return false;
    ops.get(zoneId)?.creates.push(c);
    return true;
  };
  const addUpdate = (zoneId: string, u: RecordUpdate) => {
    if (isRefused(opKey.update(zoneId, u.record.id), 'update', u.record.name, u.record.type, u.record.content)) return;
    ops.get(zoneId)?.updates.push(u);
  };
  const deleteCandidates: RecordDelete[] = [];
  const addDelete = (zoneId: string, d: RecordDelete) => {
    if (isRefused(opKey.delete(zoneId, d.record.id), 'delete', d.record.name, d.record.type, d.record.content)) return;
    zoneOf.set(d.record, zoneId);
    deleteCandidates.push(d);
  };

  const nodeFor = (ip: string): string | null =>
    desired.clusterIps.get(ip)?.[0] ?? input.formerNodes?.get(ip) ?? null;
  let verdictOf: Map<string, Desired['verdicts'][number]> | undefined;
  const removal = (ip: string, hostname: string): { reason: string; health: boolean } => {
    const nodes = desired.clusterIps.get(ip);
    if (nodes === undefined) return { reason: 'node-deleted', health: false };
    const verdicts = verdictOf ??= new Map(desired.verdicts.map((v) => [v.name, v]));
    let reasons = [...new Set(nodes.flatMap((n) => verdicts.get(n)?.reasons ?? []))];
    // Every node with this IP may serve: this hostname's endpoints or probe say no, or its filter does.
    if (reasons.length === 0) reasons = [...new Set(nodes.flatMap((n) => desired.excludedFor.get(hostname)?.get(n) ?? []))];
    if (reasons.length === 0) return { reason: 'not-selected', health: false };
    return { reason: reasons.join(','), health: reasons.every(isHealthReason) };
  };
  const ownership = (r: DnsRecord): 'ours' | 'alias' | 'other' | 'none' => {
    const o = ownerOf(r.comment);
    return o === owner ? 'ours' : o === null ? 'none' : aliases.has(o) ? 'alias' : 'other';
  };

  // Sort every A/AAAA record: its hostname's home zone, a zone it left, or a hostname nobody claims.
  const home = new Map<string, Partial<Record<string, DnsRecord[]>>>(); // name -> type -> records in its home zone
  const left: Array<{ zoneId: string; record: DnsRecord }> = []; // ours, in a zone that is no longer the hostname's
  const edns = new Set<string>();
  for (const [zoneId, records] of input.records) {
    const g = grouped(records);
    for (const n of g.externalDns) edns.add(`${zoneId} ${n}`);
    for (const [name, byType] of g.byName) {
      if (frozenWhy(name) !== undefined) continue;
      const isHome = assignment.home.get(name)?.id === zoneId;
      if (specs.has(name) && isHome) {
        home.set(name, byType);
        continue;
      }
      for (const type of HANDLED_TYPES) {
        for (const record of byType[type] ?? []) {
          const mine = ownership(record);
          if (mine !== 'ours' && mine !== 'alias') continue;
          if (!specs.has(name)) addDelete(zoneId, { record, node: null, reason: 'hostname-unclaimed' });
          else left.push({ zoneId, record });
        }
      }
    }
  }

  const creates: RecordCreate[] = [];
  for (const spec of desired.hostnames) {
    const zone = assignment.home.get(spec.name);
    if (zone === undefined || frozenWhy(spec.name) !== undefined) continue;
    for (const type of HANDLED_TYPES) {
      const key = guardKey(spec.name, type);
      const records = home.get(spec.name)?.[type] ?? [];
      if (!published.has(type)) {
        // Our records of a type no longer published go (the floor keeps the hostname answering).
        for (const record of records) {
          const mine = ownership(record);
          if (mine !== 'ours' && mine !== 'alias') continue;
          bump(key);
          addDelete(zone.id, { record, node: nodeFor(contentIp(record)), reason: 'type-not-published' });
        }
        continue;
      }
      const wanted = desired.targets.get(spec.name)?.get(type) ?? new Map<string, readonly string[]>();
      const managed: Managed[] = [];
      const foreignIps = new Set<string>();
      for (const record of records) {
        const ip = contentIp(record);
        const mine = ownership(record);
        let reason: ForeignReason | undefined;
        if (mine === 'ours' || mine === 'alias') {
          managed.push({ record, ip, kind: mine });
          continue;
        }
        if (mine === 'other') reason = 'other-owner';
        else if (edns.has(`${zone.id} ${spec.name}`)) reason = 'external-dns';
        else if (!wanted.has(ip)) reason = desired.clusterIps.has(ip) ? 'not-wanted' : 'not-a-cluster-ip';
        else if (record.proxied && !spec.proxied) reason = 'proxied-by-hand';
        else if (adoptedComment(record.comment, owner, input.commentMaxLength) === null) reason = 'comment-full';
        if (reason === undefined) {
          managed.push({ record, ip, kind: 'adopt' });
          continue;
        }
        foreignIps.add(ip);
        foreign.push({ id: record.id, name: record.name, type: record.type, content: record.content, owner: ownerOf(record.comment), reason });
      }
      bump(key, managed.length);
      // Of several records with one wanted IP, ours survives first, then the lowest id: deterministic.
      const survivor = new Map<string, Managed>();
      for (const m of managed) {
        if (!wanted.has(m.ip)) continue;
        const s = survivor.get(m.ip);
        if (s === undefined || RANK[m.kind] - RANK[s.kind] < 0 || (m.kind === s.kind && m.record.id < s.record.id)) survivor.set(m.ip, m);
      }
      for (const m of managed) {
        if (!wanted.has(m.ip)) {
          addDelete(zone.id, { record: m.record, node: nodeFor(m.ip), ...removal(m.ip, spec.name) });
        } else if (survivor.get(m.ip) !== m) {
          addDelete(zone.id, { record: m.record, node: nodeFor(m.ip), reason: 'duplicate' });
        } else {
          const ttl = wantedTtl(spec);
          const settingsDiffer = m.record.ttl !== ttl || m.record.proxied !== spec.proxied;
          if (m.kind !== 'ours' || settingsDiffer) {
            const comment = m.kind === 'ours' ? (m.record.comment ?? marker)
              : m.kind === 'alias' ? renamedComment(m.record.comment ?? '', owner)
                : adoptedComment(m.record.comment, owner, input.commentMaxLength) ?? marker;
            addUpdate(zone.id, {
              record: m.record, comment, ttl, proxied: spec.proxied, node: nodeFor(m.ip),
              reason: m.kind === 'ours' ? 'settings-changed' : m.kind === 'alias' ? 'owner-renamed' : 'adopt',
            });
          }
        }
      }
      const missing: Array<[string, readonly string[]]> = [];
      for (const entry of wanted) if (!survivor.has(entry[0]) && !foreignIps.has(entry[0])) missing.push(entry);
      for (const [ip, nodes] of missing.sort(([a], [b]) => (a < b ? -1 : 1))) {
        const c: RecordCreate = {
          name: spec.name, type, content: ip, ttl: wantedTtl(spec), proxied: spec.proxied,
          comment: marker, node: nodes[0] ?? null, reason: 'node-eligible',
        };
        if (addCreate(zone.id, c)) creates.push(c);
      }
    }
  }

  // A hostname that changed zones loses its records in the old zone only once the new zone has
  // every record it should (nothing left to create there, nothing refused).
  const moves: Move[] = [];
  const unsettled = new Set<string>();
  for (const c of creates) unsettled.add(guardKey(c.name, c.type));
  for (const r of refused) if (r.action === 'create') unsettled.add(guardKey(r.hostname, r.type));
  const moveSeen = new Set<string>();
  for (const { zoneId, record } of left) {
    const name = record.name.toLowerCase();
    const key = guardKey(name, record.type);
    const to = assignment.home.get(name)?.name ?? '?';
    const waiting = published.has(record.type) && unsettled.has(key);
    const mk = `${key} ${zoneId}`;
    if (!moveSeen.has(mk)) {
      moveSeen.add(mk);
      moves.push({ hostname: name, type: record.type, from: zoneName.get(zoneId) ?? zoneId, to, state: waiting ? 'creating-in-new-zone' : 'removing-from-old-zone' });
    }
    bump(key);
    if (!waiting) addDelete(zoneId, { record, node: nodeFor(contentIp(record)), reason: 'zone-moved' });
  }

  // The guards, once, over every deletion. The floor protects every claimed hostname and published
  // type; a hostname nobody claims any more has none (its claim was withdrawn on positive evidence);
  // a type no longer published may go once the hostname keeps its floor in the published types.
  const min = input.minRecordsPerHostname;
  const alive = (record: DnsRecord) => desired.clusterIps.has(contentIp(record));
  const common = { maxUnhealthyFraction: input.maxUnhealthyFraction ?? 1, managedCount, recentHealthRemovals: input.recentHealthRemovals, alive, creates };
  const isUnpublished = (d: RecordDelete) => specs.has(d.record.name.toLowerCase()) && !published.has(d.record.type);
  const first = applyGuards({
    ...common, deletes: deleteCandidates.filter((d) => !isUnpublished(d)),
    floor: (key) => (specs.has(key.split(' ')[0] ?? '') ? min : 0),
  });
  const after = new Map<string, number>();
  for (const [key, n] of managedCount) after.set(key, n);
  for (const d of first.deletes) after.set(guardKey(d.record.name, d.record.type), (after.get(guardKey(d.record.name, d.record.type)) ?? 0) - 1);
  for (const c of creates) after.set(guardKey(c.name, c.type), (after.get(guardKey(c.name, c.type)) ?? 0) + 1);
  const publishedAfter = (name: string) => [...published].reduce((n, t) => n + Math.max(0, after.get(guardKey(name, t)) ?? 0), 0);
  const second = applyGuards({
    ...common, deletes: deleteCandidates.filter(isUnpublished),
    floor: (key) => (publishedAfter(key.split(' ')[0] ?? '') >= min ? 0 : min),
  });
  const guarded = [...first.deletes, ...second.deletes];
  // A record a guard keeps stays ours: one under a former owner id is re-marked like the others,
  // or it would turn foreign (and stay for good) once the alias is dropped from the settings.
  for (const h of [...first.held, ...second.held]) {
    const zoneId = zoneOf.get(h.record);
    if (zoneId === undefined || ownership(h.record) !== 'alias') continue;
    addUpdate(zoneId, {
      record: h.record, comment: renamedComment(h.record.comment ?? '', owner), ttl: h.record.ttl, proxied: h.record.proxied, node: h.node, reason: 'owner-renamed',
    });
  }
  const skipped = input.policy === 'upsert-only' ? guarded : [];
  for (const d of input.policy === 'upsert-only' ? [] : guarded) ops.get(zoneOf.get(d.record) ?? '')?.deletes.push(d);

  const managedAfter = new Map<string, number>();
  for (const [key, n] of managedCount) {
    const name = key.split(' ')[0] ?? key;
    if (specs.has(name)) managedAfter.set(name, (managedAfter.get(name) ?? 0) + n);
  }
  for (const z of ops.values()) {
    for (const d of z.deletes) if (managedAfter.has(d.record.name.toLowerCase())) managedAfter.set(d.record.name.toLowerCase(), (managedAfter.get(d.record.name.toLowerCase()) ?? 0) - 1);
    for (const c of z.creates) managedAfter.set(c.name, (managedAfter.get(c.name) ?? 0) + 1);
  }
  const hostnames: HostnameStatus[] = desired.hostnames.map((h) => {
    const why = frozenWhy(h.name);
    return { name: h.name, source: h.source, zone: assignment.home.get(h.name)?.name ?? null, ttl: h.ttl, proxied: h.proxied, ...(why ? { frozen: why } : {}) };
  });
  for (const [name, why] of desired.frozen) {
    if (!specs.has(name)) hostnames.push({ name, source: 'in doubt', zone: null, ttl: 0, proxied: false, frozen: why });
  }
  return {
    zones: input.zones.filter((z) => ops.has(z.id)).map((zone) => ({ zone, ...ops.get(zone.id)! })),
    foreign, held: [...first.held, ...second.held], skipped, refused, moves, hostnames, managedAfter,
  };
}
