/**
 * Active health checks as a source of signals: each node is probed, for each probe some hostname
 * asks for, every interval (jittered), a bounded number at a time, and no longer once the node
 * is gone. A verdict changes only after the thresholds in a row. The source is synced once the
 * first round — every target known when probing started — has answered, so nothing is planned
 * from probes that have not run yet.
 */
import type { SourceStatus } from '../kube/list-watch.js';
import type { HostnameSpec, NodeSnapshot, ProbeSpec, ProbeVerdict } from '../model/types.js';
import { probeKey } from '../reconcile/probe-spec.js';
import { safeTimeout } from '../util/timers.js';
import { check as realCheck, type CheckOptions, type ProbeResult } from './check.js';
import { initialVerdict, nextVerdict, type Thresholds } from './verdict.js';

export interface ProbeTarget {
  readonly key: string;
  readonly node: string;
  readonly spec: ProbeSpec;
  /** What is probed: the node's InternalIP or its published address; undefined when it has none. */
  readonly address: string | undefined;
}

export interface ProberOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly thresholds: Thresholds;
  /** internal: the node's InternalIP (reachable from the pod network); external: the address published. */
  readonly address: 'internal' | 'external';
  readonly host?: string | undefined;
  readonly tlsVerify?: boolean;
  /** Probes in flight at most. */
  readonly concurrency?: number;
  readonly check?: (spec: ProbeSpec, address: string, opts: CheckOptions) => Promise<ProbeResult>;
  readonly random?: () => number;
}

export interface ProberHooks {
  /** Every result (metrics). */
  result?(t: ProbeTarget, r: ProbeResult): void;
  /** A verdict that changed state (Events, logs). */
  transition?(t: ProbeTarget, before: ProbeVerdict, after: ProbeVerdict): void;
  /** Something the plan reads changed: a verdict's state, or the first round completed. */
  changed?(): void;
}

export interface ProbeEvidence extends ProbeVerdict {
  readonly node: string;
  readonly probe: string;
  readonly address: string | null;
}

export class Prober {
  private readonly targets = new Map<string, { target: ProbeTarget; timer: NodeJS.Timeout | undefined }>();
  private readonly verdictOf = new Map<string, ProbeVerdict>();
  private readonly queue: string[] = [];
  private inFlight = 0;
  private started = false;
  private firstRound: Set<string> | undefined;
  private synced = false;
  private stopped = false;
  private rounds = 0;

  constructor(private readonly opts: ProberOptions, private readonly hooks: ProberHooks = {}) {}

  /** Probes what the nodes and hostnames ask for now: new targets start, gone ones stop. */
  update(nodes: readonly NodeSnapshot[], hostnames: readonly HostnameSpec[]): void {
    if (this.stopped) return;
    const specs = new Map<string, ProbeSpec>();
    for (const h of hostnames) if (h.probe) specs.set(h.probe.text, h.probe);
    const wanted = new Map<string, ProbeTarget>();
    for (const n of nodes) {
      const address = this.opts.address === 'internal' ? n.internalIp : n.ipv4[0] ?? n.ipv6[0];
      for (const spec of specs.values()) {
        const key = probeKey(n.name, spec);
        wanted.set(key, { key, node: n.name, spec, address });
      }
    }
    for (const [key, t] of this.targets) {
      if (wanted.has(key)) continue;
      clearTimeout(t.timer);
      this.targets.delete(key);
      this.verdictOf.delete(key);
      this.firstRound?.delete(key);
    }
    const first = !this.started;
    for (const [key, target] of wanted) {
      const known = this.targets.get(key);
      if (known) { this.targets.set(key, { ...known, target }); continue; } // the address may have changed
      this.targets.set(key, { target, timer: undefined });
      this.verdictOf.set(key, initialVerdict(first));
      // The first round runs at once; a target that appears later within a second (jittered).
      this.schedule(key, first ? 0 : this.random() * Math.min(1_000, this.opts.intervalMs));
    }
    if (first) {
      this.started = true;
      this.firstRound = new Set(wanted.keys());
      this.checkSynced();
    }
  }

  status(): SourceStatus {
    return { synced: this.synced, watching: this.started && !this.stopped, lists: this.rounds, watchRestarts: 0, lastError: undefined, unconfirmed: 0 };
  }

  verdicts(): ReadonlyMap<string, ProbeVerdict> {
    return this.verdictOf;
  }

  /** Every target with its verdict and last result, for /health and the status page. */
  evidence(): ProbeEvidence[] {
    return [...this.targets.values()].map(({ target }) => ({
      node: target.node, probe: target.spec.text, address: target.address ?? null, ...(this.verdictOf.get(target.key) ?? initialVerdict(false)),
    })).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.probe < b.probe ? -1 : 1));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.targets.values()) clearTimeout(t.timer);
    this.queue.length = 0;
  }

  private random(): number {
    return (this.opts.random ?? Math.random)();
  }

  private schedule(key: string, delayMs: number): void {
    const t = this.targets.get(key);
    if (t === undefined || this.stopped) return;
    clearTimeout(t.timer);
    t.timer = safeTimeout(() => {
      t.timer = undefined;
      this.queue.push(key);
      this.drain();
    }, delayMs);
  }

  private drain(): void {
    while (this.inFlight < (this.opts.concurrency ?? 32) && this.queue.length > 0) {
      const key = this.queue.shift()!;
      const t = this.targets.get(key);
      if (t === undefined) continue;
      this.inFlight++;
      void this.probe(t.target).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async probe(target: ProbeTarget): Promise<void> {
    const result: ProbeResult = target.address === undefined
      ? { ok: false, latencyMs: 0, detail: this.opts.address === 'internal' ? 'the node has no InternalIP to probe' : 'the node has no external address to probe' }
      : await (this.opts.check ?? realCheck)(target.spec, target.address, { timeoutMs: this.opts.timeoutMs, host: this.opts.host, tlsVerify: this.opts.tlsVerify ?? false });
    if (this.stopped || !this.targets.has(target.key)) return;
    const before = this.verdictOf.get(target.key) ?? initialVerdict(false);
    const after = nextVerdict(before, result, Date.now(), this.opts.thresholds);
    this.verdictOf.set(target.key, after);
    this.hooks.result?.(target, result);
    if (after.state !== before.state) {
      this.hooks.transition?.(target, before, after);
      this.hooks.changed?.();
    }
    if (this.firstRound?.delete(target.key)) this.checkSynced();
    // Next one an interval later, give or take a tenth, so probes of many nodes spread out.
    this.schedule(target.key, this.opts.intervalMs * (0.9 + 0.2 * this.random()));
  }

  private checkSynced(): void {
    if (this.synced || (this.firstRound?.size ?? 1) > 0) return;
    this.synced = true;
    this.rounds++;
    this.hooks.changed?.();
  }
}
