/** Prometheus metrics (prom-client), all prefixed epictetus_. Gauges are read from the status at scrape time. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ControllerStatus } from '../controller/status.js';
import type { SourceStatus } from '../kube/list-watch.js';

export interface MetricsSources {
  readonly controller: () => ControllerStatus;
  readonly watches: () => Record<string, SourceStatus>;
  readonly isLeader: () => boolean;
  /** Nodes carrying Epictetus' delay-deletion annotation now. */
  readonly nodesHeld: () => number;
  /** What Cloudflare's rate limit leaves, as its last answer said. */
  readonly rateBudget?: () => { readonly limit: number; readonly remaining: number } | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly cloudflareRequests: Counter<'method' | 'status'>;
  readonly retries: Counter<'api' | 'code'>;
  readonly rateLimitWaits: Counter;
  readonly reactionLatency: Histogram;
  readonly removalLeadTime: Histogram;
  readonly holdDuration: Histogram;
  readonly probeDuration: Histogram;
  readonly probeResults: Counter<'result'>;

  constructor() {
    const r = [this.registry];
    // Process metrics (RSS, heap, GC, event-loop lag): what a memory limit must be set from.
    collectDefaultMetrics({ register: this.registry, prefix: 'epictetus_' });
    this.reconciles = new Counter({ name: 'epictetus_reconciles_total', help: 'Reconciles by result (changed, noop, failed, skipped as a follower)', labelNames: ['result'], registers: r });
    this.cloudflareRequests = new Counter({ name: 'epictetus_cloudflare_requests_total', help: 'Cloudflare API requests by HTTP method and status (0: no answer)', labelNames: ['method', 'status'], registers: r });
    this.retries = new Counter({ name: 'epictetus_retries_total', help: 'Retried API calls by API and error code', labelNames: ['api', 'code'], registers: r });
    this.rateLimitWaits = new Counter({ name: 'epictetus_rate_limit_waits_seconds_total', help: 'Seconds spent waiting on Cloudflare rate limits (429 Retry-After)', registers: r });
    this.reactionLatency = new Histogram({
      name: 'epictetus_reaction_latency_seconds', registers: r,
      help: 'From the node event that made a node ineligible to the moment its records were gone from Cloudflare',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.removalLeadTime = new Histogram({
      name: 'epictetus_removal_lead_time_seconds', registers: r,
      help: 'From the removal of a node\'s records to the deletion of the Node object (below the record TTL, clients may have been sent to a dead node)',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    });
    this.holdDuration = new Histogram({
      name: 'epictetus_hold_duration_seconds', registers: r,
      help: 'How long retiring nodes were held with the delay-deletion annotation',
      buckets: [1, 5, 10, 30, 60, 90, 110, 120, 300],
    });
    this.probeDuration = new Histogram({
      name: 'epictetus_probe_duration_seconds', registers: r, help: 'How long health probes took to answer (or fail)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.probeResults = new Counter({ name: 'epictetus_probe_results_total', help: 'Health probe results (success, failure)', labelNames: ['result'], registers: r });
  }

  /** Gauges read from the status at scrape time; called once what they read exists. */
  readFrom(sources: MetricsSources): void {
    const r = [this.registry];
    new Gauge({
      name: 'epictetus_cloudflare_rate_limit_remaining', help: 'Requests left in the current Cloudflare rate-limit window, as its last answer said (-1: not known)', registers: r,
      collect() { this.set(sources.rateBudget?.()?.remaining ?? -1); },
    });
    new Gauge({
      name: 'epictetus_hostnames_without_records', help: 'Claimed hostnames in a zone that have no record (degraded)', registers: r,
      collect() {
        const s = sources.controller();
        this.set(s.hostnames.filter((h) => h.zone !== null && !h.frozen && (s.managedRecords[h.name] ?? 0) === 0).length);
      },
    });
    new Gauge({
      name: 'epictetus_nodes_held', help: 'Nodes held with the delay-deletion annotation now', registers: r,
      collect() { this.set(sources.nodesHeld()); },
    });
    new Gauge({
      name: 'epictetus_nodes', help: 'Nodes by state and reason (a node excluded for several reasons counts under each)', labelNames: ['state', 'reason'], registers: r,
      collect() {
        this.reset();
        const verdicts = sources.controller().verdicts;
        this.set({ state: 'eligible', reason: '' }, verdicts.filter((v) => v.eligible).length);
        const byReason = new Map<string, number>();
        for (const v of verdicts) for (const reason of v.reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
        for (const [reason, n] of byReason) this.set({ state: 'excluded', reason }, n);
      },
    });
    new Gauge({
      name: 'epictetus_managed_records', help: 'Managed records per hostname', labelNames: ['hostname'], registers: r,
      collect() {
        this.reset();
        for (const [hostname, n] of Object.entries(sources.controller().managedRecords)) this.set({ hostname }, n);
      },
    });
    new Gauge({
      name: 'epictetus_foreign_records', help: 'Records on managed hostnames left alone (not owned)', labelNames: ['hostname', 'reason'], registers: r,
      collect() {
        this.reset();
        for (const f of sources.controller().foreignRecords) this.inc({ hostname: f.name, reason: f.reason });
      },
    });
    new Gauge({
      name: 'epictetus_records_held', help: 'Removals held back by a guard', labelNames: ['guard'], registers: r,
      collect() {
        const held = sources.controller().held;
        for (const guard of ['safety-floor', 'mass-removal-guard']) this.set({ guard }, held.filter((h) => h.reason === guard).length);
      },
    });
    new Gauge({
      name: 'epictetus_watch_restarts', help: 'Watch restarts since start, by resource', labelNames: ['resource'], registers: r,
      collect() {
        for (const [resource, s] of Object.entries(sources.watches())) this.set({ resource }, s.watchRestarts);
      },
    });
    new Gauge({
      name: 'epictetus_leader', help: '1 when this replica is the leader (or leader election is off)', registers: r,
      collect() { this.set(sources.isLeader() ? 1 : 0); },
    });
    new Gauge({
      name: 'epictetus_last_successful_sync_timestamp_seconds', help: 'Unix time of the last successful full sync', registers: r,
      collect() {
        const t = sources.controller().lastSuccessfulSync;
        this.set(t === undefined ? 0 : Date.parse(t) / 1000);
      },
    });
  }
}
