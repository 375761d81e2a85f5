/**
 * The sources of signals: Nodes and Services (list+watch, small snapshots), and the hostnames the
 * Services claim. Adding a signal adds a source here and a field to `Signals`; the controller
 * asks `signals()` and refuses to plan until every source in `list()` has listed once.
 */
import type { ControllerSignals } from '../controller/controller.js';
import type { Logger } from '../log/logger.js';
import type { EndpointSliceSnapshot, HostnameSpec, LabelSelector, NodeSnapshot, ServiceSnapshot } from '../model/types.js';
import { Prober, type ProberHooks, type ProberOptions } from '../probe/prober.js';
import { resolveHostnames, type ClaimMemory, type ClaimPolicy, type HostnameDefaults, type ResolvedClaims } from '../reconcile/claims.js';
import { endpointStates } from '../reconcile/endpoints.js';
import { selectorKeys } from '../reconcile/selector.js';
import type { KubeApi } from './api.js';
import { endpointSliceCodec, nodeCodec, serviceCodec } from './codecs.js';
import { LabelsOfInterest } from './labels.js';
import { ListWatch, type Change, type SourceStatus } from './list-watch.js';
import { BASE_LABELS } from './snapshot.js';

export interface SourcesOptions {
  readonly hostnames: readonly HostnameSpec[];
  readonly defaults: HostnameDefaults;
  readonly watchServices: boolean;
  readonly claimPolicy: ClaimPolicy;
  readonly nodeSelector: LabelSelector | null;
  readonly externalIpLabel: string;
  /** A re-list that drops more than this share (at most half) of the nodes, Services or slices waits for a second list. */
  readonly confirmVanishedFraction: number;
  /** Watch EndpointSlices (for hostnames served from a Service's endpoints). */
  readonly watchEndpointSlices?: boolean;
  /** Health probes; the prober's `changed` hook is the source's own. */
  readonly probes?: ProberOptions & { readonly hooks?: Omit<ProberHooks, 'changed'> };
}

export interface SourceEvent {
  readonly source: 'nodes' | 'services' | 'endpointslices' | 'probes';
  readonly changes: readonly Change<NodeSnapshot | ServiceSnapshot | EndpointSliceSnapshot>[];
  /** Nodes that are gone, with their addresses (to name them in removals). */
  readonly deletedNodes: ReadonlyArray<{ name: string; ips: readonly string[]; at: number }>;
}

export class Sources {
  readonly nodes: ListWatch<NodeSnapshot>;
  readonly services: ListWatch<ServiceSnapshot> | undefined;
  readonly endpointSlices: ListWatch<EndpointSliceSnapshot> | undefined;
  readonly prober: Prober;
  private readonly labels: LabelsOfInterest;
  private readonly listeners: Array<(e: SourceEvent) => void> = [];
  private memory: ClaimMemory = new Map();
  private readonly refreshed = new Map<string, () => boolean>();
  private resolved: ResolvedClaims;

  constructor(api: KubeApi, private readonly opts: SourcesOptions, log: Logger) {
    this.labels = new LabelsOfInterest([...BASE_LABELS, ...(opts.nodeSelector ? selectorKeys(opts.nodeSelector) : [])]);
    // A re-list that loses more than the mass-removal fraction (at most half) is confirmed by another.
    const confirm = { confirmVanishedFraction: Math.min(opts.confirmVanishedFraction, 0.5) };
    this.nodes = new ListWatch(api.nodes,
      nodeCodec(() => ({ labels: this.labels.set, externalIpKey: opts.externalIpLabel || undefined })),
      log.child({ component: 'node-watch' }), (changes) => this.emit('nodes', changes), { ...confirm, epoch: () => this.labels.size });
    this.services = opts.watchServices
      ? new ListWatch(api.services, serviceCodec, log.child({ component: 'service-watch' }), (changes) => {
        this.resolve();
        this.emit('services', changes);
      }, confirm)
      : undefined;
    this.endpointSlices = opts.watchEndpointSlices
      ? new ListWatch(api.endpointSlices(), endpointSliceCodec, log.child({ component: 'endpointslice-watch' }), (changes) => this.emit('endpointslices', changes), confirm)
      : undefined;
    this.prober = new Prober(opts.probes ?? PROBES_OFF, { ...opts.probes?.hooks, changed: () => this.emit('probes', []) });
    this.resolved = this.resolve();
  }

  /** Hears every change (and every completed list) of every source. */
  subscribe(listener: (e: SourceEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Starts every list+watch in the background; each retries on its own until `signal` aborts. */
  start(signal: AbortSignal): void {
    for (const s of [this.nodes, this.services, this.endpointSlices]) s?.start(signal).catch(() => undefined);
    signal.addEventListener('abort', () => this.prober.stop(), { once: true });
  }

  /**
   * The sources as the controller sees them: a source is synced once it has listed, and, after
   * `refresh()`, once a list started since then has completed.
   */
  list(): Array<{ name: string; status(): SourceStatus }> {
    return this.watches().map(([name, w]) => ({
      name,
      status: () => {
        const s = w.status();
        const fresh = this.refreshed.get(name);
        return fresh === undefined || fresh() ? s : { ...s, synced: false };
      },
    }));
  }

  /**
   * A fresh list of every Kubernetes source, before the controller plans again. On taking the
   * lead: a replica that was paused (SIGSTOP, a frozen VM) or cut off may hold a view of the
   * cluster from before, and a watch tells what it missed only later.
   */
  refresh(): void {
    // A source still on its first list needs no other: the controller waits for that one anyway.
    for (const [name, w] of this.watches()) if (w instanceof ListWatch && w.status().synced) this.refreshed.set(name, w.refresh());
  }

  /** What each source reports (a refresh under way does not make a synced source unready). */
  statuses(): Record<string, SourceStatus> {
    return Object.fromEntries(this.watches().map(([name, w]) => [name, w.status()]));
  }

  private watches(): Array<[string, { status(): SourceStatus }]> {
    return [
      ['nodes', this.nodes],
      ...(this.services ? [['services', this.services] as [string, ListWatch<ServiceSnapshot>]] : []),
      ...(this.endpointSlices ? [['endpointslices', this.endpointSlices] as [string, ListWatch<EndpointSliceSnapshot>]] : []),
      ['probes', this.prober],
    ];
  }

  claims(): ResolvedClaims {
    return this.resolved;
  }

  signals(): ControllerSignals {
    const c = this.resolved;
    return {
      nodes: [...this.nodes.items.values()], hostnames: c.hostnames, inDoubt: c.inDoubt,
      carriedLabels: this.labels.carried(this.nodes.listedEpoch()),
      endpoints: this.endpointSlices ? endpointStates(this.endpointSlices.items.values()) : undefined,
      probes: this.prober.verdicts(),
      conflicts: c.conflicts, problems: c.problems, refusedClaims: c.refused,
    };
  }

  /** The claims, recomputed from the Services' current snapshots, keeping each one's last good claim. */
  private resolve(): ResolvedClaims {
    this.resolved = resolveHostnames(this.opts.hostnames, this.services?.items.values() ?? [], this.opts.defaults,
      { policy: this.opts.claimPolicy, memory: this.memory });
    this.memory = this.resolved.memory;
    // A selector on a label the node snapshots do not keep yet: keep it, and re-list the nodes.
    const keys = this.resolved.hostnames.flatMap((h) => (h.nodeSelector ? selectorKeys(h.nodeSelector) : []));
    if (this.labels.add(keys)) this.nodes?.resync();
    return this.resolved;
  }

  private emit(source: SourceEvent['source'], changes: SourceEvent['changes']): void {
    // The prober follows the nodes and the hostnames' probes, once both are known.
    if ((source === 'nodes' || source === 'services') && this.nodes.status().synced && (this.services?.status().synced ?? true)) {
      this.prober.update([...this.nodes.items.values()], this.resolved.hostnames);
    }
    const deletedNodes = source === 'nodes'
      ? changes.flatMap((c) => (c.type === 'deleted' && c.before ? [{ name: c.key, ips: [...(c.before as NodeSnapshot).ipv4, ...(c.before as NodeSnapshot).ipv6], at: c.at }] : []))
      : [];
    for (const l of this.listeners) l({ source, changes, deletedNodes });
  }
}

/** No probes: a prober with no hostname asking for one has no target and is synced at once. */
const PROBES_OFF: ProberOptions = { intervalMs: 5_000, timeoutMs: 2_000, thresholds: { failures: 3, successes: 2 }, address: 'internal' };
