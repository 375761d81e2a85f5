/** One plan per zone for every claimed hostname (pure): what the controller and `epictetus plan` apply or show. */
import type { DnsRecord } from '../model/types.js';
import type { Desired } from './desired.js';
import { plan, type Plan, type PlanInput } from './plan.js';
import { zoneFor, type Zone } from './zones.js';

export interface HostnameStatus {
  readonly name: string;
  readonly source: string;
  readonly zone: string | null;
  readonly ttl: number;
  readonly proxied: boolean;
}

export interface ZonePlan { readonly zone: Zone; readonly plan: Plan }

export interface ZonesPlan {
  readonly zones: readonly ZonePlan[];
  readonly hostnames: readonly HostnameStatus[];
}

export function planZones(input: Omit<PlanInput, 'desired' | 'current'> & {
  readonly desired: Desired;
  readonly zones: readonly Zone[];
  readonly records: ReadonlyMap<string, readonly DnsRecord[]>;
}): ZonesPlan {
  const { desired, zones, records, ...rest } = input;
  const byZone = new Map(zones.map((z) => [z.id, [] as Desired['hostnames'][number][]]));
  const hostnames: HostnameStatus[] = [];
  for (const h of desired.hostnames) {
    const zone = zoneFor(h.name, zones);
    hostnames.push({ name: h.name, source: h.source, zone: zone?.name ?? null, ttl: h.ttl, proxied: h.proxied });
    if (zone) byZone.get(zone.id)?.push(h);
  }
  return {
    hostnames,
    zones: zones.map((zone) => ({
      zone,
      plan: plan({ ...rest, desired: { ...desired, hostnames: byZone.get(zone.id) ?? [] }, current: records.get(zone.id) ?? [] }),
    })),
  };
}

export function changeCount(p: Plan): number {
  return p.creates.length + p.updates.length + p.deletes.length;
}
