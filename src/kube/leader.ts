/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: lease 15 s, renew
 * deadline 10 s, retry 2 s; optimistic concurrency (resourceVersion, 409) decides races.
 *
 * Every deadline is on this replica's monotonic clock, never the wall clock:
 * - a renewal counts from when its request was SENT, so a slow answer cannot stretch it, and
 *   leadership ends renewDeadline after the last successful renewal was sent — before anyone
 *   else can see the lease expire (they count leaseDuration from when they saw it change,
 *   which is after we sent it, and renewDeadline < leaseDuration);
 * - each attempt is bounded (callTimeout, and for a leader its renew deadline), so a hung call
 *   cannot keep the loop, or the leadership, alive;
 * - another holder's lease expires leaseDuration after THIS replica saw it change.
 * A replica that cannot read or write its Lease says so (WARN, then ERROR with the fix) once per
 * distinct problem, and `problem()` reports it for the readiness probe.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { EpictetusError, errorMessage } from '../model/errors.js';
import type { LeaseApi, LeaseRecord, StoredLease } from './lease-api.js';

export interface LeaderClock {
  /** Monotonic ms (performance.now()): every deadline. */
  now(): number;
  /** Wall-clock ms: only written into the Lease, for people and other clients. */
  wall(): number;
  /** Resolves after `ms` of the monotonic clock, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: LeaderClock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  /** Must be below leaseDurationMs. */
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Bound of one attempt (get + write); default 5 s. A leader's is also its renew deadline. */
  readonly callTimeoutMs?: number;
  readonly clock?: LeaderClock;
}

export interface LeaderCallbacks {
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

type Outcome = 'holding' | 'held-by-other';

const TIMED_OUT = Symbol('timed out');

export class LeaderElector {
  private leading = false;
  /** Monotonic time the last successful acquire/renew was sent. */
  private renewedAt = -Infinity;
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly callTimeoutMs: number;
  private readonly clock: LeaderClock;
  private trouble: { key: string; text: string; since: number; logged: 'warn' | 'error' } | undefined;
  private problemText: string | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
    private readonly callbacks: LeaderCallbacks,
  ) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5_000;
    this.clock = opts.clock ?? systemClock;
    if (!(this.renewDeadlineMs < this.leaseMs)) throw new EpictetusError('EPI_CONFIG', `leader election: the renew deadline (${this.renewDeadlineMs} ms) must be below the lease duration (${this.leaseMs} ms)`);
    if (!(this.retryMs < this.renewDeadlineMs)) throw new EpictetusError('EPI_CONFIG', `leader election: the retry period (${this.retryMs} ms) must be below the renew deadline (${this.renewDeadlineMs} ms)`);
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** True only while leading AND the last successful renewal was sent less than the renew deadline ago. */
  isLeader(): boolean {
    return this.leading && this.clock.now() < this.renewedAt + this.renewDeadlineMs;
  }

  /** The holder this replica last saw, or undefined when the lease is free or unknown. */
  leader(): string | undefined {
    if (this.isLeader()) return this.opts.identity;
    const h = this.observed?.holderIdentity;
    return h ? h : undefined;
  }

  /** Why this replica cannot take part in the election, or undefined when its last Lease call worked (or lost a fair race). */
  problem(): string | undefined {
    return this.problemText;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.attempt(signal);
      // Leaders renew every retry period (and wake at their renew deadline, to stop on time);
      // followers retry with jitter so they do not stampede.
      const wait = this.leading
        ? Math.max(0, Math.min(this.retryMs, this.renewedAt + this.renewDeadlineMs - this.clock.now()))
        : this.retryMs * (1 + Math.random() * 0.2);
      await this.clock.sleep(wait, signal);
    }
  }

  /** One bounded acquire-or-renew; true when this replica holds the lease afterwards. */
  async attempt(signal?: AbortSignal): Promise<boolean> {
    this.checkDeadline();
    const sentAt = this.clock.now();
    const deadline = this.leading ? Math.min(this.renewedAt + this.renewDeadlineMs, sentAt + this.callTimeoutMs) : sentAt + this.callTimeoutMs;
    let outcome: Outcome;
    try {
      outcome = await this.bounded((s) => this.tryAcquireOrRenew(sentAt, s), deadline - sentAt, signal);
    } catch (err) {
      if (signal?.aborted) return false;
      this.failed(err);
      this.checkDeadline();
      return false;
    }
    this.worked();
    if (outcome === 'held-by-other') {
      this.stopLeading(`the lease is held by ${this.observed?.holderIdentity ?? 'another replica'}`);
      return false;
    }
    if (this.clock.now() >= deadline) {
      // The answer came after the bound (a call that ignored its signal): it extends nothing.
      this.checkDeadline();
      return false;
    }
    this.renewedAt = sentAt;
    if (!this.leading) {
      this.leading = true;
      this.log.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became the leader');
      this.callbacks.onStartedLeading();
    }
    return true;
  }

  /** Gives the lease up (on SIGTERM) so a follower takes over without waiting for expiry. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.stopLeading('shutting down');
    const current = this.observed;
    if (current?.holderIdentity !== this.opts.identity) return;
    const wall = this.clock.wall();
    try {
      await this.bounded((signal) => this.api.write(this.opts.namespace, this.opts.name, {
        holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wall, renewTime: wall, leaseTransitions: current.leaseTransitions,
      }, current.resourceVersion, { signal, timeoutMs: this.callTimeoutMs }), this.callTimeoutMs);
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not release the leader lease; it will expire');
    }
  }

  private checkDeadline(): void {
    if (this.leading && !this.isLeader()) this.stopLeading('could not renew the lease within the renew deadline');
  }

  private stopLeading(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ identity: this.opts.identity, why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  /** `work` with a signal that aborts after `ms` (monotonic), or when `outer` aborts; EPI_LEASE_TIMEOUT past the bound. */
  private async bounded<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, outer?: AbortSignal): Promise<T> {
    const call = new AbortController();
    const timer = new AbortController();
    const stop = () => call.abort(outer?.reason);
    outer?.addEventListener('abort', stop, { once: true });
    try {
      const result = await Promise.race([work(call.signal), this.clock.sleep(Math.max(0, ms), timer.signal).then(() => TIMED_OUT)]);
      if (result === TIMED_OUT) {
        throw new EpictetusError('EPI_LEASE_TIMEOUT', `Lease ${this.opts.namespace}/${this.opts.name}: no answer within ${(ms / 1000).toFixed(1)} s`, { retryable: true });
      }
      return result as T;
    } finally {
      outer?.removeEventListener('abort', stop);
      timer.abort();
      call.abort();
    }
  }

  private async tryAcquireOrRenew(sentAt: number, signal: AbortSignal): Promise<Outcome> {
    const { namespace, name, identity } = this.opts;
    const wall = this.clock.wall();
    const call = { signal, timeoutMs: this.callTimeoutMs };
    const desired = (prev: StoredLease | undefined): LeaseRecord => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: prev?.holderIdentity === identity ? prev.acquireTime : wall,
      renewTime: wall,
      leaseTransitions: prev === undefined ? 0 : prev.holderIdentity === identity ? prev.leaseTransitions : prev.leaseTransitions + 1,
    });
    const current = await this.api.get(namespace, name, call);
    if (current === undefined) {
      this.observe(await this.api.write(namespace, name, desired(undefined), undefined, call));
      return 'holding';
    }
    this.observe(current);
    const heldByOther = current.holderIdentity !== '' && current.holderIdentity !== identity;
    // Judged by when this replica saw the lease change, never by the renewTime another clock wrote.
    if (heldByOther && sentAt < this.observedAt + current.leaseDurationSeconds * 1000) return 'held-by-other';
    this.observe(await this.api.write(namespace, name, desired(current), current.resourceVersion, call));
    return 'holding';
  }

  /** Remembers the lease and, when it changed, when this replica saw it change (on receipt: the later, safer time). */
  private observe(lease: StoredLease): void {
    const prev = this.observed;
    if (prev === undefined || prev.resourceVersion !== lease.resourceVersion || prev.holderIdentity !== lease.holderIdentity) {
      this.observedAt = this.clock.now();
    }
    this.observed = lease;
  }

  private worked(): void {
    this.problemText = undefined;
    if (this.trouble !== undefined) {
      this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}` }, 'Lease calls work again');
      this.trouble = undefined;
    }
  }

  /** A 409 is a fair race; anything else is a problem, said once per distinct problem. */
  private failed(err: unknown): void {
    const lease = `${this.opts.namespace}/${this.opts.name}`;
    if (err instanceof EpictetusError && err.code === 'EPI_LEASE_CONFLICT') {
      this.log.debug({ lease }, 'lost a race for the lease');
      this.worked();
      return;
    }
    const status = err instanceof EpictetusError ? err.status : undefined;
    const now = this.clock.now();
    const message = errorMessage(err);
    const fix = status === 401
      ? 'Fix: the API refused the credentials; check the service account token or the kubeconfig user'
      : status === 403
        ? `Fix: grant the service account get, create and update on leases (coordination.k8s.io) in namespace ${this.opts.namespace} (a Role and RoleBinding)`
        : status === 404
          ? `Fix: namespace ${this.opts.namespace} does not exist; set LEASE_NAMESPACE to an existing namespace, or create it`
          : undefined;
    const text = `leader election cannot use Lease ${lease}: ${message}${fix ? `. ${fix}` : ''}`;
    this.problemText = text;
    const code = err instanceof EpictetusError ? err.code : 'error';
    // The same problem, however its message varies (a timeout's bound does).
    const key = code === 'EPI_LEASE_TIMEOUT' ? code : `${code}:${status ?? ''}:${message}`;
    const fatal = status === 401 || status === 403 || status === 404;
    const since = this.trouble?.since ?? now;
    const level: 'warn' | 'error' = fatal || now - since > this.leaseMs ? 'error' : 'warn';
    const fields = { lease, identity: this.opts.identity, ...(status !== undefined ? { status } : {}), failingForS: Math.round((now - since) / 1000) };
    if (this.trouble?.key !== key || (this.trouble.logged === 'warn' && level === 'error')) {
      this.log[level](fields, text);
    } else {
      this.log.debug({ ...fields, err: message }, 'lease acquire/renew failed');
    }
    const logged = this.trouble?.key === key && this.trouble.logged === 'error' ? 'error' : level;
    this.trouble = { key, text, since, logged };
  }
}
