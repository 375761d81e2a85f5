import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, evaluateNode, servesHostname, type NodePolicy } from '../../src/reconcile/policy.js';
import { parseSelector } from '../../src/reconcile/selector.js';
import { node } from '../helpers/snapshots.js';

const NOW = 1_000_000_000;
const CA1 = 'DeletionCandidateOfClusterAutoscaler';
const CA2 = 'ToBeDeletedByClusterAutoscaler';
const ip = { ipv4: ['203.0.113.1'] };

describe('node policy', () => {
  it.each<[string, Parameters<typeof node>[1], Partial<NodePolicy>, string[]]>([
    ['a healthy node serves', ip, {}, []],
    ['one autoscaler taint changes nothing', { ...ip, taints: [CA1] }, {}, []],
    ['the other one alone changes nothing either', { ...ip, taints: [CA2] }, {}, []],
    ['both autoscaler taints remove it', { ...ip, taints: [CA1, CA2] }, {}, ['both-ca-taints']],
    ['in "any" mode, the hard taint alone removes it', { ...ip, taints: [CA2] }, { caTaintMode: 'any' }, ['ca-taint']],
    ['Karpenter v1 disrupted taint removes it', { ...ip, taints: ['karpenter.sh/disrupted'] }, {}, ['karpenter-disrupted']],
    ['older Karpenter disruption=disrupting removes it', { ...ip, taints: { 'karpenter.sh/disruption': 'disrupting' } }, {}, ['karpenter-disrupted']],
    ['another karpenter.sh/disruption value does not', { ...ip, taints: { 'karpenter.sh/disruption': 'candidate' } }, {}, []],
    ['Karpenter taints are ignored when not Karpenter-aware', { ...ip, taints: ['karpenter.sh/disrupted'] }, { karpenterAware: false }, []],
    ['NotReady past the grace removes it', { ...ip, ready: 'False', readySince: NOW - 31_000 }, {}, ['not-ready']],
    ['NotReady within the grace does not (yet)', { ...ip, ready: 'False', readySince: NOW - 29_000 }, {}, []],
    ['NotReady is ignored when REMOVE_ON_NOT_READY=false', { ...ip, ready: 'False', readySince: 0 }, { removeOnNotReady: false }, []],
    ['Unknown readiness past the grace removes it', { ...ip, ready: 'Unknown', readySince: NOW - 60_000 }, {}, ['unreachable']],
    ['Unknown readiness is ignored when REMOVE_ON_UNREACHABLE=false', { ...ip, ready: 'Unknown', readySince: 0 }, { removeOnUnreachable: false }, []],
    ['readiness without a transition time counts as long ago', { ...ip, ready: 'False' }, {}, ['not-ready']],
    ['a critical taint removes it', { ...ip, taints: ['node.kubernetes.io/out-of-service'] }, {}, ['tainted:node.kubernetes.io/out-of-service']],
    ['cordon is not critical', { ...ip, taints: ['node.kubernetes.io/unschedulable'] }, {}, []],
    ['cordon counts with the "all" set', { ...ip, taints: ['node.kubernetes.io/unschedulable'] },
      { unhealthyTaints: ['node.kubernetes.io/unschedulable'] }, ['tainted:node.kubernetes.io/unschedulable']],
    ['no taint set: critical taints are ignored', { ...ip, taints: ['node.kubernetes.io/not-ready'] }, { unhealthyTaints: [] }, []],
    ['a node outside NODE_SELECTOR never serves', { ...ip, labels: { pool: 'core' } }, { nodeSelector: parseSelector('pool=edge') }, ['not-selected']],
    ['a node inside NODE_SELECTOR serves', { ...ip, labels: { pool: 'edge' } }, { nodeSelector: parseSelector('pool=edge') }, []],
    ['the exclude-from-external-load-balancers label removes it', { ...ip, labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, {}, ['excluded-from-lb']],
    ['... unless that label is not honoured', { ...ip, labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, { honorExcludeLabel: false }, []],
    ['a node without any external IP is reported', {}, {}, ['no-external-ip']],
    ['an IPv6-only node serves', { ipv6: ['2001:db8::1'] }, {}, []],
    ['every reason is listed', { taints: [CA1, CA2, 'karpenter.sh/disrupted'] }, {}, ['both-ca-taints', 'karpenter-disrupted', 'no-external-ip']],
  ])('%s', (_what, n, policy, reasons) => {
    const v = evaluateNode(node('n', n), { ...DEFAULT_POLICY, ...policy }, NOW);
    expect(v.reasons).toEqual(reasons);
    expect(v.eligible).toBe(reasons.length === 0);
  });

  it('says why a fallback address was not used', () => {
    const v = evaluateNode(node('n', { addressProblem: 'flannel.alpha.coreos.com/public-ip: 10.1.2.3 is in the non-public range 10.0.0.0/8' }), DEFAULT_POLICY, NOW);
    expect(v).toMatchObject({ reasons: ['no-external-ip'], detail: expect.stringContaining('10.0.0.0/8') });
  });

  it('gives every eligible node a three-field verdict sharing one frozen empty reasons list (thousands of nodes keep theirs)', () => {
    const a = evaluateNode(node('a', ip), DEFAULT_POLICY, NOW);
    const b = evaluateNode(node('b', ip), DEFAULT_POLICY, NOW);
    expect(a).toEqual({ name: 'a', eligible: true, reasons: [] });
    expect(Object.keys(a)).toEqual(['name', 'eligible', 'reasons']);
    expect(a.reasons).toBe(b.reasons);
    expect(Object.isFrozen(a.reasons)).toBe(true);
    expect(evaluateNode(node('c', { ...ip, ready: 'False', readySince: NOW - 10_000 }), DEFAULT_POLICY, NOW).reasons).toBe(a.reasons);
  });

  it('says when a grace period ends, so the controller can look again then', () => {
    const v = evaluateNode(node('n', { ...ip, ready: 'False', readySince: NOW - 10_000 }), DEFAULT_POLICY, NOW);
    expect(v.recheckAt).toBe(NOW + 20_000);
  });

  it.each([
    [{}, false, null, true],
    [{ 'node-role.kubernetes.io/control-plane': '' }, true, null, true],
    [{ 'node-role.kubernetes.io/master': 'true' }, true, null, true],
    [{ pool: 'edge' }, true, null, false],
    [{ pool: 'edge' }, false, 'pool=edge', true],
    [{ pool: 'core' }, false, 'pool in (edge)', false],
  ])('labels %j, control-plane-only %s, selector %s: serves = %s', (labels, controlPlaneOnly, sel, want) => {
    expect(servesHostname(node('n', { labels }), { controlPlaneOnly, nodeSelector: sel === null ? null : parseSelector(sel) })).toBe(want);
  });
});
