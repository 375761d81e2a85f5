import { describe, expect, it } from 'vitest';
import { desiredState } from '../../src/reconcile/desired.js';
import type { PlanInput } from '../../src/reconcile/plan.js';
import { planOne } from '../helpers/plan.js';
import type { DnsRecord, HostnameSpec, NodeSnapshot } from '../../src/model/types.js';
import { parseSelector } from '../../src/reconcile/selector.js';
import { host, node, rec } from '../helpers/snapshots.js';

const CA1 = 'DeletionCandidateOfClusterAutoscaler';
const CA2 = 'ToBeDeletedByClusterAutoscaler';
const OURS = 'epictetus:owner=default';

function run(nodes: NodeSnapshot[], current: DnsRecord[], opts: Partial<PlanInput> & { hosts?: HostnameSpec[] } = {}) {
  const desired = desiredState({ nodes, hostnames: opts.hosts ?? [host('app.example.com')] }, ['A']);
  return planOne({ desired, current, owner: 'default', minRecordsPerHostname: 1, commentMaxLength: 100, ...opts });
}

const summary = (p: ReturnType<typeof run>) => ({
  creates: p.creates.map((c) => `${c.name} ${c.content} ${c.node} ${c.reason}`),
  updates: p.updates.map((u) => `${u.record.content} ${u.reason} ${u.comment}`),
  deletes: p.deletes.map((d) => `${d.record.content} ${d.node} ${d.reason}`),
  held: p.held.map((h) => `${h.record.content} ${h.wouldBe}`),
  foreign: p.foreign.map((f) => `${f.content} ${f.reason}`),
});

describe('plan: which records each hostname gets', () => {
  const n1 = node('n1', { ipv4: ['1.1.1.1'] });
  const n2 = node('n2', { ipv4: ['2.2.2.2'] });

  it.each([['z', 'a'], ['a', 'z']])('of two marked duplicates listed as %s, %s, the lowest id survives, whatever the listing order', (first, second) => {
    const p = run([n1], [rec('app.example.com', '1.1.1.1', OURS, { id: first }), rec('app.example.com', '1.1.1.1', OURS, { id: second })]);
    expect(p.deletes.map((d) => `${d.record.id} ${d.reason}`)).toEqual(['z duplicate']);
    expect(p.creates).toEqual([]);
  });

  it.each([
    {
      what: 'an empty zone gets one record per eligible node',
      nodes: [n1, n2], current: [],
      want: { creates: ['app.example.com 1.1.1.1 n1 node-eligible', 'app.example.com 2.2.2.2 n2 node-eligible'] },
    },
    {
      what: 'one autoscaler taint alone changes nothing',
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA1] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      want: {},
    },
    {
      what: 'the other taint alone changes nothing either',
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      want: {},
    },
    {
      what: 'both autoscaler taints remove the node',
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      want: { deletes: ['2.2.2.2 n2 both-ca-taints'] },
    },
    {
      what: 'a deleted node loses its records, named when it was known',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      formerNodes: new Map([['2.2.2.2', 'n2']]),
      want: { deletes: ['2.2.2.2 n2 node-deleted'] },
    },
    {
      what: 'a node without an external IP gets nothing and is not guessed at',
      nodes: [n1, node('n3')],
      current: [rec('app.example.com', '1.1.1.1', OURS)],
      want: {},
    },
    {
      what: 'two nodes sharing an IP give one record',
      nodes: [n1, node('n1b', { ipv4: ['1.1.1.1'] })],
      current: [],
      want: { creates: ['app.example.com 1.1.1.1 n1 node-eligible'] },
    },
    {
      what: 'a record made by hand for a server outside the cluster is left alone and reported',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '9.9.9.9', 'office server')],
      want: { foreign: ['9.9.9.9 not-a-cluster-ip'] },
    },
    {
      what: "another owner's record is never touched, even when it points at our node's IP",
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [
        rec('app.example.com', '1.1.1.1', OURS),
        rec('app.example.com', '2.2.2.2', 'epictetus:owner=other-cluster'),
        rec('app.example.com', '3.3.3.3', 'epictetus:owner=other-cluster'),
      ],
      want: { foreign: ['2.2.2.2 other-owner', '3.3.3.3 other-owner'] },
    },
    {
      what: 'an unmarked record pointing at a node is adopted, keeping the human comment',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', 'added by Ana')],
      want: { updates: [`1.1.1.1 adopt ${OURS} added by Ana`] },
    },
    {
      what: 'an unmarked record of a retiring node is not adopted to be deleted: it is left alone',
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', 'do not remove', { proxied: true })],
      want: { foreign: ['2.2.2.2 not-wanted'] },
    },
    {
      what: 'the floor keeps the last record when every node is retiring, and says so',
      nodes: [node('n1', { ipv4: ['1.1.1.1'], taints: [CA1, CA2] }), node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      want: { deletes: ['2.2.2.2 n2 both-ca-taints'], held: ['1.1.1.1 both-ca-taints'] },
    },
    {
      what: 'the floor prefers to hold a node that still exists over a deleted one',
      nodes: [node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', OURS)],
      want: { deletes: ['1.1.1.1 null node-deleted'], held: ['2.2.2.2 both-ca-taints'] },
    },
    {
      what: 'a replacement created in the same plan lets the last old record go',
      nodes: [node('n1', { ipv4: ['1.1.1.1'], taints: [CA1, CA2] }), n2],
      current: [rec('app.example.com', '1.1.1.1', OURS)],
      want: { creates: ['app.example.com 2.2.2.2 n2 node-eligible'], deletes: ['1.1.1.1 n1 both-ca-taints'] },
    },
    {
      what: 'duplicate records of one IP are reduced to one, keeping the marked one',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', null, { id: 'a' }), rec('app.example.com', '1.1.1.1', OURS, { id: 'b' })],
      want: { deletes: ['1.1.1.1 n1 duplicate'] },
    },
    {
      what: 'mixed-case record names are matched to the hostname',
      nodes: [n1],
      current: [rec('App.Example.COM', '1.1.1.1', OURS)],
      want: {},
    },
    {
      what: 'our records on a hostname nobody claims any more are removed; the floor does not apply',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('old.example.com', '1.1.1.1', OURS), rec('old.example.com', '7.7.7.7', null)],
      want: { deletes: ['1.1.1.1 null hostname-unclaimed'] },
    },
    {
      what: 'a node IP already published by a foreign record is not created again',
      nodes: [n1],
      current: [rec('app.example.com', '1.1.1.1', 'epictetus:owner=other')],
      want: { foreign: ['1.1.1.1 other-owner'] },
    },
    {
      what: 'ttl and proxied changes update the record in place',
      nodes: [n1], hosts: [host('app.example.com', { ttl: 300 })],
      current: [rec('app.example.com', '1.1.1.1', OURS, { ttl: 1 })],
      want: { updates: [`1.1.1.1 settings-changed ${OURS}`] },
    },
  ])('$what', ({ nodes, current, want, ...opts }) => {
    const got = summary(run(nodes, current, opts));
    expect(got).toEqual({ creates: [], updates: [], deletes: [], held: [], foreign: [], ...want });
  });

  it('never plans a change to a record it does not own, whatever the cluster does', () => {
    const foreign = [rec('app.example.com', '9.9.9.9', null), rec('app.example.com', '2.2.2.2', 'epictetus:owner=x')];
    for (const nodes of [[], [n1], [node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })]]) {
      const p = run(nodes, foreign);
      const touched = [...p.updates.map((u) => u.record.id), ...p.deletes.map((d) => d.record.id)];
      expect(touched).toEqual([]);
    }
  });

  it('honours a higher floor', () => {
    const nodes = [1, 2, 3].map((i) => node(`n${i}`, { ipv4: [`${i}.${i}.${i}.${i}`], taints: [CA1, CA2] }));
    const current = nodes.map((n) => rec('app.example.com', n.ipv4[0] ?? '', OURS));
    const p = run(nodes, current, { minRecordsPerHostname: 2 });
    expect(p.deletes).toHaveLength(1);
    expect(p.held).toHaveLength(2);
    expect(p.managedAfter.get('app.example.com')).toBe(2);
  });
});

describe('plan: guards, filters and record types', () => {
  const OWN = 'epictetus:owner=default';
  const notReady = (name: string, ip: string) => node(name, { ipv4: [ip], ready: 'False', readySince: 0 });
  const plan4 = (nodes: NodeSnapshot[], fraction: number) => {
    const current = ['1.0.0.1', '1.0.0.2', '1.0.0.3', '1.0.0.4'].map((ip) => rec('app.example.com', ip, OWN));
    return run(nodes, current, { maxUnhealthyFraction: fraction });
  };

  it('holds back health removals of most records at once (a network problem, not four sick nodes)', () => {
    const nodes = [notReady('n1', '1.0.0.1'), notReady('n2', '1.0.0.2'), notReady('n3', '1.0.0.3'), node('n4', { ipv4: ['1.0.0.4'] })];
    const p = plan4(nodes, 0.5);
    expect(p.deletes).toEqual([]);
    expect(p.held.map((h) => `${h.record.content} ${h.reason} ${h.wouldBe}`)).toEqual([
      '1.0.0.1 mass-removal-guard not-ready', '1.0.0.2 mass-removal-guard not-ready', '1.0.0.3 mass-removal-guard not-ready',
    ]);
  });

  it('lets up to the fraction go, and never guards decisions to retire nodes', () => {
    const two = [notReady('n1', '1.0.0.1'), notReady('n2', '1.0.0.2'), node('n3', { ipv4: ['1.0.0.3'] }), node('n4', { ipv4: ['1.0.0.4'] })];
    expect(plan4(two, 0.5).deletes).toHaveLength(2);
    const retired = [1, 2, 3].map((i) => node(`n${i}`, { ipv4: [`1.0.0.${i}`], taints: [CA1, CA2] })).concat(node('n4', { ipv4: ['1.0.0.4'] }));
    expect(plan4(retired, 0.5).deletes).toHaveLength(3);
    expect(plan4(nodes3NotReady(), 1).deletes).toHaveLength(3);
  });

  function nodes3NotReady() {
    return [notReady('n1', '1.0.0.1'), notReady('n2', '1.0.0.2'), notReady('n3', '1.0.0.3'), node('n4', { ipv4: ['1.0.0.4'] })];
  }

  it('gives each hostname only the nodes its filter chooses', () => {
    const nodes = [
      node('cp', { ipv4: ['1.1.1.1'], labels: { 'node-role.kubernetes.io/control-plane': '' } }),
      node('edge', { ipv4: ['2.2.2.2'], labels: { pool: 'edge' } }),
    ];
    const hosts = [
      host('admin.example.com', { controlPlaneOnly: true }),
      host('web.example.com', { nodeSelector: parseSelector('pool=edge') }),
      host('all.example.com'),
    ];
    const current = [rec('admin.example.com', '2.2.2.2', OWN)];
    const p = run(nodes, current, { hosts });
    expect(p.creates.map((c) => `${c.name} ${c.content}`)).toEqual([
      'admin.example.com 1.1.1.1', 'web.example.com 2.2.2.2', 'all.example.com 1.1.1.1', 'all.example.com 2.2.2.2',
    ]);
    expect(p.deletes.map((d) => `${d.record.name} ${d.record.content} ${d.reason}`)).toEqual(['admin.example.com 2.2.2.2 not-selected']);
  });

  it('publishes AAAA records for IPv6 addresses, in canonical form', () => {
    const desired = desiredState({ nodes: [node('n1', { ipv4: ['1.1.1.1'], ipv6: ['2001:db8::1'] })], hostnames: [host('app.example.com')] }, ['A', 'AAAA']);
    const p = planOne({ desired, current: [rec('app.example.com', '2001:0DB8:0:0::1', OWN)], owner: 'default', minRecordsPerHostname: 1, commentMaxLength: 100 });
    expect(p.creates.map((c) => `${c.type} ${c.content}`)).toEqual(['A 1.1.1.1']);
    expect(p.deletes).toEqual([]);
  });
});

describe('mass-removal guard over time', () => {
  it('counts health removals already made in its window, so nodes failing seconds apart are judged together', () => {
    const OWN = 'epictetus:owner=default';
    // 4 records; one node was already removed for health a moment ago (3 remain), now 2 more fail.
    const nodes = [
      node('n2', { ipv4: ['1.0.0.2'], ready: 'False', readySince: 0 }),
      node('n3', { ipv4: ['1.0.0.3'], ready: 'False', readySince: 0 }),
      node('n4', { ipv4: ['1.0.0.4'] }),
    ];
    const current = ['1.0.0.2', '1.0.0.3', '1.0.0.4'].map((ip) => rec('app.example.com', ip, OWN));
    const alone = run(nodes, current, { maxUnhealthyFraction: 0.7 });
    expect(alone.deletes).toHaveLength(2); // 2 of 3 seen alone: 0.67, allowed
    const together = run(nodes, current, { maxUnhealthyFraction: 0.7, recentHealthRemovals: new Map([['app.example.com A', 1]]) });
    expect(together.deletes).toEqual([]); // 3 of 4 in the window: 0.75, held
    expect(together.held.map((h) => h.reason)).toEqual(['mass-removal-guard', 'mass-removal-guard']);
  });
});
