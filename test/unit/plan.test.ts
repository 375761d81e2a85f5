import { describe, expect, it } from 'vitest';
import { desiredState } from '../../src/reconcile/desired.js';
import { plan, type PlanInput } from '../../src/reconcile/plan.js';
import type { DnsRecord, HostnameSpec, NodeSnapshot } from '../../src/model/types.js';
import { host, node, rec } from '../helpers/snapshots.js';

const CA1 = 'DeletionCandidateOfClusterAutoscaler';
const CA2 = 'ToBeDeletedByClusterAutoscaler';
const OURS = 'epictetus:owner=default';

function run(nodes: NodeSnapshot[], current: DnsRecord[], opts: Partial<PlanInput> & { hosts?: HostnameSpec[] } = {}) {
  const desired = desiredState(nodes, opts.hosts ?? [host('app.example.com')], ['A']);
  return plan({ desired, current, owner: 'default', minRecordsPerHostname: 1, commentMaxLength: 100, ...opts });
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
      what: 'an unmarked record of a retiring node is adopted and removed',
      nodes: [n1, node('n2', { ipv4: ['2.2.2.2'], taints: [CA1, CA2] })],
      current: [rec('app.example.com', '1.1.1.1', OURS), rec('app.example.com', '2.2.2.2', null)],
      want: { deletes: ['2.2.2.2 n2 both-ca-taints'] },
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
