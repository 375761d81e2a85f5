/**
 * The chaos soak: two replicas of the real service (separate processes, leader election on) against
 * both simulators, while a seeded driver churns the cluster, injects faults into both APIs and
 * kills or pauses replicas. Then it waits for convergence and judges the invariants
 * (invariants.ts) from the simulators' own state and logs.
 *
 * A seed fixes the driver's sequence of choices (what to do next, to which node, with which
 * parameters); what the replicas do in between depends on timing, so two runs of one seed are
 * alike, not identical. Violations therefore come with the event trail that led to them.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorld, type World } from '../../src/cli/world.js';
import type { DnsRecordView } from '../../src/sim/cloudflare/index.js';
import { makeNode } from '../../src/sim/kube/index.js';
import {
  checkFinal, checkLeadership, checkProcesses, INVARIANTS, replayCommits,
  type Disturbance, type InvariantName, type Judged, type Violation, type WriterIdentity,
} from './invariants.js';
import { ClusterModel, eligible, type NodeState, type Ready } from './model.js';
import { Prng } from './prng.js';
import { startProxy, type BatchFault, type ChaosProxy, type ProxiedRequest } from './proxy.js';
import { ReplicaSlot, type Incarnation } from './replicas.js';

export const OWNER = 'chaos';
export const FLOOR = 1;
const ZONE = 'example.com';
const STATIC_HOSTNAME = `app.${ZONE}`;
const LEASE = { resource: 'leases.coordination.k8s.io', name: 'epictetus', namespace: 'default' };
const CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' };
const TO_BE_DELETED = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };
const SERVICES = ['svc-0', 'svc-1', 'svc-2', 'svc-3'];

export const CHURN = {
  'node-add': 6, 'node-delete': 4, 'taint-one': 4, 'taint-both': 5, untaint: 5, 'not-ready': 4, unknown: 2, ready: 6,
  'svc-toggle': 3, 'svc-hostname': 2, 'svc-ttl': 2, 'svc-bad-annotation': 1,
} as const;
export const FAULTS = {
  'cf-429': 1.5, 'cf-5xx': 1.5, 'cf-gateway-timeout': 0.6, 'cf-reset': 1, 'cf-batch-fail': 1.2, 'cf-slow': 0.8, 'cf-hang': 0.2,
  'kube-watch-drop': 1.2, 'kube-410': 1.2, 'kube-watch-error': 0.8, 'kube-restart': 0.4, 'kube-slow': 0.6, 'kube-list-fail': 0.8,
  'kube-lease-fail': 0.2, kill: 0.6, 'kill-mid-batch': 0.6, pause: 0.6,
  // A leader frozen past its Lease while it waited to retry a batch used to send the stale batch
  // on waking up (regressions.test.ts, "only the leader writes"; fixed in 6a6e9f8).
  'pause-long': 0.3,
} as const;
export type ActionKind = keyof typeof CHURN | keyof typeof FAULTS;

export interface SoakOptions {
  readonly seconds: number;
  readonly seed: number;
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
  readonly forced?: ReadonlyArray<{ readonly atFraction: number; readonly kind: keyof typeof FAULTS }>;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
  /** Where to write the whole trail (JSON lines); false: nowhere. Default: a file in the temp directory. */
  readonly trailFile?: string | false;
}

export interface TrailEntry { readonly at: number; readonly who: string; readonly text: string }

export interface SoakReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly seconds: number;
  readonly nodes: number;
  readonly durationS: number;
  readonly converged: boolean;
  readonly convergenceS: number | null;
  readonly counts: Record<InvariantName, number>;
  readonly actions: Record<string, number>;
  readonly faults: Record<string, number>;
  readonly cluster: Record<string, number>;
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
/** Injected failures still waiting for a call to fail, per simulator, before more are queued. */
const MAX_QUEUED_FAULTS = 2;
/** At most one kill (or long pause) in this long: each costs a leaderless lease duration when it hits the leader. */
const PROCESS_FAULT_GAP_MS = 20_000;
/** Runs at least this long spare replica a from kills for their first half, so one process lives long enough to judge its memory. */
const MEMORY_RUN_S = 600;
const iso = (t: number) => new Date(t).toISOString().slice(11, 23);

export class Soak {
  readonly rng: Prng;
  /** Decisions taken in reaction to the replicas (kill timing, restarts): their own stream. */
  readonly rngAsync: Prng;
  readonly model = new ClusterModel();
  readonly requests: ProxiedRequest[] = [];
  readonly trail: TrailEntry[] = [];
  readonly counts: Record<string, number> = {};
  readonly disturbances: Disturbance[] = [];
  readonly identities = new Map<string, WriterIdentity>();
  readonly holderAtAnswer = new Map<number, string | undefined>();
  readonly slots: ReplicaSlot[] = [];
  foreignBefore: DnsRecordView[] = [];
  world!: World;
  private readonly proxies: ChaosProxy[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingRestart = new Set<string>();
  private seq = 0;
  private nodeCounter = 0;
  private holder = '';
  private holderChanges = 0;
  private armedKill: { tag: string; mode: 'kill-before' | 'kill-after'; until: number } | undefined;
  private armedHang: { ms: number; until: number } | undefined;
  private armedPause: { tag: string; ms: number; until: number } | undefined;
  private last: Record<string, number> = {};
  private services = new Map<string, { enabled: boolean; hostname: string | undefined; ttl: number | undefined; bad: boolean }>();
  private stopping = false;
  private drivingSince = 0;
  private cfSlowUntil = 0;
  private kubeSlowUntil = 0;

  constructor(readonly opts: SoakOptions) {
    this.rng = new Prng(opts.seed);
    this.rngAsync = new Prng((opts.seed ^ 0x9e3779b9) >>> 0);
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
    this.world = await startWorld({ nodes: 0, hostnames: [STATIC_HOSTNAME], zone: ZONE });
    const now = Date.now();
    this.model.setHostname(now, STATIC_HOSTNAME, true, 1);
    const n = this.opts.nodes ?? 10;
    for (let i = 0; i < n; i++) this.addNode('True', true);
    for (const [i, name] of SERVICES.entries()) {
      const state = { enabled: i < 3, hostname: i === 2 ? undefined : `svc${i}.${ZONE}`, ttl: i === 1 ? 120 : undefined, bad: false };
      this.services.set(name, state);
      this.world.kube.createObject('services', {
        metadata: { name, namespace: 'default', annotations: Object.fromEntries(Object.entries(this.annotations(state)).filter(([, v]) => v !== null)) },
        spec: { ports: [{ port: 80 }] },
      });
      this.syncClaims(Date.now());
    }
    this.addForeignRecords();
    this.world.cloudflare.onCommit((c) => this.note('commit', `${c.kind} ${c.record.name} ${c.record.type} ${c.record.content} ${c.record.comment ?? ''} id=${c.record.id.slice(0, 8)}`, c.at));
    for (const tag of ['a', 'b']) {
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
    }
    for (const slot of this.slots) this.note(`replica ${slot.tag}#${slot.start().n}`, 'started');
    this.pollers();
  }

  private readonly envs = new Map<string, string>();

  private replicaEnv(tag: string): Record<string, string> {
    return {
      ...this.world.env,
      CLOUDFLARE_API_BASE_URL: this.envs.get(tag) ?? '',
      LEADER_ELECTION: 'true', LEASE_NAMESPACE: LEASE.namespace, LEASE_NAME: LEASE.name,
      // DEBUG: the leader's failed renewals are logged at that level only, and the trail needs them.
      LOG_FORMAT: 'json', LOG_LEVEL: 'DEBUG', HEALTH_PORT: '0', HEALTH_BIND_ADDRESS: '127.0.0.1',
      OWNER_ID: OWNER, DNS_RECORD_TYPES: 'A,AAAA', NOT_READY_GRACE_SECONDS: '0',
      MIN_RECORDS_PER_HOSTNAME: String(FLOOR), MAX_UNHEALTHY_FRACTION: '1',
      DNS_SYNC_INTERVAL: '10', RETRY_DELAY: '0.5', MAX_RETRIES: '3', RECORD_EVENTS: 'true',
    };
  }

  /** Records the service must leave alone, made before it starts. */
  private addForeignRecords(): void {
    const cf = this.world.cloudflare;
    const shared = [...this.model.nodes.values()][2]?.ipv4 ?? '198.18.0.3';
    const made: Array<{ name: string; type: string; content: string; comment?: string; ttl?: number }> = [
      { name: STATIC_HOSTNAME, type: 'A', content: '192.0.2.10', comment: 'hand-made: office gateway' },
      { name: STATIC_HOSTNAME, type: 'A', content: '192.0.2.11', comment: 'epictetus:owner=other-cluster' },
      { name: STATIC_HOSTNAME, type: 'A', content: shared, comment: 'epictetus:owner=other-cluster shares this address' },
      { name: STATIC_HOSTNAME, type: 'AAAA', content: '2001:db8:ffff::1' },
      { name: `svc0.${ZONE}`, type: 'A', content: '192.0.2.12', ttl: 300 },
      { name: `www.${ZONE}`, type: 'CNAME', content: STATIC_HOSTNAME },
      { name: `mail.${ZONE}`, type: 'A', content: '192.0.2.25', comment: 'mail server' },
    ];
    for (const r of made) cf.addRecord(this.zoneId, { ttl: 1, proxied: false, ...r });
    this.foreignBefore = cf.records(this.zoneId);
  }

  private pollers(): void {
    const lease = setInterval(() => {
      this.readHolder();
      this.noteLeaseRequests();
    }, 100);
    const rss = setInterval(() => {
      const now = Date.now();
      for (const s of this.slots) s.sampleRss(now);
    }, 2_000);
    this.stopPollers = () => {
      clearInterval(lease);
      clearInterval(rss);
    };
  }

  private stopPollers: () => void = () => undefined;

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

  private onReplicaLog(tag: string, n: number, entry: Record<string, unknown>): void {
    const msg = typeof entry.msg === 'string' ? entry.msg : '';
    if (msg === 'starting epictetus' && typeof entry.identity === 'string') this.identities.set(entry.identity, { tag, n });
    if (/^(became the leader|stopped leading|lost the leadership|released the leader lease|lease acquire\/renew failed|reconcile failed|SAFETY FLOOR|MASS-REMOVAL|DNS record|Cloudflare call failed|watch expired|list failed)/.test(msg)) {
      const extra = typeof entry.err === 'string' ? ` (${entry.err.slice(0, 160)})` : '';
      this.note(`replica ${tag}#${n}`, `log: ${msg}${extra}`);
    }
    if ((entry.level === 'error' || entry.level === 'fatal') && !/^reconcile failed/.test(msg)) {
      this.note(`replica ${tag}#${n}`, `ERROR log: ${msg}`);
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

  private annotations(s: { enabled: boolean; hostname: string | undefined; ttl: number | undefined; bad: boolean }): Record<string, string | null> {
    return {
      'epictetus.io/dns-enabled': s.enabled ? 'true' : null,
      'epictetus.io/hostname': s.hostname ?? null,
      'epictetus.io/ttl': s.bad ? '7' : s.ttl === undefined ? null : String(s.ttl),
    };
  }

  private syncClaims(at: number): void {
    const claimed = new Map<string, number>();
    for (const s of this.services.values()) {
      if (s.enabled && s.hostname && !s.bad) claimed.set(s.hostname, s.ttl ?? 1);
    }
    for (const [i] of SERVICES.entries()) {
      for (const name of [`svc${i}.${ZONE}`, `svc${i}-alt.${ZONE}`]) {
        const ttl = claimed.get(name);
        this.model.setHostname(at, name, ttl !== undefined, ttl ?? this.model.hostnames.get(name)?.ttl ?? 1);
      }
    }
  }

  /** After a node became eligible: sometimes create its record behind the service's back (81058). */
  private maybeIdentical(n: NodeState, wasEligible: boolean): void {
    if (wasEligible || !eligible(n) || !this.rng.chance(0.3)) return;
    const claimed = [...this.model.hostnames.values()].filter((h) => h.claimed).sort((a, b) => (a.name < b.name ? -1 : 1));
    const h = this.rng.pick(claimed);
    const marked = this.rng.chance(0.5);
    try {
      this.world.cloudflare.addRecord(this.zoneId, {
        name: h.name, type: 'A', content: n.ipv4, ttl: h.ttl, proxied: false, ...(marked ? { comment: `epictetus:owner=${OWNER}` } : {}),
      });
      this.count('cf-identical-record');
      this.note('fault', `cf-identical-record: ${h.name} A ${n.ipv4} created behind the service's back (${marked ? 'with our marker' : 'unmarked'})`);
    } catch {
      this.note('fault', `cf-identical-record: ${h.name} A ${n.ipv4} already there`);
    }
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
    switch (kind) {
      case 'node-add': {
        if (nodes.length >= Math.ceil(base * 1.4)) return undefined;
        const n = this.addNode(rng.chance(0.8) ? 'True' : 'False');
        this.maybeIdentical(n, false);
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
        this.maybeIdentical(n, was);
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
        this.maybeIdentical(n, was);
        return `ready ${n.name}`;
      }
      case 'svc-toggle':
      case 'svc-hostname':
      case 'svc-ttl':
      case 'svc-bad-annotation': {
        const name = rng.pick(SERVICES);
        const s = this.services.get(name)!;
        const i = SERVICES.indexOf(name);
        if (kind === 'svc-toggle') s.enabled = !s.enabled;
        else if (kind === 'svc-hostname') s.hostname = rng.pick([undefined, `svc${i}.${ZONE}`, `svc${i}-alt.${ZONE}`].filter((h) => h !== s.hostname));
        else if (kind === 'svc-ttl') s.ttl = rng.pick([undefined, 60, 120, 300].filter((t) => t !== s.ttl));
        else s.bad = !s.bad;
        this.world.kube.patchObject('services', name, { metadata: { annotations: this.annotations(s) } }, { type: 'merge' });
        this.syncClaims(now());
        return `${kind} ${name} → enabled=${s.enabled} hostname=${s.hostname ?? '-'} ttl=${s.ttl ?? '-'}${s.bad ? ' (bad ttl annotation)' : ''}`;
      }
    }
  }

  // ---- faults -------------------------------------------------------------------------------------

  private disturb(kind: string, ms: number): void {
    const at = Date.now();
    this.disturbances.push({ kind, from: at, to: at + ms });
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

  /** In long runs replica a is not killed nor frozen long during the first half: its memory is judged over that life. */
  spared(slot: ReplicaSlot): boolean {
    return slot.tag === 'a' && this.opts.seconds >= MEMORY_RUN_S && Date.now() < this.drivingSince + this.opts.seconds * 500;
  }

  private leaderSlot(): ReplicaSlot | undefined {
    const w = this.identities.get(this.holder);
    const slot = w ? this.slots.find((s) => s.tag === w.tag) : undefined;
    return slot && slot.current?.n === w?.n ? slot : undefined;
  }

  private async fault(kind: keyof typeof FAULTS): Promise<string | undefined> {
    const rng = this.rng;
    const cf = this.world.cloudflare;
    const kube = this.world.kube;
    // failNext queues failures for the next matching calls; a replica that is waiting makes few
    // calls, so keep the queues short or they would stand between it and every success.
    if (kind.startsWith('cf-') && kind !== 'cf-slow' && kind !== 'cf-hang' && cf.pendingFaults >= MAX_QUEUED_FAULTS) return undefined;
    if ((kind === 'kube-list-fail' || kind === 'kube-lease-fail') && kube.pendingFaults >= MAX_QUEUED_FAULTS) return undefined;
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
        const victims = this.running().filter((s) => !this.spared(s));
        if (this.running().length < 2 || victims.length === 0 || !this.gap('process', PROCESS_FAULT_GAP_MS)) return undefined;
        const leader = this.leaderSlot();
        const slot = leader && victims.includes(leader) && rng.chance(0.6) ? leader : rng.pick(victims);
        this.kill(slot.tag, leader === slot ? 'the leader' : 'a follower');
        return `kill ${slot.tag}`;
      }
      case 'kill-mid-batch': {
        const leader = this.leaderSlot();
        if (!leader || this.spared(leader) || this.running().length < 2 || !this.gap('process', PROCESS_FAULT_GAP_MS)) return undefined;
        const mode = rng.chance(0.5) ? 'kill-before' : 'kill-after';
        this.armedKill = { tag: leader.tag, mode, until: Date.now() + 8_000 };
        return `kill-mid-batch armed for ${leader.tag}'s next batch (${mode === 'kill-before' ? 'as it is sent' : 'after it is applied, before the answer'})`;
      }
      case 'pause':
      case 'pause-long': {
        const long = kind === 'pause-long';
        const victims = this.running().filter((s) => !long || !this.spared(s));
        if (this.running().length < 2 || victims.length === 0 || !this.gap(long ? 'process' : 'pause', long ? PROCESS_FAULT_GAP_MS : 3_000)) return undefined;
        const leader = this.leaderSlot();
        const slot = leader && victims.includes(leader) && rng.chance(0.7) ? leader : rng.pick(victims);
        const ms = long ? rng.int(16_000, 22_000) : rng.int(500, 3000);
        if (long && slot === leader && rng.chance(0.5)) {
          this.armedPause = { tag: slot.tag, ms, until: Date.now() + 10_000 };
          return `${kind} armed for ${slot.tag} (the leader): SIGSTOP for ${ms} ms when its next batch fails (it is then about to wait and retry)`;
        }
        if (!this.pauseFor(slot, ms)) return undefined;
        return `${kind} ${slot.tag}${slot === leader ? ' (the leader)' : ''} SIGSTOP for ${ms} ms`;
      }
    }
  }

  private pauseFor(slot: ReplicaSlot, ms: number): boolean {
    if (!slot.pause()) return false;
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
      if (this.pendingRestart.delete(tag) && !slot.running) this.note(`replica ${tag}#${slot.start().n}`, 'started again');
    });
  }

  // ---- the run ----------------------------------------------------------------------------------

  private weights(): { churn: Record<string, number>; faults: Record<string, number> } {
    const w = this.opts.weights ?? {};
    const pick = (table: Record<string, number>) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, (w as Record<string, number>)[k] ?? v]));
    return { churn: pick(CHURN), faults: pick(FAULTS) };
  }

  private forcedDone = new Set<number>();

  async step(fraction = 0): Promise<void> {
    for (const [i, f] of (this.opts.forced ?? []).entries()) {
      if (this.forcedDone.has(i) || fraction < f.atFraction) continue;
      const done = await this.fault(f.kind);
      if (done === undefined) continue;
      this.forcedDone.add(i);
      this.count(f.kind);
      this.note('fault', `${done} (forced)`);
      return;
    }
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
      records: this.world.cloudflare.records(this.zoneId), model: this.model, owner: OWNER, floor: FLOOR,
      foreignBefore: this.foreignBefore, commits: this.world.cloudflare.commits, types: ['A', 'AAAA'],
    });
  }

  /** Stops the faults, brings every replica back, and waits for the records to match the cluster. */
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
    this.note('driver', `settling: latencies reset, unserved injected failures dropped (${JSON.stringify(unserved)}), paused replicas resumed`);
    for (const s of this.slots) s.resume();
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
      if (this.leaderSlot() && this.finalCheck().converged) {
        const ms = Date.now() - started;
        await sleep(3_000); // anything still in flight lands now, and must not undo it
        return { converged: this.finalCheck().converged, ms };
      }
      await sleep(500);
    }
    return { converged: false, ms: Date.now() - started };
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stopPollers();
    await Promise.all(this.slots.map(async (s) => {
      const inc = await s.stop();
      if (inc) this.note(`replica ${inc.tag}#${inc.n}`, `stopped: code ${inc.exitCode}`);
    }));
    await Promise.all(this.proxies.map((p) => p.close()));
    await this.world?.stop();
  }

  judge(): { judged: Judged[]; final: ReturnType<typeof checkFinal> } {
    const foreignIds = new Set(this.foreignBefore.map((r) => r.id));
    const final = this.finalCheck();
    const judged = [
      checkLeadership(this.requests, this.identities, this.holderAtAnswer),
      replayCommits({
        commits: this.world.cloudflare.commits, requests: this.requests, model: this.model, disturbances: this.disturbances,
        owner: OWNER, floor: FLOOR, foreignIds,
      }),
      final,
      checkProcesses(this.slots.flatMap((s) => s.incarnations)),
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
    const lease = this.world.kube.getObject(LEASE.resource, LEASE.name, LEASE.namespace) as { spec?: { holderIdentity?: string } } | undefined;
    const h = lease?.spec?.holderIdentity ?? '';
    const w = this.identities.get(h);
    return w ? `${w.tag}#${w.n}` : h === '' ? '(none)' : h;
  }

  async shutdownReplicas(): Promise<void> {
    await Promise.all(this.slots.map(async (s) => {
      const inc = await s.stop();
      if (inc) this.note(`replica ${inc.tag}#${inc.n}`, `stopped (SIGTERM): code ${inc.exitCode}`);
    }));
  }

  clusterSummary(): Record<string, number> {
    const nodes = [...this.model.nodes.values()];
    const hostnames = [...this.model.hostnames.values()];
    return {
      nodesEver: nodes.length, nodesAtEnd: nodes.filter((n) => n.exists).length, eligibleAtEnd: nodes.filter(eligible).length,
      hostnamesClaimedAtEnd: hostnames.filter((h) => h.claimed).length, hostnamesEver: hostnames.length,
    };
  }

  cloudflareSummary(): Record<string, unknown> {
    const commits = this.world.cloudflare.commits;
    const byKind = (k: string) => commits.filter((c) => c.kind === k).length;
    const batches = this.requests.filter((r) => r.method === 'POST' && r.path.includes('/batch'));
    const statuses: Record<string, number> = {};
    for (const b of batches) statuses[String(b.status || 'reset/none')] = (statuses[String(b.status || 'reset/none')] ?? 0) + 1;
    const writesByReplica: Record<string, number> = {};
    for (const b of batches) writesByReplica[b.tag] = (writesByReplica[b.tag] ?? 0) + 1;
    return {
      commits: { create: byKind('create'), update: byKind('update'), delete: byKind('delete') },
      requests: this.requests.length, batchCalls: batches.length, batchStatuses: statuses, batchCallsByReplica: writesByReplica,
      recordsAtEnd: this.world.cloudflare.records(this.zoneId).length,
    };
  }

  leadershipSummary(): Record<string, unknown> {
    return { holderChanges: this.holderChanges, identities: this.identities.size };
  }

  replicaSummary(): Array<Record<string, unknown>> {
    return this.slots.map((s) => {
      const incs = s.incarnations;
      const counters: Record<string, number> = {};
      for (const inc of incs) for (const [k, v] of Object.entries(inc.counters)) counters[k] = (counters[k] ?? 0) + v;
      const lives = incs.map((i) => ((i.exitedAt ?? Date.now()) - i.startedAt) / 1000);
      const rss = incs.flatMap((i) => i.rss.map(([, kb]) => kb));
      const longest = incs[lives.indexOf(Math.max(...lives))];
      const first = longest?.rss[0]?.[0] ?? 0;
      const q = ((longest?.rss[longest.rss.length - 1]?.[0] ?? first) - first) / 4;
      const peakMb = (a: number, b: number) =>
        Math.round(Math.max(0, ...(longest?.rss ?? []).filter(([t]) => t >= first + a * q && t <= first + b * q).map(([, kb]) => kb)) / 1024);
      return {
        replica: s.tag, incarnations: incs.length, killed: incs.filter((i) => i.endedBy === 'sigkill').length,
        longestLifeS: Math.round(Math.max(0, ...lives)), maxRssMb: Math.round(Math.max(0, ...rss) / 1024),
        minRssMb: rss.length > 0 ? Math.round(Math.min(...rss) / 1024) : null,
        // RSS peaks of the longest-lived incarnation per quarter of its life (what the memory rule compares).
        longestRssPeaksMb: longest ? [peakMb(0, 1), peakMb(1, 2), peakMb(2, 3), peakMb(3, 4)] : [],
        log: counters,
      };
    });
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
    progress(`seed ${opts.seed}: world up, replicas starting; waiting for a leader and the first sync`);
    const warm = await soak.waitForLeaderAndRecords(90_000);
    if (!warm) soak.note('driver', 'WARNING: no leader or no first sync within 90 s; driving anyway');
    progress(`seed ${opts.seed}: driving for ${opts.seconds} s`);
    soak.beginDriving();
    if (opts.seconds >= MEMORY_RUN_S) progress(`seed ${opts.seed}: replica a is spared from kills for the first ${opts.seconds / 2} s (its memory is judged over that life)`);
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
    progress(`seed ${opts.seed}: driver stopped; waiting for convergence`);
    const settled = await soak.settle(opts.convergeTimeoutMs ?? 180_000);
    progress(`seed ${opts.seed}: ${settled.converged ? `converged in ${(settled.ms / 1000).toFixed(1)} s` : 'did NOT converge'}; stopping the replicas`);
    await soak.shutdownReplicas();
    const { judged, final } = soak.judge();
    const violations = judged.flatMap((j) => j.violations).sort((a, b) => a.at - b.at);
    const counts = Object.fromEntries(INVARIANTS.map((k) => [k, violations.filter((v) => v.invariant === k).length])) as Record<InvariantName, number>;
    const info = Object.assign({}, ...judged.map((j) => j.info)) as Record<number, number>;
    const trailFile = opts.trailFile === false ? null : opts.trailFile ?? join(tmpdir(), `epictetus-chaos-seed${opts.seed}-${t0}.jsonl`);
    if (trailFile) writeFileSync(trailFile, [...soak.trail].sort((a, b) => a.at - b.at).map((e) => JSON.stringify(e)).join('\n') + '\n');
    report = {
      ok: violations.length === 0 && settled.converged,
      seed: opts.seed, seconds: opts.seconds, nodes: opts.nodes ?? 10,
      durationS: Math.round((Date.now() - t0) / 1000),
      converged: settled.converged && final.converged, convergenceS: settled.converged ? Math.round(settled.ms / 100) / 10 : null,
      counts,
      actions: pickCounts(soak.counts, (k) => !FAULT_KINDS.has(k) && !k.includes(':') && k !== 'cf-identical-record'),
      faults: pickCounts(soak.counts, (k) => FAULT_KINDS.has(k) || k.includes(':') || k === 'cf-identical-record'),
      cluster: soak.clusterSummary(),
      cloudflare: soak.cloudflareSummary(),
      leadership: soak.leadershipSummary(),
      replicas: soak.replicaSummary(),
      info,
      violations: violations.slice(0, 50),
      notes: judged.flatMap((j) => j.notes ?? []),
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

