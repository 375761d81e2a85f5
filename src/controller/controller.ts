/**
 * The control loop: debounced node triggers, an interval full sync, one reconcile at a time,
 * retries with backoff. Level-based: each reconcile compares the whole desired state with the
 * whole current state, so a missed event costs latency, never correctness.
 */
import type { DnsProvider } from '../cloudflare/provider.js';
import type { Logger } from '../log/logger.js';
import { errorCode, errorMessage, EpictetusError } from '../model/errors.js';
import type { DnsRecord, HostnameSpec, NodeSnapshot, RecordType } from '../model/types.js';
import { desiredState } from '../reconcile/desired.js';
import { plan, type Plan } from '../reconcile/plan.js';
import { backoffDelay } from '../util/retry.js';
import type { NodeChange } from '../kube/node-source.js';
import type { ChangeLogEntry, ControllerStatus } from './status.js';

export interface ControllerOptions {
  readonly zoneId: string;
  readonly hostnames: readonly HostnameSpec[];
  readonly ownerId: string;
  readonly minRecordsPerHostname: number;
  readonly syncIntervalMs: number;
  readonly retryBaseDelayMs: number;
  readonly recordTypes?: readonly RecordType[];
  readonly commentMaxLength?: number;
  /** How long node events are gathered into one reconcile. */
  readonly debounceMs?: number;
  /** How long SIGTERM waits for an in-flight reconcile. */
  readonly shutdownGraceMs?: number;
}

export interface ControllerDeps {
  readonly provider: DnsProvider;
  readonly nodes: () => Iterable<NodeSnapshot>;
  readonly log: Logger;
}

const FORMER_NODE_MEMORY_MS = 15 * 60_000;
const RECENT_CHANGES = 50;

export class Controller {
  private cache: DnsRecord[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private syncTimer: NodeJS.Timeout | undefined;
  private pending: { refresh: boolean; reasons: Set<string> } | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly formerNodes = new Map<string, { name: string; at: number }>();
  private readonly reportedForeign = new Set<string>();
  private readonly recentChanges: ChangeLogEntry[] = [];
  private lastPlan: Plan | undefined;
  private lastVerdicts: ControllerStatus['verdicts'] = [];
  private readonly startedAt = new Date().toISOString();
  private synced = false;
  private lastSuccessfulSync: string | undefined;
  private lastReconcile: string | undefined;
  private consecutiveFailures = 0;
  private lastError: ControllerStatus['lastError'];
  private readonly counts = { ok: 0, failed: 0, noop: 0 };
  private busySince: number | undefined;
  private lastProgressAt = Date.now();

  constructor(private readonly opts: ControllerOptions, private readonly deps: ControllerDeps) {}

  /** Starts the loop: a full sync now, then one every sync interval. */
  start(): void {
    this.request('startup', true, 0);
  }

  /** Called by the node source: remember deleted nodes' IPs (to name them), then reconcile soon. */
  onNodeChanges(changes: readonly NodeChange[]): void {
    for (const c of changes) {
      if (c.type === 'deleted' && c.before) {
        for (const ip of [...c.before.ipv4, ...c.before.ipv6]) this.formerNodes.set(ip, { name: c.name, at: c.at });
      }
    }
    this.deps.log.debug({ changes: changes.map((c) => `${c.type}:${c.name}`).slice(0, 20), count: changes.length }, 'node changes');
    this.request('node-change', false, this.opts.debounceMs ?? 50);
  }

  /** Stops timers and waits (bounded) for an in-flight reconcile to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.syncTimer);
    if (this.running) {
      const grace = this.opts.shutdownGraceMs ?? 10_000;
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((r) => { t = setTimeout(r, grace); })]);
      clearTimeout(t);
    }
  }

  /** Resolves when no reconcile is running or scheduled (for tests and one-shot runs). */
  async idle(): Promise<void> {
    while (this.running || this.pending) {
      await (this.running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  status(): ControllerStatus {
    const p = this.lastPlan;
    return {
      startedAt: this.startedAt,
      synced: this.synced,
      lastSuccessfulSync: this.lastSuccessfulSync,
      lastReconcile: this.lastReconcile,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      reconciles: { ...this.counts },
      verdicts: this.lastVerdicts,
      managedRecords: Object.fromEntries(p?.managedAfter ?? []),
      foreignRecords: p?.foreign ?? [],
      heldByFloor: p?.held ?? [],
      recentChanges: [...this.recentChanges],
      busySince: this.busySince,
      lastProgressAt: this.lastProgressAt,
    };
  }

  /** Asks for a reconcile within `delayMs`; a refresh re-reads Cloudflare first. */
  request(reason: string, refresh: boolean, delayMs: number): void {
    if (this.stopped) return;
    this.pending = { refresh: refresh || (this.pending?.refresh ?? false), reasons: new Set([...(this.pending?.reasons ?? []), reason]) };
    if (this.running) return; // the running reconcile picks it up when it ends
    const due = Date.now() + delayMs;
    if (this.timer && due >= this.timerDue) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.fire(), delayMs);
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

  private formerNodeMap(): Map<string, string> {
    const cutoff = Date.now() - FORMER_NODE_MEMORY_MS;
    const out = new Map<string, string>();
    for (const [ip, { name, at }] of this.formerNodes) {
      if (at < cutoff) this.formerNodes.delete(ip);
      else out.set(ip, name);
    }
    return out;
  }

  private async reconcile(refresh: boolean, reasons: string[]): Promise<void> {
    const { log } = this.deps;
    this.busySince = Date.now();
    const full = refresh || this.cache === undefined;
    try {
      if (full) this.cache = await this.deps.provider.listRecords(this.opts.zoneId);
      const desired = desiredState(this.deps.nodes(), this.opts.hostnames, this.opts.recordTypes ?? ['A']);
      const p = plan({
        desired, current: this.cache ?? [], owner: this.opts.ownerId,
        minRecordsPerHostname: this.opts.minRecordsPerHostname,
        commentMaxLength: this.opts.commentMaxLength ?? 100,
        formerNodes: this.formerNodeMap(),
      });
      this.lastVerdicts = desired.verdicts;
      this.report(p);
      const changeCount = p.creates.length + p.updates.length + p.deletes.length;
      if (changeCount > 0) {
        const result = await this.deps.provider.apply(this.opts.zoneId, p);
        this.applyToCache(result.created, result.updated, result.deletedIds);
        this.logChanges(p);
        log.info({ creates: p.creates.length, updates: p.updates.length, deletes: p.deletes.length, batchCalls: result.calls, trigger: reasons.join(',') }, 'reconciled');
        this.counts.ok++;
      } else {
        this.counts.noop++;
        log.debug({ trigger: reasons.join(','), full }, 'reconciled: no changes');
      }
      this.lastPlan = p;
      this.lastReconcile = new Date().toISOString();
      this.consecutiveFailures = 0;
      if (full) {
        this.synced = true;
        this.lastSuccessfulSync = this.lastReconcile;
        this.scheduleFullSync();
      }
    } catch (err) {
      this.cache = undefined; // a failed batch changes nothing, but re-read rather than guess
      this.counts.failed++;
      this.consecutiveFailures++;
      this.lastError = { at: new Date().toISOString(), code: errorCode(err), message: errorMessage(err) };
      const retryAfter = err instanceof EpictetusError ? err.retryAfterMs : undefined;
      // A rejected change planned from cached records most likely met drift: re-read at once.
      const staleCache = !full && err instanceof EpictetusError && !err.retryable && this.consecutiveFailures === 1;
      const delay = staleCache ? 0 : Math.min(retryAfter ?? backoffDelay(this.consecutiveFailures - 1, Math.max(this.opts.retryBaseDelayMs, 100)), 5 * 60_000);
      log.error({ code: this.lastError.code, err: this.lastError.message, retryInMs: delay, failures: this.consecutiveFailures }, 'reconcile failed; will retry');
      this.request('retry', true, delay);
    } finally {
      this.busySince = undefined;
    }
  }

  private applyToCache(created: readonly DnsRecord[], updated: readonly DnsRecord[], deletedIds: readonly string[]): void {
    if (this.cache === undefined) return;
    const gone = new Set([...deletedIds, ...updated.map((r) => r.id)]);
    this.cache = [...this.cache.filter((r) => !gone.has(r.id)), ...updated, ...created];
  }

  private remember(entry: Omit<ChangeLogEntry, 'at'>): void {
    this.recentChanges.unshift({ at: new Date().toISOString(), ...entry });
    this.recentChanges.length = Math.min(this.recentChanges.length, RECENT_CHANGES);
  }

  private logChanges(p: Plan): void {
    const { log } = this.deps;
    for (const c of p.creates) {
      log.info({ action: 'create', hostname: c.name, type: c.type, ip: c.content, node: c.node, reason: c.reason }, `DNS record created: ${c.name} ${c.type} ${c.content}`);
      this.remember({ action: 'create', hostname: c.name, type: c.type, ip: c.content, node: c.node, reason: c.reason });
    }
    for (const u of p.updates) {
      log.info({ action: 'update', hostname: u.record.name, type: u.record.type, ip: u.record.content, node: u.node, reason: u.reason }, `DNS record updated: ${u.record.name} ${u.record.type} ${u.record.content}`);
      this.remember({ action: 'update', hostname: u.record.name, type: u.record.type, ip: u.record.content, node: u.node, reason: u.reason });
    }
    for (const d of p.deletes) {
      log.info({ action: 'delete', hostname: d.record.name, type: d.record.type, ip: d.record.content, node: d.node, reason: d.reason }, `DNS record deleted: ${d.record.name} ${d.record.type} ${d.record.content}`);
      this.remember({ action: 'delete', hostname: d.record.name, type: d.record.type, ip: d.record.content, node: d.node, reason: d.reason });
    }
  }

  private report(p: Plan): void {
    const { log } = this.deps;
    for (const h of p.held) {
      log.warn({ hostname: h.record.name, type: h.record.type, ip: h.record.content, node: h.node, wouldBe: h.wouldBe, floor: this.opts.minRecordsPerHostname },
        `SAFETY FLOOR: keeping ${h.record.name} ${h.record.content} although it should go (${h.wouldBe}): removing it would leave fewer than ${this.opts.minRecordsPerHostname} record(s)`);
    }
    const seen = new Set<string>();
    for (const f of p.foreign) {
      seen.add(f.id);
      if (this.reportedForeign.has(f.id)) continue;
      this.reportedForeign.add(f.id);
      log.warn({ hostname: f.name, type: f.type, ip: f.content, owner: f.owner, reason: f.reason },
        `leaving alone a record this instance does not own: ${f.name} ${f.type} ${f.content} (${f.reason})`);
    }
    for (const id of this.reportedForeign) if (!seen.has(id)) this.reportedForeign.delete(id);
  }
}
