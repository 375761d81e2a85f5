/** Guards that hold back removals a glitch could cause (pure). */
import type { DnsRecord, RecordCreate, RecordDelete } from '../model/types.js';

export interface FloorHold {
  readonly record: DnsRecord;
  readonly node: string | null;
  /** Why the record would have gone. */
  readonly wouldBe: string;
  readonly reason: 'safety-floor';
}

/** Records of nodes still in the cluster are held first, duplicates last. */
function holdPriority(d: RecordDelete, alive: (r: DnsRecord) => boolean): number {
  if (d.reason === 'duplicate') return 2;
  return alive(d.record) ? 0 : 1;
}

/**
 * Never lets a claimed hostname drop below `min` managed records of a type: when the plan
 * would, some deletions are held back (and reported) instead.
 */
export function applyFloor(input: {
  deletes: readonly RecordDelete[];
  creates: readonly RecordCreate[];
  min: number;
  /** `${hostname} ${type}` -> managed records there now (claimed hostnames only). */
  managedCount: ReadonlyMap<string, number>;
  alive: (record: DnsRecord) => boolean;
}): { deletes: RecordDelete[]; held: FloorHold[] } {
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
  const held: FloorHold[] = [];
  for (const [key, group] of groups) {
    const creates = input.creates.filter((c) => keyOf(c.name, c.type) === key).length;
    const remaining = (input.managedCount.get(key) ?? 0) - group.length + creates;
    const toHold = Math.min(group.length, Math.max(0, input.min - remaining));
    const ordered = [...group].sort((a, b) =>
      holdPriority(a, input.alive) - holdPriority(b, input.alive) ||
      (a.record.content < b.record.content ? -1 : a.record.content > b.record.content ? 1 : 0));
    for (const d of ordered.slice(0, toHold)) {
      held.push({ record: d.record, node: d.node, wouldBe: d.reason, reason: 'safety-floor' });
    }
    kept.push(...ordered.slice(toHold));
  }
  return { deletes: kept, held };
}
