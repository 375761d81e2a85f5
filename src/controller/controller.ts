/**
 * The control loop: the sources' snapshots in, one pure plan, the changes out, zone by zone.
 * Level-based: each reconcile compares the whole desired state with the whole current state, so
 * a missed event costs latency, never correctness. Nothing is planned before every source has
 * completed a list, whatever called it and whatever the mode.
 */
import type { DnsProvider } from '../cloudflare/provider.js';
import type { SourceStatus } from '../kube/list-watch.js';
import type { Logger } from '../log/logger.js';
import { EpictetusError, errorCode, errorMessage } from '../model/errors.js';
import type { Changes, DnsRecord, RecordType } from '../model/types.js';
import type { ClaimConflict, RefusedClaim, ServiceProblem } from '../reconcile/claims.js';
import { desiredState, type Desired, type Signals } from '../reconcile/desired.js';
import { recordViews } from '../reconcile/record-views.js';
import { changeCount, plan, type Plan, type ZoneChanges } from '../reconcile/plan.js';
import type { NodePolicy } from '../reconcile/policy.js';
import { guardKey } from '../reconcile/safety.js';
import type { Zone } from '../reconcile/zones.js';
import { backoffDelay } from '../util/retry.js';
import { safeTimeout } from '../util/timers.js';
import { applyZone } from './apply-zone.js';
import { FormerNodes, HealthRemovalWindow, Refusals } from './recent.js';
import { Reporter } from './reporter.js';
import { Scheduler, type Job } from './scheduler.js';
import type { ControllerStatus } from './status.js';
import { ZoneCache } from './zone-cache.js';

export interface ControllerOptions {
  /** Zone ids to manage; empty: every zone the token sees. */
  readonly zoneIds: readonly string[];
  /** Re-discover zones at every full sync (false when zone ids are pinned). */
  readonly rediscoverZones: boolean;
  readonly ownerId: string;
  readonly ownerAliases?: readonly string[];
  readonly minRecordsPerHostname: number;
  readonly maxUnhealthyFraction?: number;
  readonly policy?: NodePolicy;
  /** `upsert-only`: never delete. */
  readonly changePolicy?: 'sync' | 'upsert-only';
  readonly syncIntervalMs: number;
  readonly retryBaseDelayMs: number;
  readonly recordTypes?: readonly RecordType[];
  readonly commentMaxLength?: number;
  /** Events within this long after a reconcile started gather into the next one. */
  readonly quietMs?: number;
  /** How long SIGTERM waits for an in-flight reconcile. */
  readonly shutdownGraceMs?: number;
  /** A reconcile is cut off after this long (kept below the liveness timeout). */
  readonly reconcileBudgetMs?: number;
  /** Plan and log, but never write. */
  readonly dryRun?: boolean;
}

/** What the shell wants to hear about: metrics, Events, removal timing. */
export interface ControllerHooks {
  reconciled?(result: 'changed' | 'noop' | 'failed' | 'skipped'): void;
  /** Changes committed in one zone. */
  applied?(changes: Changes, at: number): void;
  serviceProblem?(problem: ServiceProblem): void;
  claimRefused?(refusal: RefusedClaim): void;
  /** A full sync (every zone's records listed and planned) ended: a good moment to collect garbage. */
  fullSyncEnded?(recordsRead: number): void;
}

/** Every signal, as the sources have it now, with what the claims' resolution found. */
export interface ControllerSignals extends Signals {
  readonly conflicts: readonly ClaimConflict[];
  readonly problems: readonly ServiceProblem[];
  readonly refusedClaims: readonly RefusedClaim[];
}

export interface ControllerDeps {
  readonly provider: DnsProvider;
  /** Every source of signals: nothing is planned until each has listed once. */
  readonly sources: ReadonlyArray<{ readonly name: string; status(): SourceStatus }>;
  readonly signals: () => ControllerSignals;
  readonly log: Logger;
  /** False while another replica leads: then nothing is read from or written to Cloudflare. */
  readonly canWrite?: () => boolean;
  readonly hooks?: ControllerHooks;
}

const MAX_PASSES = 3;
const ZONE_RETRY_MIN_MS = 1_000;

interface ApplyTally { calls: number; creates: number; updates: number; deletes: number }

export class Controller {
  private readonly scheduler: Scheduler;
  private readonly cache: ZoneCache;
  private readonly reporter: Reporter;
  private readonly formerNodes = new FormerNodes();
  private readonly healthRemovals = new HealthRemovalWindow();
  private readonly refusals = new Refusals();
  private syncTimer: NodeJS.Timeout | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private everSynced = false;
  private lastPlan: Plan | undefined;
  /**
   * What the last plan was made from. The desired state itself is not kept: its address maps cost
   * ~200 bytes a node, and only the status page's record views read it (rebuilt from these).
   */
  private planned: { signals: Signals; excludedFor: Desired['excludedFor'] } | undefined;
  private lastSignals: ControllerSignals | undefined;
  private waitingFor: string[] = [];
  /** The first plan's lists were logged (a start-up phase operators and the benchmarks read). */
  private listsAnnounced = false;
  /** A job that asked to re-read Cloudflare had to wait for the sources: the next one re-reads. */
  private rereadOwed = false;
  private readonly startedAt = new Date().toISOString();
  private lastSuccessfulSync: string | undefined;
  private lastReconcile: string | undefined;
  private consecutiveFailures = 0;
  private lastError: ControllerStatus['lastError'];
  private readonly counts = { ok: 0, failed: 0, noop: 0, skipped: 0 };

  constructor(private readonly opts: ControllerOptions, private readonly deps: ControllerDeps) {
    this.scheduler = new Scheduler((job) => this.reconcile(job), { quietMs: opts.quietMs ?? 50 });
    this.cache = new ZoneCache(deps.provider, { zoneIds: opts.zoneIds, rediscover: opts.rediscoverZones, retryBaseDelayMs: opts.retryBaseDelayMs });
    this.reporter = new Reporter(deps.log, {
      minRecordsPerHostname: opts.minRecordsPerHostname, maxUnhealthyFraction: opts.maxUnhealthyFraction ?? 1,
      guardWindowMs: this.healthRemovals.windowMs,
      ...(deps.hooks?.serviceProblem ? { onServiceProblem: deps.hooks.serviceProblem } : {}),
      ...(deps.hooks?.claimRefused ? { onClaimRefused: deps.hooks.claimRefused } : {}),
    });
  }

  /** Starts the loop: a full sync as soon as every source has listed, then one every sync interval. */
  start(): void {
    this.started = true;
    this.request('startup', true, 0);
  }

  /** A source saw something change (or listed): reconcile soon. Deleted nodes' IPs are remembered to name them. */
  onSourceChange(source: string, deleted: ReadonlyArray<{ name: string; ips: readonly string[]; at: number }> = []): void {
    for (const d of deleted) this.formerNodes.deleted(d.name, d.ips, d.at);
    if (!this.started) return;
    this.scheduler.trigger(`${source.replace(/s$/, '')}-change`);
  }

  /** Asks for a reconcile within `delayMs`; a refresh re-reads Cloudflare first. */
  request(reason: string, refresh: boolean, delayMs: number): void {
    if (this.started) this.scheduler.request(reason, refresh, delayMs);
  }

  /** Stops timers and waits (bounded) for an in-flight reconcile to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.syncTimer);
    clearTimeout(this.recheckTimer);
    await this.scheduler.stop(this.opts.shutdownGraceMs ?? 10_000);
  }

  /** The A/AAAA contents of the records last read (undefined when unknown, as on a follower). */
  publishedIps(): ReadonlySet<string> | undefined {
    return this.cache.publishedIps();
  }

  /** Resolves when no reconcile is running or scheduled (for tests and one-shot runs). */
  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  status(): ControllerStatus {
    const p = this.lastPlan;
    const s = this.lastSignals;
    const now = Date.now();
    const views = () => this.recordViewsNow();
    // The per-node and per-record parts are getters: readiness, liveness and most metrics never
    // read them, and at thousands of nodes building them costs tens of milliseconds per call.
    return {
      startedAt: this.startedAt,
      synced: this.everSynced,
      waitingFor: this.waitingFor,
      lastSuccessfulSync: this.lastSuccessfulSync,
      lastReconcile: this.lastReconcile,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      reconciles: { ...this.counts },
      verdicts: this.lastVerdicts,
      get nodeAddresses() {
        return Object.fromEntries((s?.nodes ?? []).map((n) => [n.name, { ipv4: n.ipv4, ipv6: n.ipv6, internal: n.internalIp ?? null }]));
      },
      excludedFor: Object.fromEntries([...(this.planned?.excludedFor ?? [])].map(([h, m]) => [h, Object.fromEntries(m)])),
      get hostnameRecords() { return views(); },
      hostnames: p?.hostnames ?? [],
      conflicts: s?.conflicts ?? [],
      serviceProblems: s?.problems ?? [],
      refusedClaims: s?.refusedClaims ?? [],
      managedRecords: Object.fromEntries(p?.managedAfter ?? []),
      foreignRecords: p?.foreign ?? [],
      held: p?.held ?? [],
      refused: p?.refused.filter((r) => this.refusals.current(now).has(r.key)) ?? [],
      moves: p?.moves ?? [],
      skipped: p?.skipped ?? [],
      zones: this.cache.status().zones,
      recentChanges: this.reporter.recentChanges(),
      busySince: this.scheduler.busySince,
      lastProgressAt: this.scheduler.lastProgressAt,
    };
  }

  private lastVerdicts: ControllerStatus['verdicts'] = [];
  /** The last record views and what they were built from: rebuilt only when one of those changed. */
  private views: { plan: Plan; signals: Signals; zones: readonly Zone[]; records: ReadonlyArray<readonly DnsRecord[]>; out: ControllerStatus['hostnameRecords'] } | undefined;

  private recordViewsNow(): ControllerStatus['hostnameRecords'] {
    const plan = this.lastPlan;
    const signals = this.planned?.signals;
    if (plan === undefined || signals === undefined) return {};
    const zones = this.cache.known();
    const records = [...this.cache.current().values()];
    const v = this.views;
    if (v !== undefined && v.plan === plan && v.signals === signals && v.zones === zones
      && v.records.length === records.length && v.records.every((r, i) => r === records[i])) return v.out;
    const desired = this.desiredFrom(signals, Date.now());
    const out = Object.fromEntries(recordViews(desired, zones, this.cache.current(), plan, this.opts.ownerId));
    this.views = { plan, signals, zones, records, out };
    return out;
  }

  private desiredFrom(signals: Signals, now: number): Desired {
    return desiredState(signals, this.opts.recordTypes ?? ['A'], this.opts.policy, now);
  }

  private scheduleFullSync(): void {
    clearTimeout(this.syncTimer);
    if (this.stopped) return;
    this.syncTimer = safeTimeout(() => {
      this.scheduler.tick();
      this.request('full-sync', true, 0);
    }, this.opts.syncIntervalMs);
  }

  private canWrite(): boolean {
    return this.deps.canWrite?.() ?? true;
  }

  private async reconcile(job: Job): Promise<void> {
    const { log, hooks } = this.deps;
    if (!this.canWrite()) {
      // A follower keeps its Kubernetes caches warm and leaves Cloudflare alone; on takeover it re-reads.
      this.cache.invalidate();
      this.counts.skipped++;
      hooks?.reconciled?.('skipped');
      this.scheduleFullSync();
      return;
    }
    const waiting = this.deps.sources.filter((s) => !s.status().synced).map((s) => s.name);
    if (waiting.length > 0) {
      // No plan before every list is in: a missing Service would look like an unclaimed hostname,
      // a missing node like a deleted one. The source's first list asks again.
      if (waiting.join() !== this.waitingFor.join()) {
        log.info({ waitingFor: waiting }, `waiting for ${this.everSynced ? 'a fresh' : 'the first'} list of ${waiting.join(' and ')} before planning anything`);
      }
      this.waitingFor = waiting;
      this.rereadOwed ||= job.refresh;
      this.counts.skipped++;
      hooks?.reconciled?.('skipped');
      return;
    }
    if (this.waitingFor.length > 0 || !this.listsAnnounced) {
      log.info({ listed: this.deps.sources.map((s) => s.name) }, `${this.listsAnnounced ? 'fresh' : 'first'} lists in: planning`);
      this.listsAnnounced = true;
    }
    this.waitingFor = [];
    const full = job.refresh || this.rereadOwed || !this.everSynced;
    this.rereadOwed = false;
    const signal = AbortSignal.timeout(this.opts.reconcileBudgetMs ?? 120_000);
    const zoneErrors: Array<{ zone: string; err: unknown }> = [];
    const done: ApplyTally = { calls: 0, creates: 0, updates: 0, deletes: 0 };
    try {
      const signals = this.deps.signals();
      this.lastSignals = signals;
      const claimed = [...signals.hostnames.map((h) => h.name), ...(signals.inDoubt?.keys() ?? [])];
      const fresh = await this.cache.read(claimed, full, signal);
      // Plan, apply; plan again when an operation was refused or deletions were withheld for it.
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const p = this.planNow(signals, pass === 0);
        let again = false;
        let reread = false;
        for (const zc of p.zones) {
          if (changeCount(zc) === 0) continue;
          if (this.opts.dryRun) {
            this.reporter.changes(zc, true);
            continue;
          }
          if (!this.canWrite()) {
            log.warn('lost the leadership during a reconcile: stopping before the next batch');
            this.cache.invalidate();
            break;
          }
          try {
            const next = await this.applyZone(zc, fresh.has(zc.zone.id), signal, done);
            again ||= next !== 'done';
            reread ||= next === 'reread';
          } catch (err) {
            zoneErrors.push({ zone: zc.zone.name, err });
            this.cache.failed(zc.zone.id, err, true);
            log.error({ zone: zc.zone.name, code: errorCode(err), err: errorMessage(err) }, `changes to zone ${zc.zone.name} failed; other zones go on`);
          }
        }
        if (!again) break;
        if (reread) for (const id of await this.cache.read(claimed, false, signal)) fresh.add(id);
      }
      for (const z of this.cache.status().zones) if (z.read === 'failed') zoneErrors.push({ zone: z.name, err: new EpictetusError(z.code ?? 'EPI_CF_UNEXPECTED', z.error ?? 'read failed') });
      if (signal.aborted) throw signal.reason;
      this.finish(full, done, job, zoneErrors);
    } catch (err) {
      this.failed(signal.aborted ? this.timedOut() : err, job);
    }
  }

  /** The plan from the signals and the records known now; the first pass of a reconcile reports what it finds. */
  private planNow(signals: ControllerSignals, report: boolean): Plan {
    const now = Date.now();
    const desired = this.desiredFrom(signals, now);
    this.lastVerdicts = desired.verdicts;
    this.planned = { signals, excludedFor: desired.excludedFor };
    const p = plan({
      desired, zones: this.cache.known(), records: this.cache.current(),
      owner: this.opts.ownerId, ownerAliases: this.opts.ownerAliases ?? [],
      minRecordsPerHostname: this.opts.minRecordsPerHostname,
      maxUnhealthyFraction: this.opts.maxUnhealthyFraction ?? 1,
      commentMaxLength: this.opts.commentMaxLength ?? 100,
      formerNodes: this.formerNodes.map(now),
      recentHealthRemovals: this.healthRemovals.counts(now),
      refused: this.refusals.current(now),
      policy: this.opts.changePolicy ?? 'sync',
    });
    // Kept for the status, which needs no changes: right after the first sync of a big cluster
    // those are thousands of creates (memory per node).
    this.lastPlan = { ...p, zones: [] };
    if (report) {
      this.reporter.findings({ plan: p, zones: this.cache.status(), ...signals });
      this.scheduleRecheck(desired.recheckAt, now);
    }
    return p;
  }

  /**
   * Applies one zone's changes and says what next: `done`; `replan` (an operation was refused,
   * or deletions were withheld until the plan counts without it); `reread` (refused while
   * planned from cached records: most likely drift, a record made behind its back).
   */
  private async applyZone(zc: ZoneChanges, fresh: boolean, signal: AbortSignal, tally: ApplyTally): Promise<'done' | 'replan' | 'reread'> {
    const r = await applyZone(this.deps.provider, zc, {
      mayWrite: () => this.canWrite(), signal,
      onCommitted: (res) => this.cache.applied(zc.zone.id, res.created, res.updated, res.deletedIds),
    });
    const done = r.committed;
    tally.calls += r.calls;
    tally.creates += done.creates.length;
    tally.updates += done.updates.length;
    tally.deletes += done.deletes.length;
    const at = Date.now();
    for (const d of done.deletes) if (d.health) this.healthRemovals.add(guardKey(d.record.name, d.record.type), at);
    if (changeCount(done) > 0) {
      this.reporter.changes(done, false);
      this.deps.hooks?.applied?.(done, at);
    }
    if (r.refused.size > 0 && !fresh) {
      this.cache.invalidate(zc.zone.id);
      return 'reread';
    }
    if (r.refused.size > 0) {
      this.refusals.add(r.refused, at);
      this.reporter.refused(zc.zone.name, r.refused);
      return 'replan';
    }
    return r.deletesWithheld ? 'replan' : 'done';
  }

  private finish(full: boolean, tally: ApplyTally, job: Job, zoneErrors: Array<{ zone: string; err: unknown }>): void {
    const { log, hooks } = this.deps;
    const { calls, ...done } = tally;
    if (calls > 0) log.info({ ...done, batchCalls: calls, trigger: job.reasons.join(',') }, 'reconciled');
    else log.debug({ trigger: job.reasons.join(','), full }, 'reconciled: no changes');
    this.lastReconcile = new Date().toISOString();
    const first = zoneErrors[0];
    const rateLimited = zoneErrors.find((e) => errorCode(e.err) === 'EPI_CF_RATE_LIMITED');
    if (first !== undefined && (rateLimited !== undefined || !this.cache.status().zones.some((z) => z.read === 'ok'))) {
      // Nothing could be done (or the token is rate-limited, which holds for every zone): back off as one.
      const e = rateLimited ?? first;
      this.failed(new EpictetusError(errorCode(e.err), `zone ${e.zone}: ${errorMessage(e.err)}`,
        e.err instanceof EpictetusError ? { retryable: e.err.retryable, ...(e.err.retryAfterMs !== undefined ? { retryAfterMs: e.err.retryAfterMs } : {}) } : {}), job, false);
      return;
    }
    if (full) {
      this.everSynced = true;
      this.lastSuccessfulSync = this.lastReconcile;
      this.scheduleFullSync();
      hooks?.fullSyncEnded?.([...this.cache.current().values()].reduce((n, r) => n + r.length, 0));
    }
    this.counts[calls > 0 ? 'ok' : 'noop']++;
    hooks?.reconciled?.(calls > 0 ? 'changed' : 'noop');
    this.consecutiveFailures = 0;
    this.scheduler.clearHoldOff();
    if (first === undefined) {
      this.lastError = undefined;
      return;
    }
    // Some zones failed: the others went on, and events keep being acted on at once; each failed
    // zone is read again after its own back-off.
    this.lastError = { at: new Date().toISOString(), code: errorCode(first.err), message: `zone ${first.zone}: ${errorMessage(first.err)}` };
    // Never sooner than a second: a zone error with nothing to wait for must not spin the loop.
    this.request('zone-retry', false, Math.max(ZONE_RETRY_MIN_MS, (this.cache.nextRetryAt() ?? 0) - Date.now()));
  }

  private failed(err: unknown, job: Job, forgetCache = true): void {
    const { log, hooks } = this.deps;
    if (forgetCache) this.cache.invalidate(); // re-read rather than guess
    this.counts.failed++;
    hooks?.reconciled?.('failed');
    this.consecutiveFailures++;
    this.lastError = { at: new Date().toISOString(), code: errorCode(err), message: errorMessage(err) };
    // No sooner than a failed zone may be read again: retrying before would only count another failure.
    const delay = Math.max(this.retryDelay(err), (this.cache.nextRetryAt() ?? 0) - Date.now());
    log.error({ code: this.lastError.code, err: this.lastError.message, retryInMs: delay, failures: this.consecutiveFailures, trigger: job.reasons.join(',') }, 'reconcile failed; will retry');
    this.scheduler.holdOff(Date.now() + delay); // a Retry-After or the back-off holds for every trigger
    this.request('retry', true, delay);
  }

  /** A reconcile is bounded, so that a hanging API never looks like a wedged loop. */
  private timedOut(): EpictetusError {
    const s = Math.round((this.opts.reconcileBudgetMs ?? 120_000) / 1000);
    return new EpictetusError('EPI_RECONCILE_TIMEOUT', `a reconcile took longer than ${s} s (half of LIVENESS_TIMEOUT) and was stopped; what it committed stays, the rest is retried`, { retryable: true });
  }

  private retryDelay(err: unknown): number {
    const retryAfter = err instanceof EpictetusError ? err.retryAfterMs : undefined;
    return Math.min(retryAfter ?? backoffDelay(Math.max(0, this.consecutiveFailures - 1), Math.max(this.opts.retryBaseDelayMs, 100)), 5 * 60_000);
  }

  /** A readiness grace period ends later: look again then. */
  private scheduleRecheck(at: number | undefined, now: number): void {
    clearTimeout(this.recheckTimer);
    if (at === undefined || this.stopped) return;
    this.recheckTimer = safeTimeout(() => this.request('grace-ended', false, 0), at - now + 10);
  }
}
