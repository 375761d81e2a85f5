/** Guards that hold back removals a glitch could cause (pure): the one choke point every deletion passes. */
import type { DnsRecord, RecordCreate, RecordDelete } from '../model/types.js';

export interface Hold {
  readonly record: DnsRecord;
  readonly node: string | null;
  /** Why the record would have gone. */
  readonly wouldBe: string;
  readonly reason: 'safety-floor' | 'mass-removal-guard';
}

/** Records of nodes still in the cluster are held first, duplicates last. */
function holdPriority(d: RecordDelete, alive: (r: DnsRecord) => boolean): number {
  if (d.reason === 'duplicate') return 2;
  return alive(d.record) ? 0 : 1;
}

const hold = (d: RecordDelete, reason: Hold['reason']): Hold => ({ record: d.record, node: d.node, wouldBe: d.reason, reason });

export const guardKey = (name: string, type: string): string => `${name.toLowerCase()} ${type}`;

export interface GuardInput {
  readonly deletes: readonly RecordDelete[];
  readonly creates: readonly RecordCreate[];
  /** The floor of each `${hostname} ${type}`: managed records never go below it. */
  readonly floor: (key: string) => number;
  readonly maxUnhealthyFraction: number;
  /** `${hostname} ${type}` -> managed records there now, in every zone. */
  readonly managedCount: ReadonlyMap<string, number>;
  /** `${hostname} ${type}` -> records already removed for health reasons in the guard's window. */
  readonly recentHealthRemovals?: ReadonlyMap<string, number> | undefined;
  readonly alive: (record: DnsRecord) => boolean;
}

/**
 * Per hostname and record type, whatever the reason of each deletion:
 * - the mass-removal guard: when health reasons alone would remove more than
 *   `maxUnhealthyFraction` of the managed records within a short window (the removals already
 *   made in it count too, so nodes failing a few seconds apart are judged together), the
 *   problem is more likely the network or the control plane than the nodes (as Kubernetes'
 *   node lifecycle controller judges), so those removals are held back;
 * - the safety floor: never fewer than `floor(key)` managed records once the plan is applied.
 */
export function applyGuards(input: GuardInput): { deletes: RecordDelete[]; held: Hold[] } {
  const groups = new Map<string, RecordDelete[]>();
  for (const d of input.deletes) {
    const key = guardKey(d.record.name, d.record.type);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [d]);
    else g.push(d);
  }
  const createsBy = new Map<string, number>();
  for (const c of input.creates) createsBy.set(guardKey(c.name, c.type), (createsBy.get(guardKey(c.name, c.type)) ?? 0) + 1);
  const kept: RecordDelete[] = [];
  const held: Hold[] = [];
  for (const [key, all] of groups) {
    const managed = input.managedCount.get(key) ?? all.length;
    let group = all;
    const health = group.filter((d) => d.health === true);
    const recent = input.recentHealthRemovals?.get(key) ?? 0;
    if (health.length > 0 && (health.length + recent) / (managed + recent) > input.maxUnhealthyFraction) {
      held.push(...health.map((d) => hold(d, 'mass-removal-guard')));
      group = group.filter((d) => d.health !== true);
    }
    const remaining = managed - group.length + (createsBy.get(key) ?? 0);
    const toHold = Math.min(group.length, Math.max(0, input.floor(key) - remaining));
    const ordered = [...group].sort((a, b) =>
      holdPriority(a, input.alive) - holdPriority(b, input.alive) ||
      (a.record.content < b.record.content ? -1 : a.record.content > b.record.content ? 1 : 0) ||
      (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
    held.push(...ordered.slice(0, toHold).map((d) => hold(d, 'safety-floor')));
    kept.push(...ordered.slice(toHold));
  }
  return { deletes: kept, held };
}
