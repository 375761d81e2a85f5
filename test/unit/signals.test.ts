/** Endpoints, probes and deletion as signals: the verdicts they give each hostname, and the guards over them. */
import { describe, expect, it } from 'vitest';
import type { EndpointState, HostnameSpec, NodeSnapshot, ProbeVerdict } from '../../src/model/types.js';
import { desiredState } from '../../src/reconcile/desired.js';
import { DEFAULT_POLICY } from '../../src/reconcile/policy.js';
import { parseSelector } from '../../src/reconcile/selector.js';
import { endpointState, endpointStates } from '../../src/reconcile/endpoints.js';
import { KUBE_PROXY_PROBE, parseProbe, probeKey } from '../../src/reconcile/probe-spec.js';
import { planOne } from '../helpers/plan.js';
import { host, node, rec } from '../helpers/snapshots.js';

const OURS = 'epictetus:owner=default';
const TCP = { kind: 'tcp', port: 443, path: '', text: 'tcp:443' } as const;
const nodes = [1, 2, 3, 4].map((i) => node(`n${i}`, { ipv4: [`1.0.0.${i}`] }));
const current = nodes.map((n) => rec('app.example.com', n.ipv4[0]!, OURS));
const verdict = (state: ProbeVerdict['state'], failures = 0): ProbeVerdict => ({ state, consecutiveFailures: failures, consecutiveSuccesses: 0 });

function run(spec: HostnameSpec, extra: { endpoints?: Record<string, EndpointState>; probes?: Record<string, ProbeVerdict['state']>; nodes?: NodeSnapshot[] } = {}, maxUnhealthyFraction = 1) {
  const probes = new Map(Object.entries(extra.probes ?? {}).map(([n, st]) => [probeKey(n, TCP), verdict(st)]));
  const endpoints = new Map([['web/ingress', new Map(Object.entries(extra.endpoints ?? {}))]]);
  const desired = desiredState({ nodes: extra.nodes ?? nodes, hostnames: [spec], endpoints, probes }, ['A']);
  return planOne({ desired, current, owner: 'default', minRecordsPerHostname: 1, commentMaxLength: 100, maxUnhealthyFraction });
}
const removed = (p: ReturnType<typeof run>) => p.deletes.map((d) => `${d.node} ${d.reason}`);

describe('serving from a Service\'s endpoints', () => {
  const spec = host('app.example.com', { serveFrom: 'web/ingress' });
  it.each<[string, Record<string, EndpointState>, string[]]>([
    ['every node hosts a ready endpoint', { n1: 'ready', n2: 'ready', n3: 'ready', n4: 'ready' }, []],
    ['a node whose ingress pod starts shutting down leaves at once', { n1: 'ready', n2: 'ready', n3: 'ready', n4: 'terminating' }, ['n4 endpoint-terminating']],
    ['a node with a not-ready endpoint, or none, does not serve', { n1: 'ready', n2: 'ready', n3: 'not-ready' }, ['n3 no-ready-endpoint', 'n4 no-ready-endpoint']],
  ])('%s', (_what, endpoints, want) => {
    expect(removed(run(spec, { endpoints }))).toEqual(want);
  });

  it('lost endpoints are health reasons: when most nodes lose theirs at once, the guard holds them', () => {
    const p = run(spec, { endpoints: { n1: 'ready' } }, 0.5);
    expect(p.deletes).toEqual([]);
    expect(p.held.map((h) => `${h.node} ${h.reason} ${h.wouldBe}`)).toEqual([
      'n2 mass-removal-guard no-ready-endpoint', 'n3 mass-removal-guard no-ready-endpoint', 'n4 mass-removal-guard no-ready-endpoint',
    ]);
  });

  it('the floor keeps a record when no node has a ready endpoint', () => {
    const p = run(spec, { endpoints: {} });
    expect(p.deletes).toHaveLength(3);
    expect(p.held).toHaveLength(1);
  });

  it('a slice\'s endpoint conditions: terminating wins, an unset ready means ready', () => {
    expect(endpointState({ ready: true, serving: true, terminating: false })).toBe('ready');
    expect(endpointState({ ready: null })).toBe('ready');
    expect(endpointState({ ready: false, serving: true, terminating: true })).toBe('terminating');
    expect(endpointState({ ready: false })).toBe('not-ready');
    const states = endpointStates([
      { service: 'web/ingress', nodes: { n1: 'terminating', n2: 'not-ready' } },
      { service: 'web/ingress', nodes: { n1: 'ready', n2: 'terminating' } },
    ]);
    expect(Object.fromEntries(states.get('web/ingress') ?? [])).toEqual({ n1: 'ready', n2: 'terminating' });
  });
});

describe('health probes', () => {
  const spec = host('app.example.com', { probe: TCP });
  it.each<[string, Record<string, ProbeVerdict['state']>, string[]]>([
    ['every probe passes', { n1: 'healthy', n2: 'healthy', n3: 'healthy', n4: 'healthy' }, []],
    ['a failing probe takes its node out', { n1: 'healthy', n2: 'healthy', n3: 'healthy', n4: 'failing' }, ['n4 probe-failed']],
    ['a node not probed yet does not serve', { n1: 'healthy', n2: 'healthy', n3: 'healthy' }, ['n4 probe-pending']],
  ])('%s', (_what, probes, want) => {
    expect(removed(run(spec, { probes }))).toEqual(want);
  });

  it('a probe outage of most nodes is held by the mass-removal guard (the prober\'s network is the likelier fault)', () => {
    const p = run(spec, { probes: { n1: 'healthy', n2: 'failing', n3: 'failing', n4: 'failing' } }, 0.5);
    expect(p.deletes).toEqual([]);
    expect(p.held.map((h) => h.reason)).toEqual(['mass-removal-guard', 'mass-removal-guard', 'mass-removal-guard']);
  });

  it.each([
    ['tcp:8443', { kind: 'tcp', port: 8443, path: '', text: 'tcp:8443' }],
    ['http://:8080/healthz', { kind: 'http', port: 8080, path: '/healthz', text: 'http://:8080/healthz' }],
    ['HTTPS://:443', { kind: 'https', port: 443, path: '/', text: 'https://:443/' }],
    ['kube-proxy', KUBE_PROXY_PROBE],
    ['none', null],
    ['', null],
  ])('%s parses', (text, want) => {
    expect(parseProbe(text)).toEqual(want);
  });

  it.each(['tcp:0', 'tcp:70000', 'http://host:80/', 'udp:53', 'http://:80 /x'])('%s is refused with what it accepts', (text) => {
    expect(parseProbe(text)).toMatchObject({ error: expect.stringMatching(/port must be 1–65535|is not a probe; accepts tcp:<port>/) });
  });
});

describe('a node being deleted', () => {
  it('leaves DNS at once, and it is a decision, not a health reason (no guard holds it)', () => {
    const deleting = nodes.map((n) => (n.name === 'n1' ? n : { ...n, deleting: true }));
    const p = run(host('app.example.com'), { nodes: deleting }, 0.5);
    expect(removed(p)).toEqual(['n2 being-deleted', 'n3 being-deleted', 'n4 being-deleted']);
  });
});

describe('the desired state, computed again for every event', () => {
  it('keeps a verdict only while it cannot change by itself: a grace period running is looked at again', () => {
    const t = 1_000_000;
    const n = node('n1', { ipv4: ['1.0.0.1'], ready: 'False', readySince: t });
    const spec = host('app.example.com');
    const at = (now: number, policy = DEFAULT_POLICY) => desiredState({ nodes: [n], hostnames: [spec] }, ['A'], policy, now).verdicts[0];
    expect(at(t + 1_000)).toMatchObject({ eligible: true, recheckAt: t + DEFAULT_POLICY.notReadyGraceMs });
    expect(at(t + DEFAULT_POLICY.notReadyGraceMs)).toMatchObject({ eligible: false, reasons: ['not-ready'] });
    // The same snapshot under another policy is judged by that policy.
    expect(at(t + DEFAULT_POLICY.notReadyGraceMs, { ...DEFAULT_POLICY, removeOnNotReady: false })).toMatchObject({ eligible: true });
  });

  it('hostnames that take every node share their addresses; a filtered one has its own', () => {
    const ns = [node('b', { ipv4: ['1.0.0.2'], labels: { pool: 'web' } }), node('a', { ipv4: ['1.0.0.1'] })];
    const d = desiredState({ nodes: ns, hostnames: [host('x.example.com'), host('w.example.com', { nodeSelector: parseSelector('pool=web') }), host('y.example.com')] }, ['A']);
    const ips = (h: string) => [...(d.targets.get(h)?.get('A')?.keys() ?? [])];
    expect([ips('x.example.com'), ips('w.example.com'), ips('y.example.com')]).toEqual([['1.0.0.1', '1.0.0.2'], ['1.0.0.2'], ['1.0.0.1', '1.0.0.2']]);
    expect(d.verdicts.map((v) => v.name)).toEqual(['a', 'b']); // sorted, though listed out of order
  });
});
