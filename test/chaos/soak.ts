/**
 * The chaos soak: replicas of the real service (separate processes) against both simulators, while
 * a seeded driver churns the cluster and the world around it and injects faults. Then it waits for
 * convergence and judges the invariants (invariants.ts) from the simulators' own state and logs.
 *
 * Two modes: `pair`, two replicas with leader election (the chart and the kustomize manifests), and
 * `single`, one replica without it (docker-compose's default), restarted now and then.
 *
 * Each replica talks to Cloudflare through a tagging proxy (proxy.ts) and to Kubernetes through a
 * proxy of its own (kube-proxy.ts), so a fault can hit one replica: lists that fail (500, or 403 as
 * after an RBAC change) while it restarts, a re-list after 410 Gone answered with no items, its
 * Lease calls refused, a partition from the API server, with its wall clock stepped meanwhile
 * (libfaketime, clock.ts). The world changes as people change it (world-churn.ts): Services and
 * their annotations (typos included, and claims outside the allow-lists), zones (a sub-zone added
 * pending and activated later, a copy of a zone in another account, the token's rights per zone),
 * a CNAME made by hand at a claimed name, and the replicas' configuration (OWNER_ID renamed with
 * an alias, DNS_RECORD_TYPES narrowed and widened) across rolling restarts.
 *
 * A seed fixes the driver's sequence of choices (what to do next, to which node, with which
 * parameters); what the replicas do in between depends on timing, so two runs of one seed are
 * alike, not identical. Violations therefore come with the event trail that led to them.
 * EPICTETUS_CHAOS_MAIN=<path/to/dist/main.js> runs another build of the service (replicas.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { writeKubeconfig } from '../../src/sim/kube/kubeconfig.js';
import { findFaketime, SteppedClock } from './clock.js';
import {
  checkBusyLoops, checkFinal, checkLeadership, checkLeaseReadiness, checkProcesses, INVARIANTS, replayCommits,
  type Disturbance, type InvariantName, type Judged, type LeaseAnswer, type ReadySample, type ReplicaConfig, type Violation, type WriterIdentity,
} from './invariants.js';
import { KubeFaults } from './kube-faults.js';
import { startKubeProxy, type KubeCall, type KubeProxy } from './kube-proxy.js';
import { ClusterModel, eligible, type NodeState, type Ready } from './model.js';
import { Prng } from './prng.js';
import { cloudflareSummary, clusterSummary, leadershipSummary, replicaSummary, zoneSummary } from './report.js';
import { startProxy, type BatchFault, type ChaosProxy, type ProxiedRequest } from './proxy.js';
import { ReplicaSlot, type Incarnation } from './replicas.js';
import {
  CLAIM_DOMAINS, CLAIM_NAMESPACES, NET, STATIC_HOSTNAMES, WorldChurn, ZONE, type Typo,
} from './world-churn.js';

export const OWNER = 'chaos';
/** The owner ids a configuration change renames to (each rename lists every former one as an alias). */
const OWNERS = [OWNER, 'chaos-b', 'chaos-c'];
export const FLOOR = 1;
const LEASE = { resource: 'leases.coordination.k8s.io', name: 'epictetus', namespace: 'default' };
const CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' };
const TO_BE_DELETED = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };

/*
 * Known product bugs (each with a knownBug test in regressions.test.ts). Until one is fixed, the
 * soak leaves out what would hit it, so that a run stays a judge of everything else; flip its flag
 * once fixed, or run with `knownBugs` (`--known-bugs`) to include those faults anyway.
 */
/**
 * A re-list that keeps a few of many items is evidence for the service unless it drops more than
 * MAX_UNHEALTHY_FRACTION of them; the soak runs with 1 (the mass-removal guard off), so only empty
 * re-lists are made ("a collapsed re-list is no evidence").
 */
export const COLLAPSED_RELIST_PROTECTED = true;
/**
 * SIGTERM during start-up (before the token is verified) is lost: the replica runs on until
 * SIGKILL ("SIGTERM during start-up"). A restart of a replica still starting is a SIGKILL.
 */
export const SIGTERM_AT_STARTUP_HANDLED = true;
/**
 * A zone that keeps failing holds back every other zone through the shared back-off ("one zone
 * that keeps failing"): every lowered zone right is given back when the soak settles.
 */
export const FAILING_ZONE_ISOLATED = true;

export const CHURN = {
  'node-add': 6, 'node-delete': 4, 'taint-one': 4, 'taint-both': 5, untaint: 5, 'not-ready': 4, unknown: 2, ready: 6,
  'svc-toggle': 3, 'svc-hostname': 2.5, 'svc-ttl': 2, 'svc-bad-annotation': 1.5, 'svc-outside': 0.8,
  'zone-sub': 0.8, 'zone-copy': 1, 'zone-permission': 0.8, cname: 1,
} as const;
export const FAULTS = {
  'cf-429': 1.5, 'cf-5xx': 1.5, 'cf-gateway-timeout': 0.6, 'cf-reset': 1, 'cf-batch-fail': 1.2, 'cf-slow': 0.8, 'cf-hang': 0.2,
  'kube-watch-drop': 1.2, 'kube-410': 1.2, 'kube-watch-error': 0.8, 'kube-restart': 0.4, 'kube-slow': 0.6, 'kube-list-fail': 0.8,
  'kube-lease-fail': 0.2, kill: 0.6, 'kill-mid-batch': 0.6, pause: 0.6,
  // A leader frozen past its Lease while it waited to retry a batch used to send the stale batch
  // on waking up (regressions.test.ts, "only the leader writes"; fixed in 6a6e9f8).
  'pause-long': 0.3,
  // One replica at a time, through its own Kubernetes proxy:
  'restart-list-fail': 0.8, 'relist-collapse': 0.6, 'lease-403': 0.4, partition: 0.3, 'clock-step': 0.6,
  restart: 0.3, 'restart-typo': 0.3, 'config-change': 0.3,
} as const;
export type ActionKind = keyof typeof CHURN | keyof typeof FAULTS;
/** Two replicas with leader election (the chart), or one without (docker-compose's default). */
export type SoakMode = 'pair' | 'single';

export interface SoakOptions {
  readonly seconds: number;
  readonly seed: number;
  /** Default: pair. */
  readonly mode?: SoakMode;
  /** Nodes at the start (the driver keeps between 40 % and 140 % of it). */
  readonly nodes?: number;
  /** How long to wait for convergence after the driver stops. */
  readonly convergeTimeoutMs?: number;
  /** Weights to override (0 turns an action off). */
  readonly weights?: Partial<Record<ActionKind, number>>;
  /**
   * Faults that must happen: each is tried at every step once `atFraction` of the run has passed,
   * until it takes (a kill waits for the gap after the previous one, for instance).
   */
  readonly forced?: ReadonlyArray<{ readonly atFraction: number; readonly kind: ActionKind }>;
  /** Include the faults that hit known product bugs (see COLLAPSED_RELIST_PROTECTED and the flags next to it). */
  readonly knownBugs?: boolean;
  /** Bound of the replicas' wall-clock offsets (clock-step), in seconds: default 120. */
  readonly maxClockOffsetS?: number;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
  /** Where to write the whole trail (JSON lines); false: nowhere. Default: a file in the temp directory. */
  readonly trailFile?: string | false;
}

export interface TrailEntry { readonly at: number; readonly who: string; readonly text: string }

export interface SoakReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly mode: SoakMode;
  readonly seconds: number;
  readonly nodes: number;
  readonly durationS: number;
  readonly converged: boolean;
  readonly convergenceS: number | null;
  readonly counts: Record<InvariantName, number>;
  readonly actions: Record<string, number>;
  readonly faults: Record<string, number>;
  readonly cluster: Record<string, number>;
  readonly zones: ReadonlyArray<Record<string, string>>;
  readonly cloudflare: Record<string, unknown>;
  readonly leadership: Record<string, unknown>;
  readonly replicas: ReadonlyArray<Record<string, unknown>>;
  readonly info: Record<string, number>;
  readonly violations: readonly Violation[];
  readonly notes: readonly string[];
  readonly trailFile: string | null;
}

const FAULT_KINDS = new Set<string>(Object.keys(FAULTS));
/** How long after a watch fault the service may still plan from its old view (reconnect, re-list). */
const RECOVERY_MS = 5_000;
/**
 * The same after failed lists: each failure doubles the list-watch back-off (500 ms, ±50 %), and
 * failures of watch and list count together, so a few in a row can keep the view old for a while.
 */
const LIST_FAIL_RECOVERY_MS = 30_000;
/** After SIGCONT: the events the watches held meanwhile are delivered. */
const PAUSE_RECOVERY_MS = 3_000;
/** Injected failures still waiting for a call to fail, per simulator, before more are queued. */
const MAX_QUEUED_FAULTS = 2;
/** At most one kill (or long pause) in this long: each costs a leaderless lease duration when it hits the leader. */
const PROCESS_FAULT_GAP_MS = 20_000;
/** After convergence, a node that retires must lose its records within this long (see probeReaction). */
const REACTION_PROBE_MS = 15_000;
/** Wall-clock offsets of the replicas stay within this many seconds by default (below the convergence timeout). */
const MAX_CLOCK_OFFSET_S = 120;
/** Runs at least this long spare replica a from kills for their first half, so one process lives long enough to judge its memory. */
const MEMORY_RUN_S = 600;
const iso = (t: number) => new Date(t).toISOString().slice(11, 23);

export class Soak {
  readonly rng: Prng;
  /** Decisions taken in reaction to the replicas (kill timing, restarts): their own stream. */
  readonly rngAsync: Prng;
  readonly model = new ClusterModel();
  readonly mode: SoakMode;
  readonly requests: ProxiedRequest[] = [];
  readonly trail: TrailEntry[] = [];
  readonly counts: Record<string, number> = {};
  readonly disturbances: Disturbance[] = [];
  readonly identities = new Map<string, WriterIdentity>();
  readonly holderAtAnswer = new Map<number, string | undefined>();
  readonly slots: ReplicaSlot[] = [];
  readonly leaseAnswers: LeaseAnswer[] = [];
  readonly readySamples: ReadySample[] = [];
  /** The configuration a replica gets when it (re)starts, and each incarnation's. */
  config: ReplicaConfig = { owner: OWNER, aliases: [], types: ['A', 'AAAA'] };
  readonly incarnationConfig = new Map<string, ReplicaConfig>();
  readonly ownersEver = new Set<string>([OWNER]);
  readonly notes: string[] = [];
  world!: World;
  churnWorld!: WorldChurn;
  private readonly proxies: ChaosProxy[] = [];
  private readonly kubeProxies = new Map<string, KubeProxy>();
  private readonly kubeFaults = new Map<string, KubeFaults>();
  private readonly kubeconfigs = new Map<string, string>();
  private readonly clocks = new Map<string, SteppedClock>();
  private readonly faketime = findFaketime();
  private kubeCalls = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingRestart = new Set<string>();
  private readonly samplingUntil = new Map<string, number>();
  private seq = 0;
  private nodeCounter = 0;
  private holder = '';
  private holderChanges = 0;
  private armedKill: { tag: string; mode: 'kill-before' | 'kill-after'; until: number } | undefined;
  private armedHang: { ms: number; until: number } | undefined;
  private armedPause: { tag: string; ms: number; until: number } | undefined;
  private last: Record<string, number> = {};
  private stopping = false;
  private finished = false;
  private drivingSince = 0;
  private cfSlowUntil = 0;
  private kubeSlowUntil = 0;

  constructor(readonly opts: SoakOptions) {
    this.rng = new Prng(opts.seed);
    this.rngAsync = new Prng((opts.seed ^ 0x9e3779b9) >>> 0);
    this.mode = opts.mode ?? 'pair';
  }

  get zoneId(): string {
    return this.world.zoneId;
  }

  note(who: string, text: string, at = Date.now()): void {
    this.trail.push({ at, who, text });
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private later(ms: number, fn: () => void | Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void Promise.resolve(fn()).catch((err: unknown) => this.note('driver', `deferred action failed: ${String(err)}`));
    }, ms);
    this.timers.add(t);
  }

  // ---- set-up -----------------------------------------------------------------------------------

  async start(): Promise<void> {
    this.world = await startWorld({ nodes: 0, hostnames: STATIC_HOSTNAMES, zone: ZONE, extraZones: [NET] });
    this.churnWorld = new WorldChurn(this.world, this.model, this.rng, {
      note: (who, text) => this.note(who, text), count: (k) => this.count(k), later: (ms, fn) => this.later(ms, fn),
    }, FAILING_ZONE_ISOLATED || this.opts.knownBugs === true);
    this.churnWorld.setup();
    const n = this.opts.nodes ?? 10;
    for (let i = 0; i < n; i++) this.addNode('True', true);
    this.churnWorld.addForeignRecords([...this.model.nodes.values()][2]?.ipv4 ?? '198.18.0.3');
    this.world.cloudflare.onCommit((c) => this.note('commit', `${c.kind} ${c.record.name} ${c.record.type} ${c.record.content} ${c.record.comment ?? ''} id=${c.record.id.slice(0, 8)} zone=${this.model.zones.get(c.zoneId)?.name ?? c.zoneId.slice(0, 8)}`, c.at));
    const clockWanted = (this.opts.weights?.['clock-step'] ?? FAULTS['clock-step']) > 0;
    if (clockWanted && 'missing' in this.faketime) this.notes.push(`clock-step skipped: ${this.faketime.missing}`);
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-chaos-kube-'));
    for (const tag of this.mode === 'pair' ? ['a', 'b'] : ['a']) {
      const slot: ReplicaSlot = new ReplicaSlot(tag, () => this.replicaEnv(tag), {
        log: (t, k, entry) => this.onReplicaLog(t, k, entry),
        exited: (inc) => this.note(`replica ${inc.tag}#${inc.n}`, `exited code=${inc.exitCode} signal=${inc.exitSignal} (${inc.endedBy ?? 'NOT BY US'})`),
      });
      this.slots.push(slot);
      const proxy = await startProxy(this.world.cloudflare.baseUrl, tag, () => slot.incarnationNumber, this.requests, () => ++this.seq, {
        arrived: (e) => {
          e.holder = this.readHolder();
          if (e.method !== 'GET') this.note(`replica ${e.tag}#${e.incarnation}`, `→ ${e.method} ${e.path.replace(/^.*\/zones\/[0-9a-f]+/, '…')} (request ${e.seq}) while the Lease names ${this.who(e.holder)}`);
        },
        answered: (e) => {
          this.holderAtAnswer.set(e.seq, this.readHolder());
          this.maybePauseOnFailure(e);
          if (e.method !== 'GET') this.note(`replica ${e.tag}#${e.incarnation}`, `← ${e.status || 'reset'} for request ${e.seq}${e.ops ? ` (${e.ops})` : ''}`);
        },
        batchFault: (e) => this.batchFault(e),
        kill: (t) => this.kill(t, 'mid-batch'),
      });
      this.proxies.push(proxy);
      this.envs.set(tag, proxy.url);
      const faults = new KubeFaults();
      this.kubeFaults.set(tag, faults);
      const kp = await startKubeProxy(this.world.kube.url, tag, () => slot.incarnationNumber, undefined, {
        decide: (call) => this.kubeDecide(tag, faults, call),
        answered: (call) => {
          if (call.resource === 'leases') this.leaseAnswers.push({ tag, n: call.incarnation, at: Date.now(), status: call.status });
        },
      });
      this.kubeProxies.set(tag, kp);
      const kubeconfig = join(dir, `kubeconfig-${tag}`);
      writeKubeconfig(kubeconfig, kp.url);
      this.kubeconfigs.set(tag, kubeconfig);
      if (clockWanted && 'lib' in this.faketime) this.clocks.set(tag, new SteppedClock(this.faketime.lib));
    }
    for (const slot of this.slots) this.note(`replica ${slot.tag}#${slot.start().n}`, 'started');
    this.pollers();
  }

  private readonly envs = new Map<string, string>();

  private replicaEnv(tag: string): Record<string, string> {
    const slot = this.slots.find((s) => s.tag === tag);
    const cfg = this.config;
    this.incarnationConfig.set(`${tag}#${(slot?.incarnationNumber ?? 0) + 1}`, cfg);
    return {
      ...this.world.env,
      CLOUDFLARE_API_BASE_URL: this.envs.get(tag) ?? '',
      K8S_CONFIG_PATH: this.kubeconfigs.get(tag) ?? this.world.kubeconfigPath,
      DNS_HOSTNAMES: STATIC_HOSTNAMES.join(','),
      LEADER_ELECTION: this.mode === 'pair' ? 'true' : 'false', LEASE_NAMESPACE: LEASE.namespace, LEASE_NAME: LEASE.name,
      // DEBUG: the leader's failed renewals are logged at that level only, and the trail needs them.
      LOG_FORMAT: 'json', LOG_LEVEL: 'DEBUG', HEALTH_PORT: '0', HEALTH_BIND_ADDRESS: '127.0.0.1',
      OWNER_ID: cfg.owner, OWNER_ID_ALIASES: cfg.aliases.join(','), DNS_RECORD_TYPES: cfg.types.join(','),
      SERVICE_CLAIM_NAMESPACES: CLAIM_NAMESPACES, SERVICE_CLAIM_DOMAINS: CLAIM_DOMAINS,
      NOT_READY_GRACE_SECONDS: '0', MIN_RECORDS_PER_HOSTNAME: String(FLOOR), MAX_UNHEALTHY_FRACTION: '1',
      DNS_SYNC_INTERVAL: '10', RETRY_DELAY: '0.5', MAX_RETRIES: '3', RECORD_EVENTS: 'true',
      ...(this.clocks.get(tag)?.env() ?? {}),
    };
  }

  private kubeDecide(tag: string, faults: KubeFaults, call: KubeCall): ReturnType<KubeFaults['decide']> {
    this.kubeCalls++;
    const action = faults.decide(call);
    if (action.kind !== 'pass') {
      this.count(`kube-proxy:${action.kind === 'fail' ? `${call.resource}-${action.status}` : `${call.resource}-${action.kind}`}`);
      const streak = `${tag} ${call.resource} ${action.kind}`;
      if (this.lastKubeFault.get(tag + call.resource) !== streak || action.kind === 'collapse') {
        this.note(`replica ${tag}#${call.incarnation}`, `kube proxy: ${call.method} ${call.path.split('?')[0]}${call.watch ? ' (watch)' : ''} → ${call.action === 'pass' ? action.kind : call.action}${action.kind === 'collapse' ? ` (keeps ${action.keep})` : ''}`);
      }
      this.lastKubeFault.set(tag + call.resource, streak);
    } else this.lastKubeFault.delete(tag + call.resource);
    return action;
  }

  private readonly lastKubeFault = new Map<string, string>();

  private pollers(): void {
    const lease = setInterval(() => {
      this.readHolder();
      this.noteLeaseRequests();
    }, 100);
    const rss = setInterval(() => {
      const now = Date.now();
      for (const s of this.slots) s.sampleRss(now);
    }, 2_000);
    const ready = setInterval(() => this.sampleReadiness(), 500);
    this.stopPollers = () => {
      clearInterval(lease);
      clearInterval(rss);
      clearInterval(ready);
    };
  }

  private stopPollers: () => void = () => undefined;

  /** Asks /health/ready of the replicas whose Lease calls are being refused (and a little after). */
  private sampleReadiness(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if ((this.samplingUntil.get(slot.tag) ?? 0) < now) continue;
      const inc = slot.current;
      if (!inc?.healthPort || inc.paused) continue;
      const at = Date.now();
      fetch(`http://127.0.0.1:${inc.healthPort}/health/ready`, { signal: AbortSignal.timeout(1_000) })
        .then(async (res) => {
          await res.arrayBuffer();
          this.readySamples.push({ tag: inc.tag, n: inc.n, at, status: res.status });
        })
        .catch(() => undefined);
    }
  }

  private readonly leaseRequestsNoted = new WeakSet<object>();

  /** Lease calls the Kubernetes simulator answered with an error (whoever sent them), for the trail. */
  private noteLeaseRequests(): void {
    const reqs = this.world.kube.requests;
    const since = Date.now() - 60_000;
    for (let i = reqs.length - 1, seen = 0; i >= 0 && seen < 500; i--, seen++) {
      const r = reqs[i]!;
      if (r.at < since) break;
      if (!r.path.includes('/leases') || r.status === 0 || r.status === 200 || r.status === 201 || this.leaseRequestsNoted.has(r)) continue;
      this.leaseRequestsNoted.add(r);
      this.note('kube', `${r.method} lease → ${r.status}`, r.at);
    }
  }

  private readHolder(): string {
    const lease = this.world.kube.getObject(LEASE.resource, LEASE.name, LEASE.namespace) as { spec?: { holderIdentity?: string } } | undefined;
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder !== this.holder) {
      this.holder = holder;
      this.holderChanges++;
      this.note('lease', `holder is now ${this.who(holder)}`);
    }
    return holder;
  }

  private who(identity: string | undefined): string {
    if (!identity) return '(none)';
    const w = this.identities.get(identity);
    return w ? `${w.tag}#${w.n}` : identity;
  }

  /** `${tag}#${n}` -> when each of its reconciles ended (as its log lines arrived). */
  private readonly reconcileEnds = new Map<string, number[]>();

  /** See ReplayInput.planStart. */
  planStart(tag: string, n: number, sentAt: number): number | undefined {
    const ends = this.reconcileEnds.get(`${tag}#${n}`) ?? [];
    let last: number | undefined;
    for (const t of ends) if (t < sentAt) last = t;
    return last ?? this.slots.find((s) => s.tag === tag)?.incarnations[n - 1]?.startedAt;
  }

  /** When each incarnation printed each log line, and its message (for the busy-loop judge). */
  private readonly logTimes = new Map<string, Array<[number, string]>>();

  private onReplicaLog(tag: string, n: number, entry: Record<string, unknown>): void {
    const msg = typeof entry.msg === 'string' ? entry.msg : '';
    const times = this.logTimes.get(`${tag}#${n}`);
    if (times) times.push([Date.now(), msg.slice(0, 60)]);
    else this.logTimes.set(`${tag}#${n}`, [[Date.now(), msg.slice(0, 60)]]);
    if (/^(reconciled|reconcile failed)/.test(msg)) {
      const key = `${tag}#${n}`;
      const ends = this.reconcileEnds.get(key) ?? [];
      this.reconcileEnds.set(key, ends);
      ends.push(Date.now());
    }
    if (msg === 'starting epictetus' && typeof entry.identity === 'string') this.identities.set(entry.identity, { tag, n });
    if (/^(became the leader|stopped leading|lost the leadership|released the leader lease|lease acquire\/renew failed|reconcile failed|SAFETY FLOOR|MASS-REMOVAL|DNS record|Cloudflare call failed|watch expired|list failed|waiting for the first list|changes to zone|leader election cannot use|Lease calls work again|\d+ of \d+ items vanished|a second list confirmed|Cloudflare refused)/.test(msg)) {
      const extra = typeof entry.err === 'string' ? ` (${entry.err.slice(0, 160)})` : '';
      this.note(`replica ${tag}#${n}`, `log: ${msg.slice(0, 300)}${extra}`);
    }
    if ((entry.level === 'error' || entry.level === 'fatal') && !/^(reconcile failed|changes to zone|leader election cannot use)/.test(msg)) {
      this.note(`replica ${tag}#${n}`, `ERROR log: ${msg.slice(0, 300)}`);
    }
  }

  // ---- the cluster ------------------------------------------------------------------------------

  private addNode(ready: Ready, initial = false): NodeState {
    const k = ++this.nodeCounter;
    const name = `node-${k}`;
    const state: NodeState = {
      name, ipv4: `198.18.${Math.floor(k / 250)}.${(k % 250) + 1}`, ipv6: k % 3 === 0 ? `2001:db8::${k.toString(16)}` : undefined,
      exists: true, candidate: false, toBeDeleted: false, ready,
    };
    this.world.kube.createNode(makeNode(name, { externalIP: state.ipv4, ...(state.ipv6 ? { externalIPv6: state.ipv6 } : {}), internalIP: `10.1.${Math.floor(k / 250)}.${(k % 250) + 1}`, ready }));
    this.model.addNode(Date.now(), state);
    if (!initial) this.note('driver', `node-add ${name} ${state.ipv4}${state.ipv6 ? ` ${state.ipv6}` : ''} ready=${ready}`);
    return state;
  }

  private liveNodes(): NodeState[] {
    return [...this.model.nodes.values()].filter((n) => n.exists);
  }

  private setTaints(n: NodeState, candidate: boolean, toBeDeleted: boolean): void {
    const taints = [...(candidate ? [CANDIDATE] : []), ...(toBeDeleted ? [TO_BE_DELETED] : [])];
    this.world.kube.patchNode(n.name, { spec: { taints: taints.length > 0 ? taints : null } }, 'merge');
    n.candidate = candidate;
    n.toBeDeleted = toBeDeleted;
  }

  private setReady(n: NodeState, ready: Ready): void {
    const reason = ready === 'True' ? 'KubeletReady' : ready === 'False' ? 'KubeletNotReady' : 'NodeStatusUnknown';
    this.world.kube.patchNode(n.name, {
      status: { conditions: [{ type: 'Ready', status: ready, reason, message: 'chaos', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
    }, 'strategic');
    n.ready = ready;
  }

  private churn(kind: keyof typeof CHURN): string | undefined {
    const rng = this.rng;
    const nodes = this.liveNodes();
    const base = this.opts.nodes ?? 10;
    const now = () => Date.now();
    const pickNode = (pred: (n: NodeState) => boolean) => {
      const c = nodes.filter(pred);
      return c.length > 0 ? rng.pick(c) : undefined;
    };
    const identical = (n: NodeState, was: boolean) => this.churnWorld.identical(n, was, this.config.owner);
    switch (kind) {
      case 'node-add': {
        if (nodes.length >= Math.ceil(base * 1.4)) return undefined;
        const n = this.addNode(rng.chance(0.8) ? 'True' : 'False');
        identical(n, false);
        return `node-add ${n.name}`;
      }
      case 'node-delete': {
        if (nodes.length <= Math.max(3, Math.floor(base * 0.4))) return undefined;
        const n = rng.pick(nodes);
        this.world.kube.deleteNode(n.name);
        n.exists = false;
        this.model.touchNode(now(), n.name);
        return `node-delete ${n.name}`;
      }
      case 'taint-one': {
        const n = pickNode((x) => !x.candidate && !x.toBeDeleted);
        if (!n) return undefined;
        const which = rng.chance(0.7);
        this.setTaints(n, which, !which);
        this.model.touchNode(now(), n.name);
        return `taint-one ${n.name} ${which ? CANDIDATE.key : TO_BE_DELETED.key}`;
      }
      case 'taint-both': {
        const n = pickNode((x) => !(x.candidate && x.toBeDeleted));
        if (!n) return undefined;
        this.setTaints(n, true, true);
        this.model.touchNode(now(), n.name);
        return `taint-both ${n.name}`;
      }
      case 'untaint': {
        const n = pickNode((x) => x.candidate || x.toBeDeleted);
        if (!n) return undefined;
        const was = eligible(n);
        this.setTaints(n, false, false);
        this.model.touchNode(now(), n.name);
        identical(n, was);
        return `untaint ${n.name}`;
      }
      case 'not-ready':
      case 'unknown': {
        const n = pickNode((x) => x.ready === 'True');
        if (!n) return undefined;
        this.setReady(n, kind === 'not-ready' ? 'False' : 'Unknown');
        this.model.touchNode(now(), n.name);
        return `${kind} ${n.name}`;
      }
      case 'ready': {
        const n = pickNode((x) => x.ready !== 'True');
        if (!n) return undefined;
        const was = eligible(n);
        this.setReady(n, 'True');
        this.model.touchNode(now(), n.name);
        identical(n, was);
        return `ready ${n.name}`;
      }
      case 'svc-toggle':
      case 'svc-hostname':
      case 'svc-ttl':
      case 'svc-bad-annotation':
      case 'svc-outside':
        return this.churnWorld.service(kind);
      case 'zone-sub':
        return this.churnWorld.zoneSub();
      case 'zone-copy':
        return this.churnWorld.zoneCopy();
      case 'zone-permission':
        return this.churnWorld.zonePermission();
      case 'cname':
        return this.churnWorld.cname();
    }
  }

  // ---- faults -------------------------------------------------------------------------------------

  private disturb(kind: string, ms: number, tag?: string): void {
    const at = Date.now();
    this.disturbances.push({ kind, from: at, to: at + ms, ...(tag ? { tag } : {}) });
  }

  private gap(kind: string, ms: number): boolean {
    const last = this.last[kind] ?? 0;
    if (Date.now() - last < ms) return false;
    this.last[kind] = Date.now();
    return true;
  }

  private running(): ReplicaSlot[] {
    return this.slots.filter((s) => s.running);
  }

  /** Marks the start of the driver's run (see spared). */
  beginDriving(): void {
    this.drivingSince = Date.now();
  }

  /** In long runs replica a is not killed, restarted nor frozen long during the first half: its memory is judged over that life. */
  spared(slot: ReplicaSlot): boolean {
    return slot.tag === 'a' && this.opts.seconds >= MEMORY_RUN_S && Date.now() < this.drivingSince + this.opts.seconds * 500;
  }

  leaderSlot(): ReplicaSlot | undefined {
    if (this.mode === 'single') return this.slots.find((s) => s.running);
    const w = this.identities.get(this.holder);
    const slot = w ? this.slots.find((s) => s.tag === w.tag) : undefined;
    return slot && slot.current?.n === w?.n ? slot : undefined;
  }

  /** Replicas a process fault may hit now: in a pair, only while both run (the other takes over). */
  private victims(opts: { long?: boolean } = {}): ReplicaSlot[] {
    const running = this.running().filter((s) => !this.pendingRestart.has(s.tag));
    if (this.mode === 'pair' && running.length < 2) return [];
    return running.filter((s) => opts.long === false || !this.spared(s));
  }

  private processGap(): number {
    return this.mode === 'pair' ? PROCESS_FAULT_GAP_MS : PROCESS_FAULT_GAP_MS / 2;
  }

  /** The leader with probability `p` when it is among `slots`, else any of them. */
  private preferLeader(slots: readonly ReplicaSlot[], p: number): ReplicaSlot | undefined {
    if (slots.length === 0) return undefined;
    const leader = this.leaderSlot();
    return leader && slots.includes(leader) && this.rng.chance(p) ? leader : this.rng.pick(slots);
  }

  private role(slot: ReplicaSlot): string {
    return this.mode === 'pair' && slot === this.leaderSlot() ? ' (the leader)' : '';
  }

  private async fault(kind: keyof typeof FAULTS): Promise<string | undefined> {
    const rng = this.rng;
    const cf = this.world.cloudflare;
    const kube = this.world.kube;
    // failNext queues failures for the next matching calls; a replica that is waiting makes few
    // calls, so keep the queues short or they would stand between it and every success.
    if (kind.startsWith('cf-') && kind !== 'cf-slow' && kind !== 'cf-hang' && cf.pendingFaults >= MAX_QUEUED_FAULTS) return undefined;
    if ((kind === 'kube-list-fail' || kind === 'kube-lease-fail') && kube.pendingFaults >= MAX_QUEUED_FAULTS) return undefined;
    if ((kind === 'kube-lease-fail' || kind === 'lease-403') && this.mode === 'single') return undefined;
    switch (kind) {
      case 'cf-429': {
        const retryAfter = rng.pick(['0', '0', '1', '2', '3']);
        const where = rng.pick([undefined, '/dns_records/batch', '/dns_records']);
        const count = rng.int(1, 3);
        cf.failNext({ status: 429, retryAfter, count, ...(where ? { pathIncludes: where } : {}) });
        return `cf-429 x${count} Retry-After: ${retryAfter} on ${where ?? 'any call'}`;
      }
      case 'cf-5xx': {
        const status = rng.pick([500, 502, 503]);
        const count = rng.int(1, 3);
        const html = status !== 500 && rng.chance(0.5);
        cf.failNext({ status, count, html });
        return `cf-${status} x${count}${html ? ' (edge HTML page)' : ''}`;
      }
      case 'cf-gateway-timeout': {
        const status = rng.pick([504, 524]);
        cf.failNext({ status, count: rng.int(1, 2), html: true });
        return `cf-${status} gateway timeout`;
      }
      case 'cf-reset': {
        const count = rng.int(1, 2);
        cf.failNext({ status: 0, reset: true, count });
        return `cf-reset x${count}`;
      }
      case 'cf-batch-fail': {
        if (rng.chance(0.5)) {
          cf.failNext({ method: 'POST', pathIncludes: '/dns_records/batch', status: 500 });
          return 'cf-batch-fail 500 (nothing applied)';
        }
        cf.failNext({ method: 'POST', pathIncludes: '/dns_records/batch', status: 400, code: 1004, message: 'DNS Validation Error' });
        return 'cf-batch-fail 400 code 1004 (nothing applied)';
      }
      case 'cf-slow': {
        const ms = rng.int(500, 3000);
        const forMs = rng.int(2000, 8000);
        cf.setLatency(ms);
        this.cfSlowUntil = Date.now() + forMs;
        this.later(forMs, () => { if (Date.now() >= this.cfSlowUntil) cf.setLatency(0); });
        return `cf-slow ${ms} ms for ${forMs} ms`;
      }
      case 'cf-hang': {
        if (!this.gap('cf-hang', 60_000)) return undefined;
        const ms = rng.int(31_000, 34_000);
        this.armedHang = { ms, until: Date.now() + 15_000 };
        return `cf-hang: the next batch's answer is held ${ms} ms (past the client's 30 s timeout; the write is committed)`;
      }
      case 'kube-watch-drop':
        kube.dropWatches();
        this.disturb(kind, RECOVERY_MS);
        return 'kube-watch-drop (all watches cut)';
      case 'kube-410': {
        const resource = rng.pick(['nodes', 'services']);
        if (rng.chance(0.5)) {
          kube.expireHistory();
          kube.dropWatches();
          this.disturb(kind, RECOVERY_MS);
          return 'kube-410: history expired and watches cut (re-watch gets 410 Gone)';
        }
        kube.sendWatchError({ code: 410, reason: 'Expired', message: 'too old resource version: 1 (2)' }, { resource });
        this.disturb(kind, RECOVERY_MS);
        return `kube-410: ERROR 410 Expired event on the ${resource} watches`;
      }
      case 'kube-watch-error': {
        const resource = rng.pick(['nodes', 'services']);
        kube.sendWatchError(undefined, { resource });
        this.disturb(kind, RECOVERY_MS);
        return `kube-watch-error: ERROR 500 event on the ${resource} watches`;
      }
      case 'kube-restart': {
        if (!this.gap('kube-restart', 5_000)) return undefined;
        const from = Date.now();
        await kube.restart();
        this.disturbances.push({ kind, from, to: Date.now() + RECOVERY_MS });
        return `kube-restart (took ${Date.now() - from} ms)`;
      }
      case 'kube-slow': {
        const ms = rng.int(200, 2000);
        const forMs = rng.int(2000, 6000);
        kube.setLatency(ms);
        this.kubeSlowUntil = Date.now() + forMs;
        this.disturb(kind, forMs + ms + RECOVERY_MS);
        this.later(forMs, () => { if (Date.now() >= this.kubeSlowUntil) kube.setLatency(0); });
        return `kube-slow ${ms} ms for ${forMs} ms`;
      }
      case 'kube-list-fail': {
        const path = rng.pick(['/api/v1/nodes', '/api/v1/services']);
        const status = rng.pick([500, 503, 429]);
        const count = rng.int(1, 3);
        kube.failNext({ method: 'GET', pathPrefix: path, status, count });
        this.disturb(kind, LIST_FAIL_RECOVERY_MS);
        return `kube-list-fail ${status} x${count} on GET ${path}`;
      }
      case 'kube-lease-fail': {
        const count = rng.int(1, 4);
        kube.failNext({ method: 'PUT', pathPrefix: `/apis/coordination.k8s.io/v1/namespaces/${LEASE.namespace}/leases`, status: 500, count });
        return `kube-lease-fail: the next ${count} Lease updates get 500`;
      }
      case 'kill': {
        const victims = this.victims();
        if (victims.length === 0 || !this.gap('process', this.processGap())) return undefined;
        const slot = this.preferLeader(victims, 0.6)!;
        this.kill(slot.tag, this.mode === 'single' ? 'the only replica' : slot === this.leaderSlot() ? 'the leader' : 'a follower');
        return `kill ${slot.tag}`;
      }
      case 'kill-mid-batch': {
        const leader = this.leaderSlot();
        if (!leader || !this.victims().includes(leader) || !this.gap('process', this.processGap())) return undefined;
        const mode = rng.chance(0.5) ? 'kill-before' : 'kill-after';
        this.armedKill = { tag: leader.tag, mode, until: Date.now() + 8_000 };
        return `kill-mid-batch armed for ${leader.tag}'s next batch (${mode === 'kill-before' ? 'as it is sent' : 'after it is applied, before the answer'})`;
      }
      case 'pause':
      case 'pause-long': {
        const long = kind === 'pause-long';
        const victims = this.victims({ long });
        if (victims.length === 0 || !this.gap(long ? 'process' : 'pause', long ? this.processGap() : 3_000)) return undefined;
        const leader = this.leaderSlot();
        const slot = this.preferLeader(victims, 0.7)!;
        const ms = long ? rng.int(16_000, 22_000) : rng.int(500, 3000);
        if (long && slot === leader && rng.chance(0.5)) {
          this.armedPause = { tag: slot.tag, ms, until: Date.now() + 10_000 };
          return `${kind} armed for ${slot.tag}${this.role(slot)}: SIGSTOP for ${ms} ms when its next batch fails (it is then about to wait and retry)`;
        }
        if (!this.pauseFor(slot, ms)) return undefined;
        return `${kind} ${slot.tag}${this.role(slot)} SIGSTOP for ${ms} ms`;
      }
      case 'restart-list-fail': {
        const slot = this.preferLeader(this.victims(), 0.6);
        if (!slot || !this.gap('process', this.processGap())) return undefined;
        const resource = rng.pick(['nodes', 'services'] as const);
        const status = rng.pick([500, 403] as const);
        const ms = rng.int(3_000, 15_000);
        const how = rng.chance(0.5) ? 'SIGKILL' : 'SIGTERM';
        const role = this.role(slot);
        this.kubeFaults.get(slot.tag)!.listFailures.push({ resource, status, until: Date.now() + ms });
        this.disturb(kind, ms + LIST_FAIL_RECOVERY_MS, slot.tag);
        this.restart(slot, how, `its ${resource} lists answer ${status} for ${ms} ms`);
        return `restart-list-fail: ${slot.tag}${role} restarted (${how}) while its ${resource} lists answer ${status}${status === 403 ? ' (RBAC)' : ''} for ${ms} ms`;
      }
      case 'relist-collapse': {
        // The writer's view is what matters: in a pair, only while a leader is known, and mostly it.
        if (this.mode === 'pair' && !this.leaderSlot()) return undefined;
        const slot = this.preferLeader(this.running(), 0.9);
        if (!slot) return undefined;
        const resource = rng.pick(['nodes', 'services'] as const);
        const items = resource === 'nodes' ? this.liveNodes().length : this.churnWorld.services.size + this.churnWorld.outside.size;
        const keep = (COLLAPSED_RELIST_PROTECTED || this.opts.knownBugs === true) && rng.chance(0.5) ? rng.int(1, Math.max(1, Math.floor(items / 5))) : 0;
        const faults = this.kubeFaults.get(slot.tag)!;
        faults.collapses.push({ resource, keep });
        const cut = this.kubeProxies.get(slot.tag)!.expireWatches(resource);
        if (cut === 0) {
          faults.collapses.pop(); // not watching now (restarting): a first list is not a re-list
          return undefined;
        }
        this.disturb(kind, RECOVERY_MS, slot.tag);
        return `relist-collapse: ${slot.tag}${this.role(slot)}'s ${resource} watch ends with 410 Gone; its re-list answers ${keep} of ${items} items`;
      }
      case 'lease-403': {
        const slot = this.preferLeader(this.running(), 0.6);
        if (!slot) return undefined;
        const ms = rng.int(5_000, 25_000);
        this.kubeFaults.get(slot.tag)!.leaseForbiddenUntil = Date.now() + ms;
        this.samplingUntil.set(slot.tag, Date.now() + ms + 3_000);
        return `lease-403: ${slot.tag}${this.role(slot)}'s Lease calls answer 403 Forbidden for ${ms} ms (RBAC lost)`;
      }
      case 'partition':
      case 'clock-step': {
        const clockStep = kind === 'clock-step';
        const clock = this.clocks.get('a');
        if (clockStep && clock === undefined) return undefined;
        const slot = this.preferLeader(this.running(), clockStep ? 0.7 : 0.6);
        if (!slot || !this.gap('partition', 10_000)) return undefined;
        const ms = rng.int(clockStep ? 8_000 : 4_000, clockStep ? 25_000 : 20_000);
        const scope = this.mode === 'single' || rng.chance(0.5) ? 'all' : 'lease';
        const role = this.role(slot);
        this.kubeFaults.get(slot.tag)!.partition = { until: Date.now() + ms, scope };
        if (scope === 'all') {
          this.kubeProxies.get(slot.tag)!.cutAll();
          this.disturb(kind, ms + LIST_FAIL_RECOVERY_MS, slot.tag);
        }
        this.samplingUntil.set(slot.tag, Date.now() + ms + 3_000);
        const what = `${slot.tag}${role} cut off from the API server (${scope === 'all' ? 'every call' : 'its Lease calls'}) for ${ms} ms`;
        if (!clockStep) return `partition: ${what}`;
        // Offsets stay within ±MAX_CLOCK_OFFSET_S: a replica behind the API server's clock removes a
        // not-ready node that much later (the grace counts from the condition's transition time).
        const offset = this.clocks.get(slot.tag)!.offsetSeconds;
        const max = this.opts.maxClockOffsetS ?? MAX_CLOCK_OFFSET_S;
        // A leader's clock stepped back is the dangerous case (a wall-clock deadline would stretch its leadership).
        let step = (rng.chance(role === '' ? 0.5 : 0.65) ? -1 : 1) * rng.int(Math.min(20, max), max);
        if (Math.abs(offset + step) > max) step = -step;
        if (Math.abs(offset + step) > max) step = Math.sign(step) * max - offset;
        const after = rng.int(0, 3_000);
        const back = rng.chance(0.4);
        this.later(after, () => {
          const c = this.clocks.get(slot.tag)!;
          c.step(step);
          this.note('fault', `clock-step: ${slot.tag}'s wall clock stepped ${step > 0 ? 'forward' : 'back'} ${Math.abs(step)} s (offset now ${c.offsetSeconds} s)`);
        });
        if (back) {
          this.later(ms + rng.int(0, 5_000), () => {
            this.clocks.get(slot.tag)!.reset();
            this.note('fault', `clock-step: ${slot.tag}'s wall clock set right again`);
          });
        }
        return `clock-step: ${what}; its wall clock steps ${step > 0 ? 'forward' : 'back'} ${Math.abs(step)} s ${after} ms in${back ? ', and is set right after the partition' : ''}`;
      }
      case 'restart': {
        const slot = this.preferLeader(this.victims(), 0.5);
        if (!slot || !this.gap('process', this.processGap())) return undefined;
        const how = rng.chance(0.7) ? 'SIGTERM' : 'SIGKILL';
        const role = this.role(slot);
        this.restart(slot, how, 'restart');
        return `restart ${slot.tag}${role} (${how})`;
      }
      case 'restart-typo': {
        const slot = this.preferLeader(this.victims(), 0.7);
        const svc = this.churnWorld.pickClaiming();
        if (!slot || !svc || !this.gap('process', this.processGap())) return undefined;
        const typo = rng.pick<Typo>(['ttl', 'json', 'enabled']);
        const what = this.churnWorld.setTypo(svc, typo);
        const role = this.role(slot);
        this.later(rng.int(300, 2_000), () => this.restart(slot, 'SIGTERM', `restart with a typo in ${svc}'s annotations`));
        return `restart-typo: ${what}; then ${slot.tag}${role} restarts`;
      }
      case 'config-change': {
        if (!this.gap('config', 30_000)) return undefined;
        const before = this.config;
        let next: ReplicaConfig;
        let what: string;
        if (rng.chance(0.5)) {
          const owner = rng.pick(OWNERS.filter((o) => o !== before.owner));
          next = { ...before, owner, aliases: [...this.ownersEver].filter((o) => o !== owner) };
          what = `OWNER_ID ${before.owner} → ${owner} with OWNER_ID_ALIASES=${next.aliases.join(',')}`;
        } else {
          next = { ...before, types: before.types.length === 2 ? ['A'] : ['A', 'AAAA'] };
          what = `DNS_RECORD_TYPES ${before.types.join(',')} → ${next.types.join(',')}`;
        }
        this.config = next;
        this.ownersEver.add(next.owner);
        const order = rng.chance(0.5) ? [...this.slots] : [...this.slots].reverse();
        let at = 0;
        for (const slot of order) {
          this.later(at, () => {
            if (this.spared(slot) || this.stopping) return;
            this.restart(slot, 'SIGTERM', `configuration change: ${what}`);
          });
          at += this.rngAsync.int(4_000, 15_000);
        }
        return `config-change: ${what}; rolling restart`;
      }
    }
  }

  /**
   * SIGSTOP for `ms`. A frozen replica's view of the cluster is frozen too, and the watches cut
   * meanwhile are mended only after it wakes (with the back-off of its failures), so its view is
   * disturbed from the pause until well after it. A replica that takes the Lease re-lists before
   * it plans (the 30-minute run, seed 20261201, saw one lead 10 ms after SIGCONT and plan from its
   * 16 s old view), so only the pause itself and the watch delivery after it are excused.
   */
  private pauseFor(slot: ReplicaSlot, ms: number): boolean {
    if (!slot.pause()) return false;
    this.disturb('pause', ms + PAUSE_RECOVERY_MS, slot.tag);
    this.later(ms, () => {
      slot.resume();
      this.note(`replica ${slot.tag}#${slot.incarnationNumber}`, 'SIGCONT');
    });
    return true;
  }

  private maybePauseOnFailure(e: ProxiedRequest): void {
    const armed = this.armedPause;
    if (!armed || this.stopping || armed.tag !== e.tag || e.body === undefined || (e.status >= 200 && e.status < 300)) return;
    this.armedPause = undefined;
    if (Date.now() > armed.until) return;
    const slot = this.slots.find((s) => s.tag === e.tag);
    if (slot && this.pauseFor(slot, armed.ms)) {
      this.count('pause-long:after-failed-batch');
      this.note('fault', `pause-long: ${e.tag}#${e.incarnation} SIGSTOP for ${armed.ms} ms right after its batch (request ${e.seq}) failed with ${e.status || 'a reset'}`);
    }
  }

  private batchFault(e: ProxiedRequest): BatchFault | undefined {
    const now = Date.now();
    if (this.armedKill && this.armedKill.tag === e.tag && now < this.armedKill.until && !this.stopping) {
      const mode = this.armedKill.mode;
      this.armedKill = undefined;
      this.count(`kill-mid-batch:${mode}`);
      this.note('fault', `kill-mid-batch (${mode}) on request ${e.seq} from ${e.tag}#${e.incarnation}`);
      return { kind: mode };
    }
    if (this.armedHang && now < this.armedHang.until) {
      const ms = this.armedHang.ms;
      this.armedHang = undefined;
      this.count('cf-hang:applied');
      this.note('fault', `cf-hang: holding the answer to request ${e.seq} from ${e.tag}#${e.incarnation} for ${ms} ms`);
      return { kind: 'hold-answer', ms };
    }
    return undefined;
  }

  /** SIGKILL a replica and start it again a little later. */
  kill(tag: string, why: string): void {
    const slot = this.slots.find((s) => s.tag === tag);
    const inc = slot?.kill();
    if (!slot || !inc) return;
    this.note(`replica ${tag}#${inc.n}`, `SIGKILL (${why})`);
    const delay = this.rngAsync.int(500, 5000);
    this.pendingRestart.add(tag);
    this.later(delay, async () => {
      await inc.exited;
      if (this.pendingRestart.delete(tag) && !slot.running && !this.finished) this.note(`replica ${tag}#${slot.start().n}`, 'started again');
    });
  }

  /** Restarts a replica: SIGKILL (see kill), or SIGTERM (it must exit 0) and a new process a moment later. */
  restart(slot: ReplicaSlot, how: 'SIGTERM' | 'SIGKILL', why: string): void {
    if (this.pendingRestart.has(slot.tag) || !slot.running || this.finished) return;
    if (how === 'SIGKILL') {
      this.kill(slot.tag, why);
      return;
    }
    const inc = slot.current!;
    if (!SIGTERM_AT_STARTUP_HANDLED && !this.opts.knownBugs && !inc.startedUp) {
      this.kill(slot.tag, `${why}; SIGKILL rather than SIGTERM: still starting, and SIGTERM is lost then`);
      return;
    }
    this.pendingRestart.add(slot.tag);
    this.note(`replica ${slot.tag}#${inc.n}`, `SIGTERM (${why})`);
    const delay = this.rngAsync.int(200, 3_000);
    void slot.stop().then(async (stopped) => {
      if (stopped) this.note(`replica ${stopped.tag}#${stopped.n}`, `stopped: code ${stopped.exitCode}`);
      await sleep(delay);
      if (this.pendingRestart.delete(slot.tag) && !slot.running && !this.finished) this.note(`replica ${slot.tag}#${slot.start().n}`, 'started again');
    });
  }

  // ---- the run ----------------------------------------------------------------------------------

  private weights(): { churn: Record<string, number>; faults: Record<string, number> } {
    const w = this.opts.weights ?? {};
    const pick = (table: Record<string, number>) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, (w as Record<string, number>)[k] ?? v]));
    return { churn: pick(CHURN), faults: pick(FAULTS) };
  }

  private forcedDone = new Set<number>();

  forcedPending(): ActionKind[] {
    return (this.opts.forced ?? []).filter((_, i) => !this.forcedDone.has(i)).map((f) => f.kind);
  }

  async step(fraction = 0, { forcedOnly = false } = {}): Promise<void> {
    for (const [i, f] of (this.opts.forced ?? []).entries()) {
      if (this.forcedDone.has(i) || fraction < f.atFraction) continue;
      const done = f.kind in FAULTS ? await this.fault(f.kind as keyof typeof FAULTS) : this.churn(f.kind as keyof typeof CHURN);
      if (done === undefined) continue;
      this.forcedDone.add(i);
      this.count(f.kind);
      this.note(FAULT_KINDS.has(f.kind) ? 'fault' : 'driver', `${done} (forced)`);
      return;
    }
    if (forcedOnly) return;
    const { churn, faults } = this.weights();
    const all = { ...churn, ...faults } as Record<ActionKind, number>;
    for (let attempt = 0; attempt < 4; attempt++) {
      const kind = this.rng.weighted(all);
      const done = FAULT_KINDS.has(kind) ? await this.fault(kind as keyof typeof FAULTS) : this.churn(kind as keyof typeof CHURN);
      if (done === undefined) continue;
      this.count(kind);
      this.note(FAULT_KINDS.has(kind) ? 'fault' : 'driver', done);
      return;
    }
  }

  async waitForLeaderAndRecords(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.leaderSlot() && this.finalCheck().converged) return true;
      await sleep(250);
    }
    return false;
  }

  finalCheck(): ReturnType<typeof checkFinal> {
    return checkFinal({
      records: this.world.cloudflare.records(), model: this.model, config: this.config, floor: FLOOR,
      foreign: [...this.churnWorld.foreign.values()], commits: this.world.cloudflare.commits, driverCommits: this.churnWorld.driverCommits,
    });
  }

  /**
   * Stops the faults, brings every replica back with the current configuration, and waits for
   * the records to match the cluster. What a person made stays as it is: zone copies and rights,
   * hand-made CNAMEs, Service annotations (lowered rights due back are given back, or kept, by the
   * seed's choice); the final judge knows which hostnames they freeze.
   */
  async settle(timeoutMs: number): Promise<{ converged: boolean; ms: number }> {
    this.stopping = true;
    this.armedKill = undefined;
    this.armedHang = undefined;
    this.armedPause = undefined;
    this.world.cloudflare.setLatency(0);
    this.world.kube.setLatency(0);
    const unserved = { cloudflare: this.world.cloudflare.pendingFaults, kubernetes: this.world.kube.pendingFaults };
    this.world.cloudflare.clearFaults();
    this.world.kube.clearFaults();
    for (const f of this.kubeFaults.values()) f.clear();
    const failingZonesMayStay = FAILING_ZONE_ISOLATED || this.opts.knownBugs === true;
    for (const line of this.churnWorld.settle(this.rng.chance(0.5), !failingZonesMayStay)) this.note('driver', line);
    this.note('driver', `settling: latencies reset, unserved injected failures dropped (${JSON.stringify(unserved)}), per-replica Kubernetes faults off, paused replicas resumed`);
    for (const s of this.slots) s.resume();
    for (const s of this.slots) {
      const inc = s.current;
      if (inc && this.incarnationConfig.get(`${s.tag}#${inc.n}`) !== this.config) this.restart(s, 'SIGTERM', 'settling: the current configuration');
    }
    const started = Date.now();
    const deadline = started + timeoutMs;
    while (Date.now() < deadline) {
      for (const s of this.slots) {
        const last = s.incarnations[s.incarnations.length - 1];
        if (!s.running && (last === undefined || last.exitedAt !== undefined)) {
          this.pendingRestart.delete(s.tag);
          this.note(`replica ${s.tag}#${s.start().n}`, 'started again (settling)');
        }
      }
      if (this.leaderSlot() && this.pendingRestart.size === 0 && this.finalCheck().converged) {
        const ms = Date.now() - started;
        await sleep(3_000); // anything still in flight lands now, and must not undo it
        return { converged: this.finalCheck().converged, ms };
      }
      await sleep(500);
    }
    return { converged: false, ms: Date.now() - started };
  }

  /**
   * Once converged (the faults gone, whatever people left behind: a zone the token can no longer
   * read, a CNAME), one more node retires: its records must be gone within REACTION_PROBE_MS in
   * every zone the service may write, whatever holds back another zone. Records the safety floor
   * must keep (the node is its hostname's last) are not watched.
   */
  async probeReaction(timeoutMs = REACTION_PROBE_MS): Promise<string> {
    const now = Date.now();
    const owners = new Set([this.config.owner, ...this.config.aliases]);
    const writable = (zoneId: string) => this.model.zones.get(zoneId)?.permission === 'edit';
    const judged = (name: string) => {
      const h = this.model.hostnames.get(name.toLowerCase());
      const home = this.model.homes.get(name.toLowerCase())?.at(now);
      return h !== undefined && h.claim === 'claimed' && !h.lastGoodOnly && home !== undefined && writable(home);
    };
    const records = this.world.cloudflare.records().filter((r) => {
      const o = /(?:^|\s)epictetus:owner=([A-Za-z0-9._-]+)(?=\s|$)/.exec(r.comment ?? '')?.[1];
      return o !== undefined && owners.has(o) && (r.type === 'A' || r.type === 'AAAA') && judged(r.name) && writable(r.zone_id);
    });
    const eligibleNodes = this.liveNodes().filter(eligible);
    const spare = (type: string) => this.model.eligibleIps(type === 'A' ? 'A' : 'AAAA').size > FLOOR;
    const candidates = eligibleNodes.filter((n) => records.some((r) => r.content === n.ipv4) && records.every((r) => (r.content !== n.ipv4 && r.content !== n.ipv6) || spare(r.type)));
    if (candidates.length === 0) return 'skipped (no node whose records may all go)';
    const n = this.rng.pick(candidates);
    const watched = records.filter((r) => r.content === n.ipv4 || r.content === n.ipv6);
    this.setTaints(n, true, true);
    this.model.touchNode(Date.now(), n.name);
    this.note('driver', `reaction probe: taint-both ${n.name}; its ${watched.length} record(s) must be gone within ${timeoutMs} ms`);
    const since = Date.now();
    const left = () => { const ids = new Set(this.world.cloudflare.records().map((r) => r.id)); return watched.filter((r) => ids.has(r.id)); };
    while (Date.now() - since < timeoutMs && left().length > 0) await sleep(100);
    const remaining = left();
    if (remaining.length === 0) {
      await sleep(2_000); // anything in flight lands
      return `${n.name} retired; its ${watched.length} record(s) went in ${Date.now() - since - 2_000} ms`;
    }
    this.probeViolations.push({
      invariant: 'slowReaction', at: Date.now(),
      message: `${n.name} retired (both autoscaler taints) after convergence, but ${remaining.length} of its ${watched.length} record(s) were still there ${timeoutMs} ms later: ` +
        `${remaining.slice(0, 4).map((r) => `${r.name} ${r.type} ${r.content} (zone ${this.model.zones.get(r.zone_id)?.name ?? r.zone_id})`).join(', ')}`,
    });
    return `${n.name}: ${remaining.length} record(s) still there after ${timeoutMs} ms`;
  }

  readonly probeViolations: Violation[] = [];

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stopPollers();
    await Promise.all(this.slots.map(async (s) => {
      const inc = await s.stop();
      if (inc) this.note(`replica ${inc.tag}#${inc.n}`, `stopped: code ${inc.exitCode}`);
    }));
    await Promise.all([...this.proxies.map((p) => p.close()), ...[...this.kubeProxies.values()].map((p) => p.close())]);
    await this.world?.stop();
  }

  judge(): { judged: Judged[]; final: ReturnType<typeof checkFinal> } {
    const final = this.finalCheck();
    const judged = [
      checkLeadership(this.requests, this.identities, this.holderAtAnswer),
      replayCommits({
        commits: this.world.cloudflare.commits, requests: this.requests, model: this.model, disturbances: this.disturbances,
        floor: FLOOR, foreignIds: this.churnWorld.everForeign, driverCommits: this.churnWorld.driverCommits, owners: this.ownersEver,
        configOf: (tag, n) => this.incarnationConfig.get(`${tag}#${n}`),
        planStart: (tag, n, sentAt) => this.planStart(tag, n, sentAt),
      }),
      final,
      checkProcesses(this.slots.flatMap((s) => s.incarnations)),
      checkLeaseReadiness(this.readySamples, this.leaseAnswers),
      { violations: this.probeViolations, info: {} },
      checkBusyLoops(this.requests, this.logTimes),
    ];
    return { judged, final };
  }

  trailFor(v: Violation, max = 150): string[] {
    const lines = this.trail.filter((e) => e.at >= v.at - 20_000 && e.at <= v.at + 2_000).sort((a, b) => a.at - b.at).slice(-max)
      .map((e) => `${iso(e.at)} ${e.who.padEnd(14)} ${e.text}`);
    if (v.replica) {
      const inc = this.slots.find((s) => s.tag === v.replica?.tag)?.incarnations[v.replica.n - 1];
      if (inc) lines.push(`--- last log lines of replica ${inc.tag}#${inc.n} ---`, ...inc.tail.slice(-40));
    }
    return lines;
  }

  liveCount(): number {
    return [...this.model.nodes.values()].filter((n) => n.exists).length;
  }

  leaseText(): string {
    if (this.mode === 'single') return `none (single replica ${this.leaderSlot() ? 'running' : 'down'})`;
    const lease = this.world.kube.getObject(LEASE.resource, LEASE.name, LEASE.namespace) as { spec?: { holderIdentity?: string } } | undefined;
    const h = lease?.spec?.holderIdentity ?? '';
    const w = this.identities.get(h);
    return w ? `${w.tag}#${w.n}` : h === '' ? '(none)' : h;
  }

  async shutdownReplicas(): Promise<void> {
    this.finished = true;
    await Promise.all(this.slots.map(async (s) => {
      const inc = await s.stop();
      if (inc) this.note(`replica ${inc.tag}#${inc.n}`, `stopped (SIGTERM): code ${inc.exitCode}`);
    }));
  }

  get holderChangeCount(): number {
    return this.holderChanges;
  }

  get kubeCallCount(): number {
    return this.kubeCalls;
  }

  clockOffset(tag: string): number | null {
    return this.clocks.get(tag)?.offsetSeconds ?? null;
  }

  incarnations(): Incarnation[] {
    return this.slots.flatMap((s) => s.incarnations);
  }
}

/** Runs one soak to the end and judges it. */
export async function runSoak(opts: SoakOptions): Promise<SoakReport & { trails: string[][] }> {
  const progress = opts.progress ?? (() => undefined);
  const soak = new Soak(opts);
  const t0 = Date.now();
  let report: (SoakReport & { trails: string[][] }) | undefined;
  try {
    await soak.start();
    progress(`seed ${opts.seed} (${soak.mode}): world up, replicas starting; waiting for a leader and the first sync`);
    for (const n of soak.notes) progress(`NOTE: ${n}`);
    const warm = await soak.waitForLeaderAndRecords(90_000);
    if (!warm) soak.note('driver', 'WARNING: no leader or no first sync within 90 s; driving anyway');
    progress(`seed ${opts.seed}: driving for ${opts.seconds} s`);
    soak.beginDriving();
    if (opts.seconds >= MEMORY_RUN_S) progress(`seed ${opts.seed}: replica a is spared from kills and restarts for the first ${opts.seconds / 2} s (its memory is judged over that life)`);
    const end = Date.now() + opts.seconds * 1000;
    let nextProgress = Date.now() + 10_000;
    while (Date.now() < end) {
      await sleep(soak.rng.int(150, 600));
      await soak.step(1 - (end - Date.now()) / (opts.seconds * 1000));
      if (Date.now() >= nextProgress) {
        nextProgress += 10_000;
        const faults = Object.entries(soak.counts).filter(([k]) => FAULT_KINDS.has(k)).reduce((s, [, v]) => s + v, 0);
        progress(`  ${Math.round((end - Date.now()) / 1000)} s left: ${soak.liveCount()} nodes, ${faults} faults, ${soak.world.cloudflare.commits.length} commits, lease ${soak.leaseText()}`);
      }
    }
    // A forced fault waits for its conditions (a leader, a batch in flight): give the late ones up to 30 s more.
    const overtime = Date.now() + 30_000;
    while (soak.forcedPending().length > 0 && Date.now() < overtime) {
      await sleep(soak.rng.int(150, 600));
      await soak.step(1, { forcedOnly: true });
    }
    for (const kind of soak.forcedPending()) soak.note('driver', `forced fault ${kind} never found its conditions`);
    progress(`seed ${opts.seed}: driver stopped; waiting for convergence`);
    const settled = await soak.settle(opts.convergeTimeoutMs ?? 180_000);
    progress(`seed ${opts.seed}: ${settled.converged ? `converged in ${(settled.ms / 1000).toFixed(1)} s` : 'did NOT converge'}`);
    if (settled.converged) {
      const probe = await soak.probeReaction();
      progress(`seed ${opts.seed}: reaction probe: ${probe}`);
    }
    progress(`seed ${opts.seed}: stopping the replicas`);
    await soak.shutdownReplicas();
    const { judged, final } = soak.judge();
    const violations = judged.flatMap((j) => j.violations).sort((a, b) => a.at - b.at);
    const counts = Object.fromEntries(INVARIANTS.map((k) => [k, violations.filter((v) => v.invariant === k).length])) as Record<InvariantName, number>;
    const info = Object.assign({}, ...judged.map((j) => j.info)) as Record<number, number>;
    const trailFile = opts.trailFile === false ? null : opts.trailFile ?? join(tmpdir(), `epictetus-chaos-seed${opts.seed}-${t0}.jsonl`);
    if (trailFile) writeFileSync(trailFile, [...soak.trail].sort((a, b) => a.at - b.at).map((e) => JSON.stringify(e)).join('\n') + '\n');
    report = {
      ok: violations.length === 0 && settled.converged,
      seed: opts.seed, mode: soak.mode, seconds: opts.seconds, nodes: opts.nodes ?? 10,
      durationS: Math.round((Date.now() - t0) / 1000),
      converged: settled.converged && final.converged, convergenceS: settled.converged ? Math.round(settled.ms / 100) / 10 : null,
      counts,
      actions: pickCounts(soak.counts, (k) => !FAULT_KINDS.has(k) && !k.includes(':') && k !== 'cf-identical-record'),
      faults: pickCounts(soak.counts, (k) => FAULT_KINDS.has(k) || k.includes(':') || k === 'cf-identical-record'),
      cluster: clusterSummary(soak),
      zones: zoneSummary(soak),
      cloudflare: cloudflareSummary(soak),
      leadership: leadershipSummary(soak),
      replicas: replicaSummary(soak),
      info,
      violations: violations.slice(0, 50),
      notes: [...soak.notes, ...judged.flatMap((j) => j.notes ?? [])],
      trailFile,
      trails: violations.slice(0, 5).map((v) => soak.trailFor(v)),
    };
    return report;
  } finally {
    await soak.shutdown();
  }
}

function pickCounts(all: Record<string, number>, pred: (k: string) => boolean): Record<string, number> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => pred(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
}
