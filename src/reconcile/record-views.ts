/** What each hostname's records are now and why, for people: /health and the status page (pure). */
import type { DnsRecord } from '../model/types.js';
import type { Desired } from './desired.js';
import { ownerOf } from './ownership.js';
import { contentIp, recordsByName, type Plan } from './plan.js';
import { assignZones, type Zone } from './zones.js';

export interface RecordView {
  readonly type: string;
  readonly ip: string;
  /** The node with this address, when one has it. */
  readonly node: string | null;
  /** serving · removing · missing · held by <guard> (<why>) · kept (upsert-only) · left alone (<why>) · frozen (<why>) */
  readonly state: string;
}

/**
 * Each claimed hostname's A/AAAA records in its zone as last read (after the last batch), with a
 * state, plus the addresses it should have and lacks (`missing`: not created yet, or refused).
 */
export function recordViews(desired: Desired, zones: readonly Zone[], records: ReadonlyMap<string, readonly DnsRecord[]>, plan: Plan, owner: string): Map<string, RecordView[]> {
  const home = assignZones(desired.hostnames.map((h) => h.name), zones).home;
  const held = new Map(plan.held.map((h) => [h.record.id, h]));
  const skipped = new Set(plan.skipped.map((d) => d.record.id));
  const foreign = new Map(plan.foreign.map((f) => [f.id, f]));
  const frozen = new Map(plan.hostnames.filter((h) => h.frozen).map((h) => [h.name, h.frozen ?? '']));
  const out = new Map<string, RecordView[]>();
  for (const spec of desired.hostnames) {
    const zone = home.get(spec.name);
    const list: RecordView[] = [];
    const present = new Set<string>();
    const byType = zone ? recordsByName(records.get(zone.id) ?? []).get(spec.name) : undefined;
    for (const r of [...byType?.A ?? [], ...byType?.AAAA ?? []]) {
      const ip = contentIp(r);
      const wanted = desired.targets.get(spec.name)?.get(r.type as 'A' | 'AAAA')?.has(ip) === true;
      const h = held.get(r.id);
      const f = foreign.get(r.id);
      const state = frozen.has(spec.name) ? `frozen (${frozen.get(spec.name)})`
        : f ? `left alone (${f.reason}${f.owner ? `, owner ${f.owner}` : ''})`
          : h ? `held by ${h.reason} (${h.wouldBe})`
            : skipped.has(r.id) ? 'kept (upsert-only)'
              : wanted && (ownerOf(r.comment) === owner || ownerOf(r.comment) === null) ? 'serving' : 'removing';
      if (wanted) present.add(`${r.type} ${ip}`);
      list.push({ type: r.type, ip, node: desired.clusterIps.get(ip)?.[0] ?? null, state });
    }
    for (const [type, ips] of desired.targets.get(spec.name) ?? []) {
      for (const [ip, nodes] of ips) if (!present.has(`${type} ${ip}`)) list.push({ type, ip, node: nodes[0] ?? null, state: 'missing' });
    }
    list.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    out.set(spec.name, list);
  }
  return out;
}
