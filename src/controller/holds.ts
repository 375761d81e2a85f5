/**
 * Holds a retiring node until resolvers have let go of it. After the autoscaler's taints took a
 * node's records away, the node gets the annotation
 * `delay-deletion.cluster-autoscaler.kubernetes.io/epictetus=<when the records were removed>`;
 * the autoscaler waits while it is there (up to its --node-deletion-delay-timeout). It goes once
 * the records' TTL plus a margin has passed (capped), or at once when the records could not be
 * removed, the taints went away, or leadership was lost. The annotation's value is the state,
 * so a restart or a new leader finishes or releases the holds it finds and leaves none behind.
 */
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import type { NodeSnapshot, RecordDelete } from '../model/types.js';
import { CA_DELETION_CANDIDATE, CA_TO_BE_DELETED, type NodePolicy } from '../reconcile/policy.js';

export interface NodeAnnotator {
  /** Merge-patches one annotation (null removes it); touches nothing else on the Node. */
  setAnnotation(node: string, key: string, value: string | null): Promise<void>;
}

export interface HoldOptions {
  readonly annotation: string;
  readonly marginMs: number;
  readonly maxMs: number;
  readonly policy: Pick<NodePolicy, 'caTaintMode'>;
  /** The TTL (s) to assume for a hold this replica did not place (after a restart or takeover). */
  readonly assumedTtlS: () => number;
}

export interface HoldHooks {
  started?(node: string, untilMs: number): void;
  ended?(node: string, heldMs: number, why: string): void;
}

const AUTO_TTL_SECONDS = 300;

export class HoldManager {
  /** Nodes whose records this replica removed for the autoscaler, until their hold ends. */
  private readonly removed = new Map<string, { at: number; ttlS: number }>();
  private readonly inFlight = new Set<string>();
  private readonly reportedCap = new Set<number>();

  constructor(
    private readonly api: NodeAnnotator,
    private readonly opts: HoldOptions,
    private readonly log: Logger,
    private readonly hooks: HoldHooks = {},
  ) {}

  /**
   * How long a node whose records had this TTL is held: twice the TTL plus the margin. A retired
   * address can be used for about 2×TTL after its removal: a resolver's cache, then a client's own
   * (browsers keep an answer at least 60 s whatever its TTL).
   */
  holdMs(ttlS: number): number {
    const ttl = ttlS === 1 ? AUTO_TTL_SECONDS : ttlS;
    const wanted = 2 * ttl * 1000 + this.opts.marginMs;
    if (wanted > this.opts.maxMs && !this.reportedCap.has(ttl)) {
      this.reportedCap.add(ttl);
      const s = Math.ceil(wanted / 1000);
      this.log.warn({ ttlS: ttl, marginS: this.opts.marginMs / 1000, maxS: this.opts.maxMs / 1000, wantedS: s },
        `HOLD_MAX_SECONDS (${this.opts.maxMs / 1000} s) is shorter than twice the records' TTL plus margin (${s} s): resolvers and clients may still use a retired node's address after its hold ends. Raise the cluster autoscaler's --node-deletion-delay-timeout to at least ${s + 10}s and HOLD_MAX_SECONDS to ${s}, or lower DNS_TTL`);
    }
    return Math.min(wanted, this.opts.maxMs);
  }

  private retiring(n: NodeSnapshot): boolean {
    const a = n.taints[CA_DELETION_CANDIDATE] !== undefined;
    const b = n.taints[CA_TO_BE_DELETED] !== undefined;
    return this.opts.policy.caTaintMode === 'both' ? a && b : a || b;
  }

  /** Called once deletions are committed: remember the nodes the autoscaler's taints emptied. */
  recordsRemoved(deletes: readonly RecordDelete[], at: number): void {
    for (const d of deletes) {
      if (d.node === null || !/(^|,)(both-ca-taints|ca-taint)(,|$)/.test(d.reason)) continue;
      const ttlS = d.record.ttl;
      const prev = this.removed.get(d.node);
      this.removed.set(d.node, { at, ttlS: Math.max(ttlS === 1 ? AUTO_TTL_SECONDS : ttlS, prev?.ttlS ?? 0) });
    }
  }

  /**
   * Level-based: places, keeps or releases each hold from what is true now. Returns when the
   * next hold ends (ms epoch), so the caller can look again then.
   * @param published whether any record still points at one of the node's addresses
   * @param leading false: write nothing (and forget pending placements: the new leader decides)
   */
  async sync(nodes: Iterable<NodeSnapshot>, published: (n: NodeSnapshot) => boolean, leading: boolean, now = Date.now()): Promise<number | undefined> {
    if (!leading) return undefined;
    let next: number | undefined;
    const seen = new Set<string>();
    for (const n of nodes) {
      seen.add(n.name);
      if (this.inFlight.has(n.name)) continue;
      const pending = this.removed.get(n.name);
      if (n.hold === undefined) {
        if (pending === undefined) continue;
        if (!this.retiring(n) || published(n)) { this.removed.delete(n.name); continue; }
        const until = pending.at + this.holdMs(pending.ttlS);
        if (until <= now) { this.removed.delete(n.name); continue; }
        await this.write(n.name, new Date(pending.at).toISOString(), () => {
          this.hooks.started?.(n.name, until);
          this.log.info({ node: n.name, until: new Date(until).toISOString() }, `holding node ${n.name} until resolvers have let go of its records`);
        });
        next = Math.min(next ?? until, until);
        continue;
      }
      const since = Date.parse(n.hold);
      const until = Number.isNaN(since) ? now : since + this.holdMs(pending?.ttlS ?? this.opts.assumedTtlS());
      const why = !this.retiring(n) ? 'the scale-down was cancelled' : published(n) ? 'its records could not be removed'
        : until <= now ? 'the records\' TTL has passed' : undefined;
      if (why === undefined) { next = Math.min(next ?? until, until); continue; }
      await this.write(n.name, null, () => {
        this.removed.delete(n.name);
        const held = Number.isNaN(since) ? 0 : now - since;
        this.hooks.ended?.(n.name, held, why);
        this.log.info({ node: n.name, heldS: Math.round(held / 1000), why }, `released the hold on node ${n.name}: ${why}`);
      });
    }
    for (const name of this.removed.keys()) if (!seen.has(name)) this.removed.delete(name); // deleted nodes
    return next;
  }

  /** On shutdown: a hold nobody will release would make the autoscaler wait for its timeout. */
  async releaseAll(nodes: Iterable<NodeSnapshot>, now = Date.now()): Promise<void> {
    for (const n of nodes) {
      if (n.hold === undefined) continue;
      await this.write(n.name, null, () => {
        const since = Date.parse(n.hold ?? '');
        this.hooks.ended?.(n.name, Number.isNaN(since) ? 0 : now - since, 'shutting down');
        this.log.info({ node: n.name }, `released the hold on node ${n.name}: shutting down`);
      });
    }
  }

  private async write(node: string, value: string | null, done: () => void): Promise<void> {
    this.inFlight.add(node);
    try {
      await this.api.setAnnotation(node, this.opts.annotation, value);
      done();
    } catch (err) {
      this.log.warn({ node, err: errorMessage(err), place: value !== null }, `could not ${value === null ? 'release' : 'place'} the hold on node ${node}; will retry`);
    } finally {
      this.inFlight.delete(node);
    }
  }
}
