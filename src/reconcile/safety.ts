/** Guards that hold back removals a glitch could cause (pure). */
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

/**
 * Per claimed hostname and record type:
 * - the mass-removal guard: when health reasons alone would remove more than
 *   `maxUnhealthyFraction` of the managed records within a short window (the removals already
 *   made in it count too, so nodes failing a few seconds apart are judged together), the
 *   problem is more likely the network or the control plane than the nodes (as Kubernetes'
 *   node lifecycle controller judges), so those removals are held back;
 * - the safety floor: never fewer than `min` managed records.
 */
export function applyGuards(input: {
  deletes: readonly RecordDelete[];
  creates: readonly RecordCreate[];
  min: number;
  maxUnhealthyFraction: number;
  /** `${hostname} ${type}` -> managed records there now (claimed hostnames only). */
  managedCount: ReadonlyMap<string, number>;
  /** `${hostname} ${type}` -> records already removed for health reasons in the guard's window. */
  recentHealthRemovals?: ReadonlyMap<string, number>;
  alive: (record: DnsRecord) => boolean;
}): { deletes: RecordDelete[]; held: Hold[] } {
  const keyOf = (name: string, type: string): string => `${name.toLowerCase()} ${type}`;
  const groups = new Map<string, RecordDelete[]>();
  const kept: RecordDelete[] = [];
  for (const d of input.deletes) {
    const key = keyOf(d.record.name, d.record.type);
    if (!input.managedCount.has(key)) { kept.push(d); continue; }
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [d]);
    else g.push(d);
  }
  const held: Hold[] = [];
  for (const [key, all] of groups) {
    const managed = input.managedCount.get(key) ?? 0;
    let group = all;
    const health = group.filter((d) => d.health === true);
    const recent = input.recentHealthRemovals?.get(key) ?? 0;
    if (health.length > 0 && (health.length + recent) / (managed + recent) > input.maxUnhealthyFraction) {
      held.push(...health.map((d) => hold(d, 'mass-removal-guard')));
      group = group.filter((d) => d.health !== true);
    }
    const creates = input.creates.filter((c) => keyOf(c.name, c.type) === key).length;
    const remaining = managed - group.length + creates;
    const toHold = Math.min(group.length, Math.max(0, input.min - remaining));
    const ordered = [...group].sort((a, b) =>
      holdPriority(a, input.alive) - holdPriority(b, input.alive) ||
      (a.record.content < b.record.content ? -1 : a.record.content > b.record.content ? 1 : 0));
    held.push(...ordered.slice(0, toHold).map((d) => hold(d, 'safety-floor')));
    kept.push(...ordered.slice(toHold));
  }
  return { deletes: kept, held };
}
