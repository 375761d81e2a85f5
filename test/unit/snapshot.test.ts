import { describe, expect, it } from 'vitest';
import { BASE_LABELS, sameSnapshot, toSnapshot } from '../../src/kube/snapshot.js';
import { makeNode } from '../../src/sim/kube/index.js';

const opts = { labels: new Set([...BASE_LABELS, 'pool']), externalIpKey: 'example.com/public-ip' };

describe('node snapshots', () => {
  it('keep only what a rule reads, from a realistic 16 KB node', () => {
    const n = makeNode('big', { externalIP: '203.0.113.5', externalIPv6: '2001:DB8::5', realistic: true, labels: { pool: 'edge' },
      taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] });
    expect(JSON.stringify(n).length).toBeGreaterThan(15_000);
    const s = toSnapshot(n, opts);
    expect(s).toMatchObject({ name: 'big', ipv4: ['203.0.113.5'], ipv6: ['2001:db8::5'], ready: 'True', labels: { pool: 'edge' },
      taints: { ToBeDeletedByClusterAutoscaler: '1700000000' } });
    expect(JSON.stringify(s).length).toBeLessThan(400);
  });

  it.each([
    ['flannel annotation', { annotations: { 'flannel.alpha.coreos.com/public-ip': '198.51.100.9' } }, ['198.51.100.9'], undefined],
    ['the configured label', { labels: { 'example.com/public-ip': '198.51.100.10' } }, ['198.51.100.10'], undefined],
    ['the configured annotation', { annotations: { 'example.com/public-ip': '198.51.100.11' } }, ['198.51.100.11'], undefined],
    ['a private address, rejected', { annotations: { 'flannel.alpha.coreos.com/public-ip': '10.1.2.3' } }, [], 'non-public range 10.0.0.0/8'],
    ['a CGNAT address, rejected', { labels: { 'example.com/public-ip': '100.64.1.1' } }, [], 'non-public range 100.64.0.0/10'],
    ['garbage, rejected', { annotations: { 'flannel.alpha.coreos.com/public-ip': 'not-an-ip' } }, [], 'is not an IP address'],
  ])('fall back to %s when there is no ExternalIP', (_w, meta, ipv4, problem) => {
    const n = makeNode('n', { internalIP: '10.0.0.1', ...meta }) as { status: { addresses: Array<{ type: string }> } };
    n.status.addresses = n.status.addresses.filter((a) => a.type !== 'ExternalIP');
    const s = toSnapshot(n, opts);
    expect(s?.ipv4).toEqual(ipv4);
    if (problem) expect(s?.addressProblem).toContain(problem);
    else expect(s?.addressProblem).toBeUndefined();
  });

  it('see heartbeats as no change, and taints, readiness and labels that matter as changes', () => {
    const base = makeNode('n', { externalIP: '203.0.113.5' }) as Record<string, unknown>;
    const a = toSnapshot(base, opts)!;
    const heartbeat = structuredClone(base) as { status: { conditions: Array<{ lastHeartbeatTime: string }> }; metadata: { labels: Record<string, string>; resourceVersion?: string } };
    for (const c of heartbeat.status.conditions) c.lastHeartbeatTime = '2030-01-01T00:00:00Z';
    heartbeat.metadata.labels['irrelevant'] = 'x';
    expect(sameSnapshot(a, toSnapshot(heartbeat, opts)!)).toBe(true);
    const labelled = structuredClone(heartbeat);
    labelled.metadata.labels['pool'] = 'edge';
    expect(sameSnapshot(a, toSnapshot(labelled, opts)!)).toBe(false);
  });

  it('ignore objects without a name', () => {
    expect(toSnapshot({ kind: 'Node', metadata: {} }, opts)).toBeUndefined();
    expect(toSnapshot(null, opts)).toBeUndefined();
  });
});

describe('snapshot memory', () => {
  it('shares one frozen empty object or array among snapshots with no taints, labels of interest or IPv6 address', () => {
    const opts = { labels: new Set(['node-role.kubernetes.io/control-plane']) };
    const node = (name: string) => ({ metadata: { name, labels: { other: 'x' } }, spec: {}, status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.7' }] } });
    const a = toSnapshot(node('a'), opts)!;
    const b = toSnapshot(node('b'), opts)!;
    expect(a.taints).toBe(b.taints);
    expect(a.labels).toBe(b.labels);
    expect(a.ipv6).toBe(b.ipv6);
    expect(Object.isFrozen(a.taints) && Object.isFrozen(a.labels) && Object.isFrozen(a.ipv6)).toBe(true);
    expect(a.ipv4).toEqual(['203.0.113.7']);
    expect(a.ipv4).not.toBe(b.ipv4);
  });
});

describe('readiness in snapshots', () => {
  const withReady = (status: string, at: string) => {
    const n = makeNode('n', { externalIP: '203.0.113.5' }) as { status: { conditions: Array<{ type: string; status: string; lastTransitionTime: string }> } };
    for (const c of n.status.conditions) if (c.type === 'Ready') Object.assign(c, { status, lastTransitionTime: at });
    return toSnapshot(n, opts)!;
  };

  it('keep when a node stopped being Ready (its grace period is timed from it), not when a Ready node last changed', () => {
    expect(withReady('False', '2026-12-01T10:00:00Z').readySince).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(withReady('Unknown', '2026-12-01T10:00:05Z').readySince).toBe(Date.parse('2026-12-01T10:00:05Z'));
    expect(withReady('True', '2026-12-01T10:00:00Z').readySince).toBeUndefined();
    expect(sameSnapshot(withReady('True', '2026-12-01T10:00:00Z'), withReady('True', '2026-12-01T11:00:00Z'))).toBe(true);
    expect(sameSnapshot(withReady('False', '2026-12-01T10:00:00Z'), withReady('False', '2026-12-01T11:00:00Z'))).toBe(false);
  });
});
