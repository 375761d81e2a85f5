/**
 * The sources of signals: Nodes and Services (list+watch, small snapshots), and the hostnames the
 * Services claim. Adding a signal adds a source here and a field to `Signals`; the controller
 * asks `signals()` and refuses to plan until every source in `list()` has listed once.
 */
import type { ControllerSignals } from '../controller/controller.js';
import type { Logger } from '../log/logger.js';
import type { HostnameSpec, LabelSelector, NodeSnapshot, ServiceSnapshot } from '../model/types.js';
import { resolveHostnames, type ClaimMemory, type ClaimPolicy, type HostnameDefaults, type ResolvedClaims } from '../reconcile/claims.js';
import { selectorKeys } from '../reconcile/selector.js';
import type { KubeApi } from './api.js';
import { nodeCodec, serviceCodec } from './codecs.js';
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
  /** A re-list that drops more than this share of the nodes (or Services) waits for a second list. */
  readonly confirmVanishedFraction: number;
}

export interface SourceEvent {
  readonly source: 'nodes' | 'services';
  readonly changes: readonly Change<NodeSnapshot | ServiceSnapshot>[];
  /** Nodes that are gone, with their addresses (to name them in removals). */
  readonly deletedNodes: ReadonlyArray<{ name: string; ips: readonly string[]; at: number }>;
}

export class Sources {
  readonly nodes: ListWatch<NodeSnapshot>;
  readonly services: ListWatch<ServiceSnapshot> | undefined;
  private readonly labels: LabelsOfInterest;
  private readonly listeners: Array<(e: SourceEvent) => void> = [];
  private memory: ClaimMemory = new Map();
  private resolved: ResolvedClaims;

  constructor(api: KubeApi, private readonly opts: SourcesOptions, log: Logger) {
    this.labels = new LabelsOfInterest([...BASE_LABELS, ...(opts.nodeSelector ? selectorKeys(opts.nodeSelector) : [])]);
    const confirm = { confirmVanishedFraction: opts.confirmVanishedFraction };
    this.nodes = new ListWatch(api.nodes,
      nodeCodec(() => ({ labels: this.labels.set, externalIpKey: opts.externalIpLabel || undefined })),
      log.child({ component: 'node-watch' }), (changes) => this.emit('nodes', changes), { ...confirm, epoch: () => this.labels.size });
    this.services = opts.watchServices
      ? new ListWatch(api.services, serviceCodec, log.child({ component: 'service-watch' }), (changes) => {
        this.resolve();
        this.emit('services', changes);
      }, confirm)
      : undefined;
    this.resolved = this.resolve();
  }

  /** Hears every change (and every completed list) of every source. */
  subscribe(listener: (e: SourceEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Starts every list+watch in the background; each retries on its own until `signal` aborts. */
  start(signal: AbortSignal): void {
    for (const s of [this.nodes, this.services]) s?.start(signal).catch(() => undefined);
  }

  list(): Array<{ name: string; status(): SourceStatus }> {
    return [
      { name: 'nodes', status: () => this.nodes.status() },
      ...(this.services ? [{ name: 'services', status: () => this.services!.status() }] : []),
    ];
  }

  statuses(): Record<string, SourceStatus> {
    return Object.fromEntries(this.list().map((s) => [s.name, s.status()]));
  }

  claims(): ResolvedClaims {
    return this.resolved;
  }

  signals(): ControllerSignals {
    const c = this.resolved;
    return {
      nodes: [...this.nodes.items.values()], hostnames: c.hostnames, inDoubt: c.inDoubt,
      carriedLabels: this.labels.carried(this.nodes.listedEpoch()),
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

  private emit(source: SourceEvent['source'], changes: readonly Change<NodeSnapshot | ServiceSnapshot>[]): void {
    const deletedNodes = source === 'nodes'
      ? changes.flatMap((c) => (c.type === 'deleted' && c.before ? [{ name: c.key, ips: [...(c.before as NodeSnapshot).ipv4, ...(c.before as NodeSnapshot).ipv6], at: c.at }] : []))
      : [];
    for (const l of this.listeners) l({ source, changes, deletedNodes });
  }
}
