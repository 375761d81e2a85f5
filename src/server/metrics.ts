/**
 * Prometheus metrics, all prefixed epictetus_. Gauges and the process figures are read at scrape
 * time: between scrapes nothing runs (no event-loop-lag sampler, no GC observer).
 */
import { readdirSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, Sampled } from './prometheus.js';
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
    const r = this.registry;
    processMetrics(r);
    this.reconciles = new Counter({ name: 'epictetus_reconciles_total', help: 'Reconciles by result (changed, noop, failed, skipped as a follower)', labelNames: ['result'] }, r);
    this.cloudflareRequests = new Counter({ name: 'epictetus_cloudflare_requests_total', help: 'Cloudflare API requests by HTTP method and status (0: no answer)', labelNames: ['method', 'status'] }, r);
    this.retries = new Counter({ name: 'epictetus_retries_total', help: 'Retried API calls by API and error code', labelNames: ['api', 'code'] }, r);
    this.rateLimitWaits = new Counter({ name: 'epictetus_rate_limit_waits_seconds_total', help: 'Seconds spent waiting on Cloudflare rate limits (429 Retry-After)' }, r);
    this.reactionLatency = new Histogram({
      name: 'epictetus_reaction_latency_seconds',
      help: 'From the node event that made a node ineligible to the moment its records were gone from Cloudflare',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    }, r);
    this.removalLeadTime = new Histogram({
      name: 'epictetus_removal_lead_time_seconds',
      help: 'From the removal of a node\'s records to the deletion of the Node object (below the record TTL, clients may have been sent to a dead node)',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    }, r);
    this.holdDuration = new Histogram({
      name: 'epictetus_hold_duration_seconds',
      help: 'How long retiring nodes were held with the delay-deletion annotation',
      buckets: [1, 5, 10, 30, 60, 90, 110, 120, 300],
    }, r);
    this.probeDuration = new Histogram({
      name: 'epictetus_probe_duration_seconds', help: 'How long health probes took to answer (or fail)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }, r);
    this.probeResults = new Counter({ name: 'epictetus_probe_results_total', help: 'Health probe results (success, failure)', labelNames: ['result'] }, r);
  }

  /** Gauges read from the status at scrape time; called once what they read exists. */
  readFrom(sources: MetricsSources): void {
    const r = this.registry;
    new Gauge({
      name: 'epictetus_cloudflare_rate_limit_remaining', help: 'Requests left in the current Cloudflare rate-limit window, as its last answer said (-1: not known)',
      collect(g) { g.set(sources.rateBudget?.()?.remaining ?? -1); },
    }, r);
    new Gauge({
      name: 'epictetus_hostnames_without_records', help: 'Claimed hostnames in a zone that have no record (degraded)',
      collect(g) {
        const s = sources.controller();
        g.set(s.hostnames.filter((h) => h.zone !== null && !h.frozen && (s.managedRecords[h.name] ?? 0) === 0).length);
      },
    }, r);
    new Gauge({
      name: 'epictetus_nodes_held', help: 'Nodes held with the delay-deletion annotation now',
      collect(g) { g.set(sources.nodesHeld()); },
    }, r);
    new Gauge({
      name: 'epictetus_nodes', help: 'Nodes by state and reason (a node excluded for several reasons counts under each)', labelNames: ['state', 'reason'],
      collect(g) {
        g.reset();
        const verdicts = sources.controller().verdicts;
        g.set({ state: 'eligible', reason: '' }, verdicts.filter((v) => v.eligible).length);
        const byReason = new Map<string, number>();
        for (const v of verdicts) for (const reason of v.reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
        for (const [reason, n] of byReason) g.set({ state: 'excluded', reason }, n);
      },
    }, r);
    new Gauge({
      name: 'epictetus_managed_records', help: 'Managed records per hostname', labelNames: ['hostname'],
      collect(g) {
        g.reset();
        for (const [hostname, n] of Object.entries(sources.controller().managedRecords)) g.set({ hostname }, n);
      },
    }, r);
    new Gauge({
      name: 'epictetus_foreign_records', help: 'Records on managed hostnames left alone (not owned)', labelNames: ['hostname', 'reason'],
      collect(g) {
        g.reset();
        for (const f of sources.controller().foreignRecords) g.inc({ hostname: f.name, reason: f.reason });
      },
    }, r);
    new Gauge({
      name: 'epictetus_records_held', help: 'Removals held back by a guard', labelNames: ['guard'],
      collect(g) {
        const held = sources.controller().held;
        for (const guard of ['safety-floor', 'mass-removal-guard']) g.set({ guard }, held.filter((h) => h.reason === guard).length);
      },
    }, r);
    new Gauge({
      name: 'epictetus_watch_restarts', help: 'Watch restarts since start, by resource', labelNames: ['resource'],
      collect(g) {
        for (const [resource, s] of Object.entries(sources.watches())) g.set({ resource }, s.watchRestarts);
      },
    }, r);
    new Gauge({
      name: 'epictetus_leader', help: '1 when this replica is the leader (or leader election is off)',
      collect(g) { g.set(sources.isLeader() ? 1 : 0); },
    }, r);
    new Gauge({
      name: 'epictetus_last_successful_sync_timestamp_seconds', help: 'Unix time of the last successful full sync',
      collect(g) {
        const t = sources.controller().lastSuccessfulSync;
        g.set(t === undefined ? 0 : Date.parse(t) / 1000);
      },
    }, r);
  }
}

/**
 * What a memory limit is set from, read at scrape time: RSS, heap, CPU, start time, open file
 * descriptors, under the names client libraries give them (epictetus_process_*, epictetus_nodejs_*).
 */
function processMetrics(r: Registry): void {
  const startS = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100;
  const cpu = () => process.cpuUsage();
  new Sampled({ name: 'epictetus_process_cpu_user_seconds_total', help: 'User CPU time spent in seconds', type: 'counter', value: () => cpu().user / 1e6 }, r);
  new Sampled({ name: 'epictetus_process_cpu_system_seconds_total', help: 'System CPU time spent in seconds', type: 'counter', value: () => cpu().system / 1e6 }, r);
  new Sampled({ name: 'epictetus_process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds', type: 'counter', value: () => { const c = cpu(); return (c.user + c.system) / 1e6; } }, r);
  new Sampled({ name: 'epictetus_process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds', type: 'gauge', value: () => startS }, r);
  new Sampled({ name: 'epictetus_process_resident_memory_bytes', help: 'Resident memory size in bytes', type: 'gauge', value: () => process.memoryUsage.rss() }, r);
  new Sampled({ name: 'epictetus_process_open_fds', help: 'Number of open file descriptors', type: 'gauge', value: openFds }, r);
  new Sampled({ name: 'epictetus_nodejs_heap_size_total_bytes', help: 'Process heap size from Node.js in bytes', type: 'gauge', value: () => process.memoryUsage().heapTotal }, r);
  new Sampled({ name: 'epictetus_nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes', type: 'gauge', value: () => process.memoryUsage().heapUsed }, r);
  new Sampled({ name: 'epictetus_nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes', type: 'gauge', value: () => process.memoryUsage().external }, r);
  new Gauge({
    name: 'epictetus_nodejs_version_info', help: 'Node.js version info', labelNames: ['version', 'major', 'minor', 'patch'],
    collect(g) {
      const [major = '', minor = '', patch = ''] = process.versions.node.split('.');
      g.set({ version: process.version, major, minor, patch }, 1);
    },
  }, r);
}

/** Open file descriptors (Linux: /proc/self/fd); NaN where that cannot be read. */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the one this listing opened
  } catch {
    return NaN;
  }
}
