/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: lease 15 s, renew
 * deadline 10 s, retry 2 s. Expiry is judged by when this replica last saw the lease change
 * (its own clock), never by comparing clocks. Optimistic concurrency (resourceVersion, 409)
 * decides races. A leader that cannot renew within the deadline stops leading — before its
 * lease can expire — so two replicas never both write.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import type { LeaseApi, LeaseRecord, StoredLease } from './lease-api.js';

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

export class LeaderElector {
  private leading = false;
  private lastRenewAt = 0;
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly api: LeaseApi,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
    private readonly callbacks: LeaderCallbacks,
  ) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** True only while leading AND the last renewal is younger than the renew deadline. */
  isLeader(now: number = Date.now()): boolean {
    return this.leading && now - this.lastRenewAt < this.renewDeadlineMs;
  }

  /** The holder this replica last saw, or undefined when the lease is free or unknown. */
  leader(): string | undefined {
    if (this.isLeader()) return this.opts.identity;
    const h = this.observed?.holderIdentity;
    return h ? h : undefined;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew();
      const now = Date.now();
      if (ok) {
        this.lastRenewAt = now;
        if (!this.leading) {
          this.leading = true;
          this.log.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became the leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenewAt >= this.renewDeadlineMs) {
        this.stopLeading('could not renew the lease within the renew deadline');
      }
      // Leaders renew every retry period; followers retry with jitter so they do not stampede.
      const wait = this.leading ? this.retryMs : this.retryMs * (1 + Math.random() * 0.2);
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Gives the lease up (on SIGTERM) so a follower takes over without waiting for expiry. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.stopLeading('shutting down');
    const current = this.observed;
    if (current?.holderIdentity !== this.opts.identity) return;
    const now = Date.now();
    try {
      await this.api.write(this.opts.namespace, this.opts.name, {
        holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: current.leaseTransitions,
      }, current.resourceVersion);
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not release the leader lease; it will expire');
    }
  }

  private stopLeading(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ identity: this.opts.identity, why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = Date.now();
    const desired = (prev: StoredLease | undefined): LeaseRecord => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      acquireTime: prev?.holderIdentity === identity ? prev.acquireTime : now,
      renewTime: now,
      leaseTransitions: prev === undefined ? 0 : prev.holderIdentity === identity ? prev.leaseTransitions : prev.leaseTransitions + 1,
    });
    try {
      const current = await this.api.get(namespace, name);
      if (current === undefined) {
        this.observe(await this.api.write(namespace, name, desired(undefined)), now);
        return true;
      }
      this.observe(current, now);
      const heldByOther = current.holderIdentity !== '' && current.holderIdentity !== identity;
      const expiresAt = this.observedAt + current.leaseDurationSeconds * 1000;
      if (heldByOther && now < expiresAt) return false;
      this.observe(await this.api.write(namespace, name, desired(current), current.resourceVersion), now);
      return true;
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  /** Remembers the lease and, when it changed, when this replica saw it change. */
  private observe(lease: StoredLease, now: number): void {
    const prev = this.observed;
    if (prev === undefined || prev.resourceVersion !== lease.resourceVersion || prev.holderIdentity !== lease.holderIdentity) {
      this.observedAt = now;
    }
    this.observed = lease;
  }
}
