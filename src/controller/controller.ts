/**
 * The control loop: debounced node triggers, an interval full sync, one reconcile at a time,
 * retries with backoff. Level-based: each reconcile compares the whole desired state with the
 * whole current state, so a missed event costs latency, never correctness.
 */
import type { DnsProvider } from '../cloudflare/provider.js';
import type { Logger } from '../log/logger.js';
import { errorCode, errorMessage, EpictetusError } from '../model/errors.js';
import type { DnsRecord, HostnameSpec, NodeSnapshot, RecordType } from '../model/types.js';
import type { ClaimConflict, ServiceProblem } from '../reconcile/claims.js';
import { desiredState } from '../reconcile/desired.js';
import type { Plan } from '../reconcile/plan.js';
import { changeCount, planZones } from '../reconcile/plan-zones.js';
import type { NodePolicy } from '../reconcile/policy.js';
import type { Zone } from '../reconcile/zones.js';
import { backoffDelay } from '../util/retry.js';
import type { Change } from '../kube/list-watch.js';
import { Reporter } from './reporter.js';
import type { ControllerStatus } from './status.js';

export interface ControllerOptions {
  /** Zone ids to manage; empty: every zone the token sees. */
  readonly zoneIds: readonly string[];
  /** Re-discover zones at every full sync (false when one zone id is pinned). */
  readonly rediscoverZones: boolean;
  readonly ownerId: string;
  readonly minRecordsPerHostname: number;
  readonly maxUnhealthyFraction?: number;
  readonly policy?: NodePolicy;
  readonly syncIntervalMs: number;
  readonly retryBaseDelayMs: number;
  readonly recordTypes?: readonly RecordType[];
  readonly commentMaxLength?: number;
  /** How long node events are gathered into one reconcile. */
  readonly debounceMs?: number;
  /** How long SIGTERM waits for an in-flight reconcile. */
  readonly shutdownGraceMs?: number;
  /** Plan and log, but never write. */
  readonly dryRun?: boolean;
}

/** What the shell wants to hear about: metrics, Events, removal timing. */
export interface ControllerHooks {
  reconciled?(result: 'changed' | 'noop' | 'failed' | 'skipped'): void;
  /** One zone's changes are committed. */
  applied?(changes: Plan, at: number): void;
  serviceProblem?(problem: ServiceProblem): void;
}

export interface ControllerDeps {
  readonly provider: DnsProvider;
  readonly nodes: () => Iterable<NodeSnapshot>;
  /** The hostnames claimed right now (DNS_HOSTNAMES and Services), with any claim problems. */
  readonly hostnames: () => ResolvedHostnames;
  readonly log: Logger;
  /** False while another replica leads: then nothing is read from or written to Cloudflare. */
  readonly canWrite?: () => boolean;
  readonly hooks?: ControllerHooks;
}

export interface ResolvedHostnames {
  readonly hostnames: readonly HostnameSpec[];
  readonly conflicts: readonly ClaimConflict[];
  readonly problems: readonly ServiceProblem[];
}

const FORMER_NODE_MEMORY_MS = 15 * 60_000;
/** Health removals this recent count against the mass-removal guard together with new ones. */
const GUARD_WINDOW_MS = 5 * 60_000;

export class Controller {
  private zones: Zone[] | undefined;
  /** zone id -> its records as last read, kept up to date with each batch's answer. */
  private cache: Map<string, DnsRecord[]> | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private syncTimer: NodeJS.Timeout | undefined;
  private pending: { refresh: boolean; reasons: Set<string> } | undefined;
  /** After a failure: no reconcile before this (ms epoch), whatever asks for one. */
  private notBefore = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly formerNodes = new Map<string, { name: string; at: number }>();
  private healthRemovals: Array<{ key: string; at: number }> = [];
  private readonly reporter: Reporter;
  private lastPlans: Plan[] = [];
  private lastVerdicts: ControllerStatus['verdicts'] = [];
  private lastHostnames: ControllerStatus['hostnames'] = [];
  private lastClaims: Pick<ResolvedHostnames, 'conflicts' | 'problems'> = { conflicts: [], problems: [] };
  private readonly startedAt = new Date().toISOString();
  private synced = false;
  private lastSuccessfulSync: string | undefined;
  private lastReconcile: string | undefined;
  private consecutiveFailures = 0;
  private lastError: ControllerStatus['lastError'];
  private readonly counts = { ok: 0, failed: 0, noop: 0, skipped: 0 };
  private busySince: number | undefined;
  private lastProgressAt = Date.now();

  constructor(private readonly opts: ControllerOptions, private readonly deps: ControllerDeps) {
    this.reporter = new Reporter(deps.log, {
      minRecordsPerHostname: opts.minRecordsPerHostname, maxUnhealthyFraction: opts.maxUnhealthyFraction ?? 1,
      guardWindowMs: GUARD_WINDOW_MS, ...(deps.hooks?.serviceProblem ? { onServiceProblem: deps.hooks.serviceProblem } : {}),
    });
  }

  /** Starts the loop: a full sync now, then one every sync interval. */
  start(): void {
    this.request('startup', true, 0);
  }

  /** Called by the node source: remember deleted nodes' IPs (to name them), then reconcile soon. */
  onNodeChanges(changes: readonly Change<NodeSnapshot>[]): void {
    for (const c of changes) {
      if (c.type === 'deleted' && c.before) {
        for (const ip of [...c.before.ipv4, ...c.before.ipv6]) this.formerNodes.set(ip, { name: c.key, at: c.at });
      }
    }
    this.deps.log.debug({ changes: changes.map((c) => `${c.type}:${c.key}`).slice(0, 20), count: changes.length }, 'node changes');
    this.request('node-change', false, this.opts.debounceMs ?? 50);
  }

  /** Called by the service source: the claimed hostnames may have changed. */
  onServiceChanges(changes: readonly Change<unknown>[]): void {
    this.deps.log.debug({ changes: changes.map((c) => `${c.type}:${c.key}`).slice(0, 20), count: changes.length }, 'service changes');
    this.request('service-change', false, this.opts.debounceMs ?? 50);
  }

  /** Stops timers and waits (bounded) for an in-flight reconcile to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.syncTimer);
    clearTimeout(this.recheckTimer);
    if (this.running) {
      const grace = this.opts.shutdownGraceMs ?? 10_000;
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((r) => { t = setTimeout(r, grace); })]);
      clearTimeout(t);
    }
  }

  /** The A/AAAA contents of the records last read (undefined when unknown, as on a follower). */
  publishedIps(): ReadonlySet<string> | undefined {
    if (this.cache === undefined) return undefined;
    const out = new Set<string>();
    for (const records of this.cache.values()) for (const r of records) if (r.type === 'A' || r.type === 'AAAA') out.add(r.content);
    return out;
  }

  /** Resolves when no reconcile is running or scheduled (for tests and one-shot runs). */
  async idle(): Promise<void> {
    while (this.running || this.pending) {
      await (this.running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  status(): ControllerStatus {
    const plans = this.lastPlans;
    const managed: Record<string, number> = {};
    for (const p of plans) for (const [name, n] of p.managedAfter) managed[name] = (managed[name] ?? 0) + n;
    return {
      startedAt: this.startedAt,
      synced: this.synced,
      lastSuccessfulSync: this.lastSuccessfulSync,
      lastReconcile: this.lastReconcile,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      reconciles: { ...this.counts },
      verdicts: this.lastVerdicts,
      hostnames: this.lastHostnames,
      conflicts: this.lastClaims.conflicts,
      serviceProblems: this.lastClaims.problems,
      managedRecords: managed,
      foreignRecords: plans.flatMap((p) => p.foreign),
      held: plans.flatMap((p) => p.held),
      recentChanges: this.reporter.recentChanges(),
      busySince: this.busySince,
      lastProgressAt: this.lastProgressAt,
    };
  }

  /** Asks for a reconcile within `delayMs`; a refresh re-reads Cloudflare first. */
  request(reason: string, refresh: boolean, delayMs: number): void {
    if (this.stopped) return;
    this.pending = { refresh: refresh || (this.pending?.refresh ?? false), reasons: new Set([...(this.pending?.reasons ?? []), reason]) };
    if (this.running) return; // the running reconcile picks it up when it ends
    const due = Math.max(Date.now() + delayMs, this.notBefore);
    if (this.timer && due >= this.timerDue) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.fire(), due - Date.now());
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.stopped || this.running || !this.pending) return;
    const job = this.pending;
    this.pending = undefined;
    this.running = this.reconcile(job.refresh, [...job.reasons]).finally(() => {
      this.running = undefined;
      this.lastProgressAt = Date.now();
      if (this.pending && !this.stopped) this.request([...this.pending.reasons][0] ?? 'pending', this.pending.refresh, 0);
    });
  }

  private scheduleFullSync(): void {
    clearTimeout(this.syncTimer);
    if (this.stopped) return;
    this.syncTimer = setTimeout(() => {
      this.lastProgressAt = Date.now();
      this.request('full-sync', true, 0);
    }, this.opts.syncIntervalMs);
  }

  private recentHealthRemovals(now: number): Map<string, number> {
    this.healthRemovals = this.healthRemovals.filter((r) => now - r.at < GUARD_WINDOW_MS);
    const out = new Map<string, number>();
    for (const r of this.healthRemovals) out.set(r.key, (out.get(r.key) ?? 0) + 1);
    return out;
  }

  private formerNodeMap(): Map<string, string> {
    const cutoff = Date.now() - FORMER_NODE_MEMORY_MS;
    const out = new Map<string, string>();
    for (const [ip, { name, at }] of this.formerNodes) {
      if (at < cutoff) this.formerNodes.delete(ip);
      else out.set(ip, name);
    }
    return out;
  }

  private async readZones(refresh: boolean): Promise<{ zones: Zone[]; cache: Map<string, DnsRecord[]> }> {
    const { provider } = this.deps;
    if (this.zones === undefined || (refresh && this.opts.rediscoverZones)) {
      this.zones = await provider.listZones(this.opts.zoneIds);
    }
    if (this.cache !== undefined && !refresh) return { zones: this.zones, cache: this.cache };
    const cache = new Map<string, DnsRecord[]>();
    for (const z of this.zones) cache.set(z.id, await provider.listRecords(z.id));
    this.cache = cache;
    return { zones: this.zones, cache };
  }

  private canWrite(): boolean {
    return this.deps.canWrite?.() ?? true;
  }

  private async reconcile(refresh: boolean, reasons: string[]): Promise<void> {
    const { log, hooks } = this.deps;
    if (!this.canWrite()) {
      // A follower keeps its Kubernetes caches warm and leaves Cloudflare alone; on takeover it re-reads.
      this.cache = undefined;
      this.counts.skipped++;
      hooks?.reconciled?.('skipped');
      this.scheduleFullSync();
      return;
    }
    this.busySince = Date.now();
    const full = refresh || this.cache === undefined;
    try {
      const { zones, cache } = await this.readZones(full);
      const claims = this.deps.hostnames();
      this.lastClaims = { conflicts: claims.conflicts, problems: claims.problems };
      const now = Date.now();
      const desired = desiredState(this.deps.nodes(), claims.hostnames, this.opts.recordTypes ?? ['A'], this.opts.policy, now);
      this.lastVerdicts = desired.verdicts;
      const planned = planZones({
        desired, zones, records: cache, owner: this.opts.ownerId,
        minRecordsPerHostname: this.opts.minRecordsPerHostname,
        maxUnhealthyFraction: this.opts.maxUnhealthyFraction ?? 1,
        commentMaxLength: this.opts.commentMaxLength ?? 100,
        formerNodes: this.formerNodeMap(),
        recentHealthRemovals: this.recentHealthRemovals(now),
      });
      this.lastHostnames = planned.hostnames;
      const plans = planned.zones.map((z) => z.plan);
      this.reporter.findings({ plans, hostnames: planned.hostnames, zoneNames: zones.map((z) => z.name), ...this.lastClaims });
      let calls = 0;
      for (const { zone, plan: p } of planned.zones) {
        if (changeCount(p) === 0) continue;
        if (this.opts.dryRun) {
          this.reporter.changes(p, true);
          continue;
        }
        if (!this.canWrite()) {
          log.warn('lost the leadership during a reconcile: stopping before the next batch');
          this.cache = undefined;
          break;
        }
        const result = await this.deps.provider.apply(zone.id, p, () => this.canWrite());
        calls += result.calls;
        this.applyToCache(zone.id, result.created, result.updated, result.deletedIds);
        for (const d of p.deletes) if (d.health) this.healthRemovals.push({ key: `${d.record.name.toLowerCase()} ${d.record.type}`, at: now });
        this.reporter.changes(p, false);
        hooks?.applied?.(p, Date.now());
      }
      this.lastPlans = plans;
      const sum = (f: (p: Plan) => number) => plans.reduce((n, p) => n + f(p), 0);
      if (calls > 0) {
        log.info({ creates: sum((p) => p.creates.length), updates: sum((p) => p.updates.length), deletes: sum((p) => p.deletes.length), batchCalls: calls, trigger: reasons.join(',') }, 'reconciled');
        this.counts.ok++;
        hooks?.reconciled?.('changed');
      } else {
        this.counts.noop++;
        hooks?.reconciled?.('noop');
        log.debug({ trigger: reasons.join(','), full }, 'reconciled: no changes');
      }
      this.scheduleRecheck(desired.recheckAt, now);
      this.lastReconcile = new Date().toISOString();
      this.consecutiveFailures = 0;
      this.notBefore = 0;
      if (full) {
        this.synced = true;
        this.lastSuccessfulSync = this.lastReconcile;
        this.scheduleFullSync();
      }
    } catch (err) {
      this.cache = undefined; // a failed batch changes nothing, but re-read rather than guess
      this.counts.failed++;
      hooks?.reconciled?.('failed');
      this.consecutiveFailures++;
      this.lastError = { at: new Date().toISOString(), code: errorCode(err), message: errorMessage(err) };
      const retryAfter = err instanceof EpictetusError ? err.retryAfterMs : undefined;
      // A rejected change planned from cached records most likely met drift: re-read at once.
      const staleCache = !full && err instanceof EpictetusError && !err.retryable && this.consecutiveFailures === 1;
      const delay = staleCache ? 0 : Math.min(retryAfter ?? backoffDelay(this.consecutiveFailures - 1, Math.max(this.opts.retryBaseDelayMs, 100)), 5 * 60_000);
      log.error({ code: this.lastError.code, err: this.lastError.message, retryInMs: delay, failures: this.consecutiveFailures }, 'reconcile failed; will retry');
      this.notBefore = Date.now() + delay; // a Retry-After or the back-off holds for every trigger
      this.request('retry', true, delay);
    } finally {
      this.busySince = undefined;
    }
  }

  /** A readiness grace period ends later: look again then. */
  private scheduleRecheck(at: number | undefined, now: number): void {
    clearTimeout(this.recheckTimer);
    if (at === undefined || this.stopped) return;
    this.recheckTimer = setTimeout(() => this.request('grace-ended', false, 0), Math.max(0, at - now) + 10);
  }

  private applyToCache(zoneId: string, created: readonly DnsRecord[], updated: readonly DnsRecord[], deletedIds: readonly string[]): void {
    const records = this.cache?.get(zoneId);
    if (records === undefined) return;
    const gone = new Set([...deletedIds, ...updated.map((r) => r.id)]);
    this.cache?.set(zoneId, [...records.filter((r) => !gone.has(r.id)), ...updated, ...created]);
  }
}
