/**
 * Follows nodes from the event that made them ineligible to the removal of their records
 * (reaction latency), and from that removal to the deletion of the Node (lead time).
 */
import type { NodeSnapshot, RecordDelete } from '../model/types.js';
import { evaluateNode, type NodePolicy } from '../reconcile/policy.js';
import type { Change } from '../kube/list-watch.js';

export interface RemovalObserver {
  reaction(node: string, ms: number): void;
  /** `ttlSeconds`: the longest TTL among the removed records (automatic counts as 300). */
  leadTime(node: string, ms: number, ttlSeconds: number): void;
}

const AUTO_TTL_SECONDS = 300;
const FORGET_AFTER_MS = 6 * 3600_000;

export class RemovalTracker {
  private readonly ineligibleSince = new Map<string, number>();
  private readonly removedAt = new Map<string, { at: number; ttl: number }>();

  constructor(private readonly policy: NodePolicy, private readonly observer: RemovalObserver) {}

  nodeChanged(c: Change<NodeSnapshot>): void {
    const name = c.key;
    if (c.type === 'deleted') {
      if (!this.ineligibleSince.has(name)) this.ineligibleSince.set(name, c.at);
      const removed = this.removedAt.get(name);
      if (removed) {
        this.observer.leadTime(name, c.at - removed.at, removed.ttl);
        this.removedAt.delete(name);
      }
      return;
    }
    const wasEligible = c.before !== undefined && evaluateNode(c.before, this.policy, c.at).eligible;
    const isEligible = c.after !== undefined && evaluateNode(c.after, this.policy, c.at).eligible;
    if (wasEligible && !isEligible) this.ineligibleSince.set(name, c.at);
    if (isEligible) {
      this.ineligibleSince.delete(name);
      this.removedAt.delete(name);
    }
  }

  /** Called once the deletions of one reconcile are committed. */
  recordsRemoved(deletes: readonly RecordDelete[], at: number): void {
    const ttlByNode = new Map<string, number>();
    for (const d of deletes) {
      if (d.node === null) continue;
      const ttl = d.record.ttl === 1 ? AUTO_TTL_SECONDS : d.record.ttl;
      ttlByNode.set(d.node, Math.max(ttl, ttlByNode.get(d.node) ?? 0));
    }
    for (const [node, ttl] of ttlByNode) {
      const since = this.ineligibleSince.get(node);
      if (since !== undefined) {
        this.observer.reaction(node, at - since);
        this.ineligibleSince.delete(node);
      }
      if (!deletes.some((d) => d.node === node && d.reason === 'node-deleted')) this.removedAt.set(node, { at, ttl });
    }
    for (const [k, t] of this.ineligibleSince) if (at - t > FORGET_AFTER_MS) this.ineligibleSince.delete(k);
    for (const [k, v] of this.removedAt) if (at - v.at > FORGET_AFTER_MS) this.removedAt.delete(k);
  }
}
