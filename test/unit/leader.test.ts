/**
 * Leader election on a fake monotonic clock and a fake Lease API: deadlines from when a renewal
 * was sent, bounded calls, stepped wall clocks, and problems said once with their fix.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { httpError } from '../../src/kube/http.js';
import { LeaderElector, type LeaderOptions } from '../../src/kube/leader.js';
import type { LeaseApi, LeaseRecord, StoredLease } from '../../src/kube/lease-api.js';
import { EpictetusError } from '../../src/model/errors.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

type Behaviour = 'ok' | 'hang' | Error | { gate: Promise<void> };
interface Call { readonly who: string; readonly op: 'get' | 'write'; readonly at: number; readonly signal: AbortSignal | undefined; done?: 'ok' | 'failed' }

/** One Lease as the API server keeps it, seen by each replica through its own view. */
class LeaseStore {
  lease: StoredLease | undefined;
  private rv = 0;
  readonly calls: Call[] = [];
  readonly history: Array<{ at: number; record: LeaseRecord }> = [];

  constructor(private readonly clock: ManualClock) {}

  put(record: LeaseRecord): StoredLease {
    this.lease = { ...record, resourceVersion: String(++this.rv) };
    this.history.push({ at: this.clock.now(), record });
    return this.lease;
  }

  view(who: string, behave: (op: 'get' | 'write') => Behaviour = () => 'ok'): LeaseApi & { behave: (op: 'get' | 'write') => Behaviour } {
    const run = async <T>(op: 'get' | 'write', signal: AbortSignal | undefined, work: () => T): Promise<T> => {
      const call: Call = { who, op, at: this.clock.now(), signal };
      this.calls.push(call);
      const b = api.behave(op);
      if (b === 'hang') return new Promise<T>(() => undefined); // never answers, ignores its signal
      if (b instanceof Error) { call.done = 'failed'; throw b; }
      if (b !== 'ok') await b.gate;
      try {
        const out = work();
        call.done = 'ok';
        return out;
      } catch (err) {
        call.done = 'failed';
        throw err;
      }
    };
    const api = {
      behave,
      get: (_ns: string, _name: string, opts?: { signal?: AbortSignal | undefined }) => run('get', opts?.signal, () => this.lease),
      write: (_ns: string, _name: string, record: LeaseRecord, rv?: string, opts?: { signal?: AbortSignal | undefined }) => run('write', opts?.signal, () => {
        if (rv === undefined ? this.lease !== undefined : this.lease?.resourceVersion !== rv) {
          throw new EpictetusError('EPI_LEASE_CONFLICT', 'lease default/epictetus changed under us', { status: 409 });
        }
        return this.put(record);
      }),
    };
    return api;
  }
}

interface Line { level: number; msg: string; [k: string]: unknown }

function capture(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l) as Line); } });
  return { log, lines };
}

const WARN = 40;
const ERROR = 50;
const OPTS = { namespace: 'default', name: 'epictetus', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, callTimeoutMs: 5_000 };

const stops: AbortController[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  await settle();
});

function replica(clock: ManualClock, api: LeaseApi, identity: string, opts: Partial<LeaderOptions> = {}) {
  const { log, lines } = capture();
  const events: string[] = [];
  const elector = new LeaderElector(api, { ...OPTS, identity, clock, ...opts }, log, {
    onStartedLeading: () => events.push(`started@${clock.now()}`),
    onStoppedLeading: () => events.push(`stopped@${clock.now()}`),
  });
  const stop = new AbortController();
  stops.push(stop);
  return { elector, lines, events, start: () => void elector.run(stop.signal), stop };
}

/** Advances in small steps, checking at each that no two replicas lead at once. */
async function walk(clock: ManualClock, ms: number, replicas: Array<{ elector: LeaderElector }>, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    expect(replicas.filter((r) => r.elector.isLeader()).length).toBeLessThanOrEqual(1);
  }
}

const lastOk = (store: LeaseStore, who: string, op: 'get' | 'write') => store.calls.filter((c) => c.who === who && c.op === op && c.done === 'ok').at(-1);
const forbidden = (verb: string) => httpError(`${verb} lease default/epictetus`, 403, JSON.stringify({
  kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403,
  message: `leases.coordination.k8s.io "epictetus" is forbidden: User "system:serviceaccount:dns:epictetus" cannot ${verb} resource "leases" in API group "coordination.k8s.io" in the namespace "default"`,
}));

describe('leader election on a monotonic clock', () => {
  it('takes a free lease, renews it every retry period and writes wall-clock times into it', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    const a = replica(clock, store.view('a'), 'a');
    a.start();
    await settle();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual([`started@${1_000_000}`]);
    await clock.advance(6_000);
    expect(store.history.map((h) => h.at - 1_000_000)).toEqual([0, 2_000, 4_000, 6_000]);
    expect(store.lease).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: clock.wall(), acquireTime: clock.wall() - 6_000 });
  });

  it('stops leading renewDeadline after the last renewal was SENT, whatever the wall clock does during a partition', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    let partitioned = false;
    const refused = new EpictetusError('EPI_KUBE_CONNECTION', 'Kubernetes get lease default/epictetus: cannot reach https://10.0.0.1:443/apis/coordination.k8s.io/v1/namespaces/default/leases/epictetus: connect ETIMEDOUT', { retryable: true });
    const a = replica(clock, store.view('a', () => (partitioned ? refused : 'ok')), 'a');
    const b = replica(clock, store.view('b'), 'b');
    a.start();
    await settle();
    await clock.advance(1_000);
    b.start();
    await walk(clock, 5_500, [a, b]);
    partitioned = true;
    clock.stepWall(-60_000); // the clock is stepped back 60 s while the leader cannot reach the API
    const lastSent = lastOk(store, 'a', 'get')!.at;
    await walk(clock, lastSent + 10_000 - 1 - clock.now(), [a, b], 1);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.at(-1)).toBe(`stopped@${lastSent + 10_000}`);
    // The follower takes over only once it saw no change for a whole lease duration.
    await walk(clock, 20_000, [a, b]);
    expect(b.elector.isLeader()).toBe(true);
    const takeover = store.history.findLast((h) => h.record.holderIdentity === 'b')!;
    const lastRenewal = store.history.findLast((h) => h.record.holderIdentity === 'a')!;
    expect(takeover.at - lastRenewal.at).toBeGreaterThanOrEqual(15_000);
    expect(takeover.record.leaseTransitions).toBe(1);
  });

  it('counts a renewal whose answer came 2.5 s late from when it was sent, not answered', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    let release: () => void = () => undefined;
    let mode: 'ok' | 'slow' | 'down' = 'ok';
    const down = new EpictetusError('EPI_KUBE_CONNECTION', 'Kubernetes get lease default/epictetus: cannot reach https://10.0.0.1:443: connect ECONNREFUSED 10.0.0.1:443', { retryable: true });
    const a = replica(clock, store.view('a', (op) => {
      if (mode === 'down') return down;
      if (mode === 'slow' && op === 'write') return { gate: new Promise<void>((r) => { release = r; }) };
      return 'ok';
    }), 'a');
    a.start();
    await clock.advance(3_000);
    mode = 'slow';
    await clock.advance(1_000); // the renewal at +4 s is sent and its answer held back
    const sent = store.calls.at(-1)!.at;
    expect(store.calls.at(-1)).toMatchObject({ op: 'write', at: 1_004_000 });
    await clock.advance(2_500);
    mode = 'down';
    release();
    await settle();
    expect(store.calls.findLast((c) => c.op === 'write')?.done).toBe('ok');
    await clock.advance(sent + 10_000 - 1 - clock.now());
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false); // at send + renewDeadline, not 2.5 s later
    expect(a.events.at(-1)).toBe(`stopped@${sent + 10_000}`);
  });

  it('bounds a Lease call that never answers, and ends leadership at the renew deadline', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    let hang = false;
    const a = replica(clock, store.view('a', () => (hang ? 'hang' : 'ok')), 'a');
    a.start();
    await clock.advance(1_000);
    hang = true;
    await clock.advance(1_000); // the renewal at +2 s hangs
    const hung = store.calls.at(-1)!;
    expect(hung.at).toBe(1_002_000);
    await clock.advance(4_999);
    expect(hung.signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(hung.signal?.aborted).toBe(true); // callTimeout (5 s) later the call is given up and its socket closed
    expect(a.elector.problem()).toMatch(/^leader election cannot use Lease default\/epictetus: Lease default\/epictetus: no answer within 5\.0 s/);
    // the loop goes on: the next attempt (at +9 s) is bounded by the renew deadline (+10 s)
    await clock.advance(2_000);
    const next = store.calls.at(-1)!;
    expect(next.at).toBe(1_009_000);
    await clock.advance(999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(next.signal?.aborted).toBe(true);
    expect(a.events).toEqual(['started@1000000', 'stopped@1010000']);
    // one WARN at the first failure, one ERROR once failing for longer than the lease duration
    await clock.advance(30_000);
    const loud = a.lines.filter((l) => l.level >= WARN && l.msg.startsWith('leader election cannot use'));
    expect(loud.map((l) => l.level)).toEqual([WARN, ERROR]);
    expect(loud[1]?.failingForS).toBeGreaterThan(15);
  });

  it('judges another holder\'s lease by its own observation, never by the renewTime another clock wrote', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    // held by a replica whose clock is an hour behind: its renewTime looks long expired
    store.put({ holderIdentity: 'old', leaseDurationSeconds: 15, acquireTime: clock.wall() - 3_600_000, renewTime: clock.wall() - 3_600_000, leaseTransitions: 4 });
    const b = replica(clock, store.view('b'), 'b');
    b.start();
    await settle();
    const firstSeen = clock.now();
    await clock.advance(14_999);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.leader()).toBe('old');
    await clock.advance(4_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.history.at(-1)!.at - firstSeen).toBeGreaterThanOrEqual(15_000);
    expect(store.lease).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
  });

  it('says once, at ERROR and with the fix, that RBAC forbids the Lease; problem() reports it', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    const a = replica(clock, store.view('a', (op) => (op === 'get' ? 'ok' : forbidden('create'))), 'a', { namespace: 'default' });
    a.start();
    await clock.advance(30_000);
    expect(store.calls.filter((c) => c.op === 'write').length).toBeGreaterThan(10);
    const loud = a.lines.filter((l) => l.level >= WARN);
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ level: ERROR, status: 403 });
    expect(loud[0]?.msg).toContain('Kubernetes create lease default/epictetus: HTTP 403 Forbidden: leases.coordination.k8s.io "epictetus" is forbidden: User "system:serviceaccount:dns:epictetus" cannot create');
    expect(loud[0]?.msg).toContain('Fix: grant the service account get, create and update on leases (coordination.k8s.io) in namespace default');
    expect(a.elector.problem()).toBe(loud[0]?.msg);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('says once that the Lease namespace does not exist (404 on create), and clears problem() once it works', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    let missing = true;
    const notFound = httpError('create lease nope/epictetus', 404, JSON.stringify({ kind: 'Status', reason: 'NotFound', code: 404, message: 'namespaces "nope" not found', details: { name: 'nope', kind: 'namespaces' } }));
    const a = replica(clock, store.view('a', (op) => (op === 'write' && missing ? notFound : 'ok')), 'a', { namespace: 'nope' });
    a.start();
    await clock.advance(20_000);
    const loud = a.lines.filter((l) => l.level >= WARN);
    expect(loud.map((l) => [l.level, l.msg])).toEqual([[ERROR,
      'leader election cannot use Lease nope/epictetus: Kubernetes create lease nope/epictetus: HTTP 404 NotFound: namespaces "nope" not found. Fix: namespace nope does not exist; set LEASE_NAMESPACE to an existing namespace, or create it']]);
    expect(a.elector.problem()).toContain('namespace nope does not exist');
    missing = false;
    await clock.advance(3_000);
    expect(a.elector.problem()).toBeUndefined();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.lines.filter((l) => l.msg === 'Lease calls work again')).toHaveLength(1);
  });

  it('takes a lost race (409) as no problem', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    const a = replica(clock, store.view('a'), 'a');
    // another replica creates the Lease between this one's get and its create
    const view = store.view('a');
    const racing: LeaseApi = {
      get: async (ns, name, o) => {
        const got = await view.get(ns, name, o);
        if (got === undefined) store.put({ holderIdentity: 'z', leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaseTransitions: 0 });
        return got;
      },
      write: (...args) => view.write(...args),
    };
    const b = replica(clock, racing, 'b');
    expect(await b.elector.attempt()).toBe(false);
    expect(store.calls.at(-1)?.done).toBe('failed');
    expect(b.elector.problem()).toBeUndefined();
    expect(b.lines.filter((l) => l.level >= WARN)).toEqual([]);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('hands the lease over on release', async () => {
    const clock = new ManualClock();
    const store = new LeaseStore(clock);
    const a = replica(clock, store.view('a'), 'a');
    expect(await a.elector.attempt()).toBe(true);
    await a.elector.release();
    expect(a.elector.isLeader()).toBe(false);
    expect(store.lease).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    const b = replica(clock, store.view('b'), 'b');
    expect(await b.elector.attempt()).toBe(true); // a free lease is taken at once
    expect(store.lease).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('refuses a renew deadline that is not below the lease duration', () => {
    const clock = new ManualClock();
    const { log } = capture();
    const make = () => new LeaderElector(new LeaseStore(clock).view('a'), { ...OPTS, identity: 'a', clock, renewDeadlineMs: 15_000 }, log, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    expect(make).toThrow(/renew deadline \(15000 ms\) must be below the lease duration \(15000 ms\)/);
  });
});
