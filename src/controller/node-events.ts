/** Kubernetes Events on the Nodes whose records a committed change removed or added. */
import type { EventRecorder } from '../kube/events.js';
import type { Changes, NodeSnapshot } from '../model/types.js';

export function recordNodeEvents(p: Changes, events: EventRecorder, nodes: ReadonlyMap<string, NodeSnapshot>): void {
  const byNode = new Map<string, { removed: string[]; added: string[]; reasons: Set<string> }>();
  const entry = (n: string) => byNode.get(n) ?? byNode.set(n, { removed: [], added: [], reasons: new Set() }).get(n)!;
  for (const d of p.deletes) {
    if (d.node === null || d.reason === 'node-deleted' || d.reason === 'duplicate') continue;
    entry(d.node).removed.push(`${d.record.name} ${d.record.type} ${d.record.content}`);
    entry(d.node).reasons.add(d.reason);
  }
  for (const c of p.creates) if (c.node !== null) entry(c.node).added.push(`${c.name} ${c.type} ${c.content}`);
  for (const [name, e] of byNode) {
    const target = { kind: 'Node' as const, name, uid: nodes.get(name)?.uid };
    if (e.removed.length > 0) {
      events.record(target, { type: 'Normal', reason: 'DNSRecordsRemoved', action: 'RemoveDNSRecords', note: `Removed ${e.removed.join(', ')} (${[...e.reasons].join(', ')})` });
    }
    if (e.added.length > 0) {
      events.record(target, { type: 'Normal', reason: 'DNSRecordsAdded', action: 'AddDNSRecords', note: `Added ${e.added.join(', ')}` });
    }
  }
}
