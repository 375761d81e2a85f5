/** The soak's judges on hand-made histories: each rule flags what it must, and only that. */
import { describe, expect, it } from 'vitest';
import type { Commit, DnsRecordView } from '../../src/sim/cloudflare/index.js';
import {
  checkBusyLoops, checkFinal, checkLeadership, checkLeaseReadiness, checkProcesses, decisionTime, replayCommits, windowStart, VIEW_LAG_MS, ZONE_LAG_MS,
  type Disturbance, type ReplicaConfig,
} from './invariants.js';
import { ClusterModel, homeOf, Timeline, type NodeState, type ZoneState } from './model.js';
import type { ProxiedRequest } from './proxy.js';
import type { Incarnation } from './replicas.js';

const T0 = 1_800_000_000_000;
const OURS = 'epictetus:owner=chaos';
let ids = 0;

/** Zone ids as the simulator makes them (hex): example.com, and sub.example.com when a test adds it. */
const EX = 'e0e0';
const SUB = '5b5b';

function rec(name: string, content: string, comment: string | null = OURS, type = 'A', id = `r${++ids}`, zone = EX): DnsRecordView {
  return {
    id, zone_id: zone, zone_name: zone === EX ? 'example.com' : 'sub.example.com', name, type, content, proxiable: true, proxied: false, ttl: 1, comment, tags: [],
    created_on: '', modified_on: '', meta: {}, settings: {},
  };
}

const commit = (at: number, kind: Commit['kind'], record: DnsRecordView): Commit => ({ at, kind, zoneId: record.zone_id, record });

function request(over: Partial<ProxiedRequest> & { seq: number; at: number }): ProxiedRequest {
  return { tag: 'a', incarnation: 1, method: 'POST', path: `/zones/${EX}/dns_records/batch`, holder: 'id-a', status: 200, answeredAt: over.at + 5, ...over };
}

function node(name: string, ipv4: string): NodeState {
  return { name, ipv4, ipv6: undefined, exists: true, candidate: false, toBeDeleted: false, ready: 'True' };
}

const zone = (id: string, name: string, over: Partial<ZoneState> = {}): ZoneState => ({ id, name, account: 'acc', status: 'active', permission: 'edit', ...over });

/** example.com active; app.example.com claimed from T0; node-1 (198.18.0.1) and node-2 (198.18.0.2) eligible from T0. */
function cluster(): ClusterModel {
  const m = new ClusterModel();
  m.setZone(T0, zone(EX, 'example.com'));
  m.setHostname(T0, 'app.example.com', 'claimed', 1);
  m.addNode(T0, node('node-1', '198.18.0.1'));
  m.addNode(T0, node('node-2', '198.18.0.2'));
  return m;
}

describe('Timeline', () => {
  it('answers the value at a time, over an interval, and since when', () => {
    const t = new Timeline<boolean>();
    t.set(10, true);
    t.set(20, true); // no change
    t.set(30, false);
    t.set(40, true);
    expect([t.at(5), t.at(10), t.at(35), t.at(45)]).toEqual([undefined, true, false, true]);
    expect(t.throughout(true, 10, 29)).toBe(true);
    expect(t.throughout(true, 10, 30)).toBe(false);
    expect(t.throughout(true, 41, 99)).toBe(true);
    expect([t.since(25), t.since(45)]).toEqual([10, 40]);
  });
});

describe('only the leader writes', () => {
  const identities = new Map([['id-a', { tag: 'a', n: 1 }], ['id-b', { tag: 'b', n: 1 }]]);
  it('flags a write sent while another replica held the Lease, not one by the holder or with no holder', () => {
    const judged = checkLeadership([
      request({ seq: 1, at: T0, holder: 'id-a' }),
      request({ seq: 2, at: T0 + 1, holder: '' }),
      request({ seq: 3, at: T0 + 2, method: 'GET', holder: 'id-b' }),
      request({ seq: 4, at: T0 + 3, holder: 'id-b' }),
      request({ seq: 5, at: T0 + 4, tag: 'b', holder: 'id-b' }),
    ], identities, new Map([[1, 'id-b']]));
    expect(judged.violations.map((v) => v.at)).toEqual([T0 + 3]);
    expect(judged.violations[0]?.message).toContain('replica b#1');
    expect(judged.info).toEqual({ writes: 4, writesAnsweredAfterTakeover: 1 });
  });
});

describe('wrongful deletions and the floor', () => {
  it('finds when the service decided: the first of identical tries', () => {
    const body = '{"deletes":[{"id":"x"}]}';
    const reqs = [
      request({ seq: 1, at: T0, body: '{"deletes":[{"id":"y"}]}', deletes: ['y'] }),
      request({ seq: 2, at: T0 + 100, body, deletes: ['x'], status: 429 }),
      request({ seq: 3, at: T0 + 2_100, body, deletes: ['x'], status: 500 }),
      request({ seq: 4, at: T0 + 3_000, body, deletes: ['x'] }),
    ];
    expect(decisionTime('x', T0 + 3_001, reqs)).toMatchObject({ at: T0 + 100, request: { seq: 4 } });
    expect(decisionTime('z', T0 + 3_001, reqs)).toEqual({ at: T0 + 3_001 });
  });

  it('a Kubernetes disturbance in effect widens the window back to its start', () => {
    const d: Disturbance[] = [{ kind: 'kube-410', from: T0 + 1_000, to: T0 + 6_000 }];
    expect(windowStart(T0 + 5_000, d)).toBe(T0 + 1_000 - VIEW_LAG_MS);
    expect(windowStart(T0 + 7_000, d)).toBe(T0 + 7_000 - VIEW_LAG_MS);
  });

  function judge(m: ClusterModel, commits: Commit[], requests: ProxiedRequest[] = [], disturbances: Disturbance[] = [], configs: Record<string, ReplicaConfig> = {}) {
    return replayCommits({
      commits, requests, model: m, disturbances, floor: 1, foreignIds: new Set(), owners: new Set(['chaos', 'old']),
      configOf: (tag, n) => configs[`${tag}#${n}`],
    });
  }

  it('flags deleting the record of a node eligible all along, and not of one that just left', () => {
    const m = cluster();
    const r1 = rec('app.example.com', '198.18.0.1');
    const r2 = rec('app.example.com', '198.18.0.2');
    m.nodes.get('node-2')!.candidate = true;
    m.nodes.get('node-2')!.toBeDeleted = true;
    m.touchNode(T0 + 9_000, 'node-2');
    m.addNode(T0, node('node-3', '198.18.0.3'));
    const r3 = rec('app.example.com', '198.18.0.3');
    const judged = judge(m, [commit(T0, 'create', r1), commit(T0, 'create', r2), commit(T0, 'create', r3), commit(T0 + 10_000, 'delete', r1), commit(T0 + 10_000, 'delete', r2)]);
    expect(judged.violations.map((v) => v.invariant)).toEqual(['wrongfulDeletions']);
    expect(judged.violations[0]?.message).toContain('198.18.0.1 (node node-1)');
    expect(judged.info).toMatchObject({ deletes: 2, deletionsOfIneligible: 1 });
  });

  it('excuses a deletion decided within the view lag of the node coming back, or before it came back', () => {
    const m = cluster();
    const n1 = m.nodes.get('node-1')!;
    const r1 = rec('app.example.com', '198.18.0.1');
    const judge = (m2: ClusterModel, commits: Commit[], requests: ProxiedRequest[], disturbances: Disturbance[] = []) => replayCommits({
      commits: [commit(T0, 'create', rec('app.example.com', '198.18.0.2')), ...commits], requests, model: m2, disturbances, floor: 1, foreignIds: new Set(), owners: new Set(['chaos']),
    });
    n1.ready = 'False';
    m.touchNode(T0 + 5_000, 'node-1');
    n1.ready = 'True';
    m.touchNode(T0 + 8_000, 'node-1');
    const reqs = [request({ seq: 1, at: T0 + 9_000, body: 'b', deletes: [r1.id] })];
    expect(judge(m, [commit(T0, 'create', r1), commit(T0 + 9_010, 'delete', r1)], reqs).info).toMatchObject({ deletionsOfEligibleExcused: 1 });
    const early = [request({ seq: 1, at: T0 + 7_000, body: 'b', deletes: [r1.id] })];
    expect(judge(m, [commit(T0, 'create', r1), commit(T0 + 9_010, 'delete', r1)], early).info).toMatchObject({ deletionsDecidedBeforeEligible: 1 });
    const late = [request({ seq: 1, at: T0 + 20_000, body: 'b', deletes: [r1.id] })];
    expect(judge(m, [commit(T0, 'create', r1), commit(T0 + 20_010, 'delete', r1)], late).violations).toHaveLength(1);
    const disturbed: Disturbance[] = [{ kind: 'kube-list-fail', from: T0 + 7_000, to: T0 + 30_000 }];
    expect(judge(m, [commit(T0, 'create', r1), commit(T0 + 20_010, 'delete', r1)], late, disturbed).violations).toEqual([]);
  });

  it('a batch left from an old plan (an earlier zone\'s batch hung) is judged from when the reconcile planned it', () => {
    const m = cluster();
    const n1 = m.nodes.get('node-1')!;
    n1.ready = 'False';
    m.touchNode(T0 + 1_000, 'node-1');
    n1.ready = 'True';
    m.touchNode(T0 + 12_000, 'node-1');
    const r1 = rec('app.example.com', '198.18.0.1');
    const history = [commit(T0, 'create', r1), commit(T0, 'create', rec('app.example.com', '198.18.0.2')), commit(T0 + 40_010, 'delete', r1)];
    const reqs = [request({ seq: 1, at: T0 + 40_000, body: 'b', deletes: [r1.id] })];
    const judgeWith = (planStart?: number) => replayCommits({
      commits: history, requests: reqs, model: m, disturbances: [], floor: 1, foreignIds: new Set(), owners: new Set(['chaos']),
      ...(planStart === undefined ? {} : { planStart: () => planStart }),
    });
    expect(judgeWith().violations.map((v) => v.invariant)).toEqual(['wrongfulDeletions']);
    expect(judgeWith(T0 + 10_000).violations).toEqual([]);
  });

  it('an unclaimed hostname may lose all its records; a claimed one keeps the floor', () => {
    const m = cluster();
    const a1 = rec('app.example.com', '198.18.0.1');
    const s1 = rec('svc.example.com', '198.18.0.1');
    m.setHostname(T0, 'svc.example.com', 'claimed', 1);
    m.setHostname(T0 + 5_000, 'svc.example.com', 'unclaimed', 1);
    for (const n of m.nodes.values()) n.ready = 'False';
    m.touchNode(T0 + 5_000, 'node-1');
    m.touchNode(T0 + 5_000, 'node-2');
    const judged = judge(m, [commit(T0, 'create', a1), commit(T0, 'create', s1), commit(T0 + 10_000, 'delete', a1), commit(T0 + 10_000, 'delete', s1)]);
    expect(judged.violations.map((v) => `${v.invariant} ${v.message.split(' ')[0]}`)).toEqual(['floorBreaches app.example.com']);
  });

  it('flags two identical records at once', () => {
    const m = cluster();
    const judged = judge(m, [commit(T0, 'create', rec('app.example.com', '198.18.0.1')), commit(T0, 'create', rec('app.example.com', '198.18.0.1'))]);
    expect(judged.violations.map((v) => v.invariant)).toEqual(['duplicates']);
  });
});

describe('positive evidence: doubt, narrowed types, zone moves, frozen and forbidden hostnames', () => {
  const judge = (m: ClusterModel, commits: Commit[], requests: ProxiedRequest[] = [], configs: Record<string, ReplicaConfig> = {}) => replayCommits({
    commits, requests, model: m, disturbances: [], floor: 1, foreignIds: new Set(), owners: new Set(['chaos', 'old']),
    configOf: (tag, n) => configs[`${tag}#${n}`],
  });
  const kinds = (j: ReturnType<typeof judge>) => j.violations.map((v) => v.invariant);

  it('a hostname in doubt (a Service whose annotations stopped parsing) keeps its records; withdrawn on purpose, it may lose them', () => {
    const m = cluster();
    m.setHostname(T0, 'svc.example.com', 'claimed', 1);
    m.setHostname(T0 + 5_000, 'svc.example.com', 'doubt', 1);
    const r = rec('svc.example.com', '198.18.0.1');
    expect(kinds(judge(m, [commit(T0, 'create', r), commit(T0 + 10_000, 'delete', r)]))).toEqual(['wrongfulDeletions']);
    m.setHostname(T0 + 20_000, 'svc.example.com', 'unclaimed', 1);
    const r2 = rec('svc.example.com', '198.18.0.1');
    expect(kinds(judge(m, [commit(T0, 'create', r2), commit(T0 + 30_000, 'delete', r2)]))).toEqual([]);
  });

  it('an AAAA record may go when the incarnation that sent the batch publishes only A, not otherwise', () => {
    const m = cluster();
    const a = rec('app.example.com', '198.18.0.1');
    const aaaa = rec('app.example.com', '2001:db8::1', OURS, 'AAAA');
    m.ipOwner.set('2001:db8::1', 'node-1');
    const reqs = [request({ seq: 1, at: T0 + 9_000, body: 'b', deletes: [aaaa.id] })];
    const history = [commit(T0, 'create', a), commit(T0, 'create', aaaa), commit(T0 + 9_010, 'delete', aaaa)];
    const narrowed = judge(m, history, reqs, { 'a#1': { owner: 'chaos', aliases: [], types: ['A'] } });
    expect(narrowed.violations).toEqual([]);
    expect(narrowed.info.deletionsOfUnpublishedType).toBe(1);
    // Still published: a wrongful deletion, and the last AAAA record of a claimed hostname (the floor).
    expect(kinds(judge(m, history, reqs, { 'a#1': { owner: 'chaos', aliases: [], types: ['A', 'AAAA'] } }))).toEqual(['wrongfulDeletions', 'floorBreaches']);
  });

  it('a move may remove the old zone\'s record once the new zone has it; a pending zone is no move', () => {
    const m = cluster();
    m.setHostname(T0, 'x.sub.example.com', 'claimed', 1);
    m.setZone(T0, zone(SUB, 'sub.example.com', { status: 'pending' }));
    const old = rec('x.sub.example.com', '198.18.0.1');
    const fresh = rec('x.sub.example.com', '198.18.0.1', OURS, 'A', undefined, SUB);
    const other = rec('x.sub.example.com', '198.18.0.2');
    // Pending: example.com stays its home, so neither the create in the pending zone nor the deletion is right.
    expect(kinds(judge(m, [commit(T0, 'create', old), commit(T0, 'create', other), commit(T0 + 40_000, 'create', fresh), commit(T0 + 40_001, 'delete', old)])))
      .toEqual(['wrongZoneWrites', 'wrongfulDeletions']);
    m.setZone(T0 + 50_000, zone(SUB, 'sub.example.com'));
    const fresh2 = rec('x.sub.example.com', '198.18.0.1', OURS, 'A', undefined, SUB);
    const old2 = rec('x.sub.example.com', '198.18.0.1');
    const other2 = rec('x.sub.example.com', '198.18.0.2');
    const moved = judge(m, [commit(T0, 'create', old2), commit(T0, 'create', other2), commit(T0 + 60_000, 'create', fresh2), commit(T0 + 61_000, 'delete', old2)]);
    expect(moved.violations).toEqual([]);
    expect(moved.info.deletionsAfterMove).toBe(1);
    // Active, but the new zone lacks the record: a removal that would leave the name unanswered.
    expect(kinds(judge(m, [commit(T0, 'create', old2), commit(T0, 'create', other2), commit(T0 + 61_000, 'delete', old2)]))).toEqual(['wrongfulDeletions']);
  });

  it('no write at all for a hostname whose zone is ambiguous, once that has lasted the zone lag', () => {
    const m = cluster();
    m.setZone(T0 + 1_000, zone('c0c0', 'example.com', { account: 'other' }));
    expect(homeOf('app.example.com', m.zones.values())).toBe('ambiguous');
    const r = rec('app.example.com', '198.18.0.3');
    expect(kinds(judge(m, [commit(T0 + 1_000 + ZONE_LAG_MS + 10, 'create', r)]))).toEqual(['frozenWrites']);
    // Within the zone lag the service may still plan from the zone list it read before.
    expect(kinds(judge(m, [commit(T0 + 1_000 + ZONE_LAG_MS - 10, 'create', rec('app.example.com', '198.18.0.3'))]))).toEqual([]);
  });

  it('never a record for a hostname only a Service outside the allow-lists claims', () => {
    const m = cluster();
    m.setHostname(T0, 'intruder.example.com', 'unclaimed', 1, { forbidden: true });
    expect(kinds(judge(m, [commit(T0 + 5_000, 'create', rec('intruder.example.com', '198.18.0.1'))]))).toEqual(['outsideAllowList']);
  });

  it('a write to another owner\'s record, or to a foreign one, is flagged; a former owner of ours is not another', () => {
    const m = cluster();
    const theirs = rec('app.example.com', '198.18.0.1', 'epictetus:owner=someone');
    const alias = rec('app.example.com', '198.18.0.2', 'epictetus:owner=old');
    expect(kinds(judge(m, [commit(T0, 'create', theirs), commit(T0 + 5_000, 'update', { ...theirs, comment: OURS })]))).toEqual(['foreignRecordsTouched']);
    expect(kinds(judge(m, [commit(T0, 'create', alias), commit(T0 + 5_000, 'update', { ...alias, comment: OURS })]))).toEqual([]);
  });
});

describe('readiness while the Lease is refused', () => {
  it('flags a replica that answers ready after its Lease calls were refused, not before nor after they work again', () => {
    const answers = [
      { tag: 'a', n: 1, at: T0, status: 200 },
      { tag: 'a', n: 1, at: T0 + 2_000, status: 403 },
      { tag: 'a', n: 1, at: T0 + 4_000, status: 403 },
      { tag: 'a', n: 1, at: T0 + 9_000, status: 200 },
    ];
    const judged = checkLeaseReadiness([
      { tag: 'a', n: 1, at: T0 + 1_000, status: 200 },
      { tag: 'a', n: 1, at: T0 + 2_500, status: 200 }, // within the grace
      { tag: 'a', n: 1, at: T0 + 5_500, status: 503 },
      { tag: 'a', n: 1, at: T0 + 6_000, status: 200 },
      { tag: 'a', n: 1, at: T0 + 10_000, status: 200 },
      { tag: 'b', n: 1, at: T0 + 6_000, status: 200 },
    ], answers);
    expect(judged.violations.map((v) => v.at)).toEqual([T0 + 6_000]);
    expect(judged.info.readinessSamplesWithoutLease).toBe(2);
  });
});

describe('the final state', () => {
  const final = (m: ClusterModel, records: DnsRecordView[], foreign: DnsRecordView[] = [], commits: Commit[] = [], config: Partial<ReplicaConfig> = {}) =>
    checkFinal({ records, model: m, config: { owner: 'chaos', aliases: [], types: ['A'], ...config }, floor: 1, foreign, commits, now: T0 + 60_000 });

  it('passes when the records are exactly the eligible nodes, around foreign records', () => {
    const m = cluster();
    const foreign = [rec('app.example.com', '192.0.2.10', 'hand-made'), rec('app.example.com', '198.18.0.2', 'epictetus:owner=other')];
    const judged = final(m, [rec('app.example.com', '198.18.0.1'), ...foreign], foreign);
    expect(judged.violations).toEqual([]);
    expect(judged.converged).toBe(true);
  });

  it('names missing records, lost removals, unadopted and mis-set records, and touched foreign ones', () => {
    const m = cluster();
    m.nodes.get('node-2')!.exists = false;
    m.touchNode(T0 + 1, 'node-2');
    m.addNode(T0 + 2, node('node-3', '198.18.0.3'));
    m.setHostname(T0, 'old.example.com', 'unclaimed', 1);
    const foreign = rec('app.example.com', '192.0.2.10', 'hand-made');
    const judged = final(m, [
      { ...rec('app.example.com', '198.18.0.1'), ttl: 300 },
      rec('app.example.com', '198.18.0.2'),
      rec('app.example.com', '198.18.0.3', null),
      rec('old.example.com', '198.18.0.1'),
      { ...foreign, comment: 'changed' },
    ], [foreign], [commit(T0 + 5, 'update', foreign)]);
    expect(judged.violations.map((v) => v.invariant).sort()).toEqual([
      'foreignRecordsTouched', 'foreignRecordsTouched', 'lostRemovals', 'lostRemovals', 'missingRecords', 'wrongSettings', 'wrongSettings',
    ]);
    expect(judged.converged).toBe(false);
  });

  it('lets the safety floor keep one record when no node is eligible', () => {
    const m = cluster();
    for (const n of m.nodes.values()) n.ready = 'False';
    expect(final(m, [rec('app.example.com', '198.18.0.1')])).toMatchObject({ violations: [], info: { heldByFloor: 1 } });
    expect(final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2')]).violations.map((v) => v.invariant)).toEqual(['lostRemovals']);
  });
});

describe('the final state: zones, CNAMEs, configuration', () => {
  const final = (m: ClusterModel, records: DnsRecordView[], config: Partial<ReplicaConfig> = {}, foreign: DnsRecordView[] = []) =>
    checkFinal({ records, model: m, config: { owner: 'chaos', aliases: [], types: ['A'], ...config }, floor: 1, foreign, commits: [], now: T0 + 60_000 });
  const kinds = (j: ReturnType<typeof final>) => j.violations.map((v) => v.invariant).sort();

  it('a former owner\'s records must be re-marked; AAAA records go once only A is published', () => {
    const m = cluster();
    expect(kinds(final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2', 'epictetus:owner=old')], { aliases: ['old'] }))).toEqual(['wrongSettings']);
    expect(kinds(final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2'), rec('app.example.com', '2001:db8::1', OURS, 'AAAA')]))).toEqual(['lostRemovals']);
  });

  it('no address records where a hand-made CNAME stands; the rest of the zone converges', () => {
    const m = cluster();
    m.setHostname(T0, 'svc.example.com', 'claimed', 1);
    m.setCname(T0 + 1_000, EX, 'svc.example.com', true);
    const cname = rec('svc.example.com', 'elsewhere.example.org', 'hand-made', 'CNAME');
    expect(final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2'), cname], {}, [cname]).violations).toEqual([]);
    expect(kinds(final(m, [rec('app.example.com', '198.18.0.1'), cname], {}, [cname]))).toEqual(['missingRecords']);
    // Removed 58 s before the end: the refused creates may still be set aside.
    m.setCname(T0 + 2_000, EX, 'svc.example.com', false);
    const judged = final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2')]);
    expect(judged.violations).toEqual([]);
    expect(judged.info.missingAfterRefusal).toBe(2);
  });

  it('after a move, the old zone\'s records must be gone; a frozen or read-only home is not judged', () => {
    const m = cluster();
    m.setHostname(T0, 'x.sub.example.com', 'claimed', 1);
    m.setZone(T0, zone(SUB, 'sub.example.com'));
    const inSub = [rec('x.sub.example.com', '198.18.0.1', OURS, 'A', undefined, SUB), rec('x.sub.example.com', '198.18.0.2', OURS, 'A', undefined, SUB)];
    const app = [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2')];
    expect(final(m, [...app, ...inSub]).violations).toEqual([]);
    expect(kinds(final(m, [...app, ...inSub, rec('x.sub.example.com', '198.18.0.1')]))).toEqual(['lostRemovals']);
    // No node eligible: the floor keeps one record of the hostname, wherever it is.
    for (const n of m.nodes.values()) n.ready = 'False';
    expect(final(m, [rec('app.example.com', '198.18.0.1'), rec('x.sub.example.com', '198.18.0.1')]).violations).toEqual([]);
    expect(kinds(final(m, [rec('app.example.com', '198.18.0.1'), rec('x.sub.example.com', '198.18.0.1'), rec('x.sub.example.com', '198.18.0.2')]))).toEqual(['lostRemovals']);
    for (const n of m.nodes.values()) n.ready = 'True';
    m.setZone(T0 + 1_000, zone(SUB, 'sub.example.com', { permission: 'read' }));
    expect(final(m, [...app, rec('x.sub.example.com', '198.18.0.1')]).violations).toEqual([]);
    expect(final(m, [...app, rec('x.sub.example.com', '198.18.0.1')]).info.hostnamesNotJudged).toBe(1);
  });

  it('a bad Service\'s last good claim is not judged: a replica that saw it keeps it, a new one may remove it', () => {
    const m = cluster();
    m.setHostname(T0, 'svc.example.com', 'unclaimed', 1, { lastGoodOnly: true });
    const app = [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2')];
    expect(final(m, [...app, rec('svc.example.com', '198.18.0.1')]).violations).toEqual([]);
    expect(final(m, app).violations).toEqual([]);
    m.setHostname(T0 + 1, 'svc.example.com', 'unclaimed', 1);
    expect(kinds(final(m, [...app, rec('svc.example.com', '198.18.0.1')]))).toEqual(['lostRemovals']);
  });

  it('a hostname only a Service outside the allow-lists claims has no record of ours', () => {
    const m = cluster();
    m.setHostname(T0, 'intruder.example.com', 'unclaimed', 1, { forbidden: true });
    expect(kinds(final(m, [rec('app.example.com', '198.18.0.1'), rec('app.example.com', '198.18.0.2'), rec('intruder.example.com', '198.18.0.1')]))).toEqual(['outsideAllowList']);
  });
});

describe('processes', () => {
  function inc(over: Partial<Incarnation>): Incarnation {
    return {
      tag: 'a', n: 1, pid: 1, startedAt: T0, identity: 'id', healthPort: undefined, startedUp: true, exitedAt: undefined, exitCode: undefined, exitSignal: undefined, endedBy: undefined,
      paused: false, rss: [], tail: [], counters: {}, exited: Promise.resolve(), ...over,
    };
  }

  it('flags exits we did not cause and a SIGTERM not answered by 0', () => {
    const judged = checkProcesses([
      inc({ n: 1, exitedAt: T0 + 1, exitCode: null, exitSignal: 'SIGKILL', endedBy: 'sigkill' }),
      inc({ n: 2, exitedAt: T0 + 2, exitCode: 70 }),
      inc({ n: 3, exitedAt: T0 + 3, exitCode: 1, endedBy: 'sigterm' }),
      inc({ n: 4, exitedAt: T0 + 4, exitCode: 0, endedBy: 'sigterm' }),
    ]);
    expect(judged.violations.map((v) => `${v.invariant} ${v.replica?.n}`)).toEqual(['unexpectedExits 2', 'unexpectedExits 3']);
  });

  it('flags RSS peaks that keep rising over a long life, not a flat one', () => {
    const samples = (f: (i: number) => number): Array<[number, number]> => Array.from({ length: 200 }, (_, i) => [T0 + i * 2_000, f(i)]);
    expect(checkProcesses([inc({ rss: samples(() => 90_000) })]).violations).toEqual([]);
    expect(checkProcesses([inc({ rss: samples((i) => 90_000 + i * 1_000) })]).violations.map((v) => v.invariant)).toEqual(['memory']);
    expect(checkProcesses([inc({ rss: [[T0, 500 * 1024]] })]).violations.map((v) => v.invariant)).toEqual(['memory']);
  });
});

describe('busy loops (7)', () => {
  const batch = (at: number, status: number, tag = 'a', incarnation = 1) =>
    request({ seq: at, at, tag, incarnation, method: 'POST', path: `/client/v4/zones/${EX}/dns_records/batch`, status });
  it('a zone refusing every batch retried on a growing back-off passes; retried every second it does not', () => {
    const growing: ProxiedRequest[] = [];
    for (let k = 0, t = T0; k < 12; k++, t += 1_000 * 2 ** k) growing.push(batch(t, 403));
    expect(checkBusyLoops(growing, new Map()).violations).toEqual([]);
    const steady = Array.from({ length: 60 }, (_, k) => batch(T0 + k * 1_000, 403));
    const v = checkBusyLoops(steady, new Map()).violations;
    expect(v.map((x) => x.invariant)).toEqual(['busyLoops']);
    expect(v[0]!.message).toMatch(/batches answered 403 within 120 s/);
  });

  it('flags a storm of calls and a flood of log lines, each per incarnation', () => {
    const calm = Array.from({ length: 300 }, (_, k) => batch(T0 + k * 200, 200, k % 2 ? 'a' : 'b'));
    expect(checkBusyLoops(calm, new Map()).violations).toEqual([]);
    const storm = Array.from({ length: 150 }, (_, k) => batch(T0 + k * 50, 200));
    expect(checkBusyLoops(storm, new Map()).violations.map((x) => x.message)).toEqual([expect.stringMatching(/replica a#1 made \d+ Cloudflare calls within 10 s/)]);
    const flood = new Map([['b#3', Array.from({ length: 5_000 }, (_, k) => [T0 + k, k % 5 ? 'reconciled: no changes' : 'listed'] as const)]]);
    expect(checkBusyLoops([], flood).violations.map((x) => x.message))
      .toEqual(['replica b#3 printed 5000 log lines within 10 s (4000× "reconciled: no changes", 1000× "listed")']);
  });
});
