/** Unit tests of the simulator's patch, selector and table code against the RFCs and apimachinery. */
import { describe, expect, it } from 'vitest';
import { nodes } from '../../src/sim/kube/kinds/index.js';
import type { Json, JsonObject } from '../../src/sim/kube/json.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../../src/sim/kube/patch.js';
import { labelMatcher, parseFieldSelector, parseLabelSelector } from '../../src/sim/kube/selectors.js';
import { ApiError } from '../../src/sim/kube/status.js';
import { humanDuration } from '../../src/sim/kube/table.js';

function failure(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('JSON patch (RFC 6902)', () => {
  const doc: Json = { foo: 'bar', list: ['a', 'b'], nested: { x: 1 } };

  it.each<[string, unknown[], Json]>([
    ['adds an object member', [{ op: 'add', path: '/baz', value: 'qux' }], { foo: 'bar', list: ['a', 'b'], nested: { x: 1 }, baz: 'qux' }],
    ['inserts into an array', [{ op: 'add', path: '/list/1', value: 'z' }], { foo: 'bar', list: ['a', 'z', 'b'], nested: { x: 1 } }],
    ['appends with -', [{ op: 'add', path: '/list/-', value: 'c' }], { foo: 'bar', list: ['a', 'b', 'c'], nested: { x: 1 } }],
    ['removes', [{ op: 'remove', path: '/list/0' }, { op: 'remove', path: '/foo' }], { list: ['b'], nested: { x: 1 } }],
    ['replaces', [{ op: 'replace', path: '/nested/x', value: 2 }], { foo: 'bar', list: ['a', 'b'], nested: { x: 2 } }],
    ['moves', [{ op: 'move', from: '/foo', path: '/nested/foo' }], { list: ['a', 'b'], nested: { x: 1, foo: 'bar' } }],
    ['copies', [{ op: 'copy', from: '/list', path: '/copy' }], { foo: 'bar', list: ['a', 'b'], nested: { x: 1 }, copy: ['a', 'b'] }],
    ['tests then changes', [{ op: 'test', path: '/nested', value: { x: 1 } }, { op: 'add', path: '/t', value: true }], { foo: 'bar', list: ['a', 'b'], nested: { x: 1 }, t: true }],
    ['escapes ~1 and ~0', [{ op: 'add', path: '/a~1b~0c', value: 1 }], { foo: 'bar', list: ['a', 'b'], nested: { x: 1 }, 'a/b~c': 1 }],
    ['replaces the root', [{ op: 'replace', path: '', value: { only: true } }], { only: true }],
  ])('%s', (_name, patch, expected) => {
    expect(applyJsonPatch(doc, patch)).toEqual(expected);
    expect(doc).toEqual({ foo: 'bar', list: ['a', 'b'], nested: { x: 1 } });
  });

  it('fails with 422 when an operation does not apply, and 400 when the patch is malformed', () => {
    expect(failure(() => applyJsonPatch(doc, [{ op: 'test', path: '/foo', value: 'baz' }])).code).toBe(422);
    expect(failure(() => applyJsonPatch(doc, [{ op: 'remove', path: '/missing' }])).code).toBe(422);
    expect(failure(() => applyJsonPatch(doc, [{ op: 'replace', path: '/missing', value: 1 }])).code).toBe(422);
    expect(failure(() => applyJsonPatch(doc, [{ op: 'add', path: '/a/b', value: 1 }])).code).toBe(422);
    expect(failure(() => applyJsonPatch(doc, [{ op: 'add', path: '/list/5', value: 1 }])).code).toBe(422);
    expect(failure(() => applyJsonPatch(doc, { op: 'add' })).code).toBe(400);
    expect(failure(() => applyJsonPatch(doc, [{ op: 'frobnicate', path: '/foo' }])).code).toBe(400);
  });
});

describe('JSON merge patch (RFC 7386 appendix A)', () => {
  it.each<[Json, Json, Json]>([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });
});

describe('strategic merge patch on Nodes', () => {
  const node = makeNode('n1', { taints: [{ key: 'a', effect: 'NoSchedule' }] }) as JsonObject & {
    status: { conditions: Array<JsonObject>; addresses: Array<JsonObject> };
  };
  const smp = (patch: JsonObject) => applyStrategicMergePatch(node, patch, nodes.mergeKeys) as typeof node;

  it('merges conditions and addresses by type', () => {
    const out = smp({
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }],
        addresses: [{ type: 'ExternalIP', address: '192.0.2.9' }],
      },
    });
    expect(out.status.conditions.map((c) => `${String(c.type)}=${String(c.status)}`)).toEqual([
      'NetworkUnavailable=False',
      'MemoryPressure=False',
      'DiskPressure=False',
      'PIDPressure=False',
      'Ready=False',
    ]);
    expect(out.status.conditions[4]).toMatchObject({ reason: 'KubeletNotReady', message: 'kubelet is posting ready status' });
    expect(out.status.addresses).toEqual([
      { type: 'InternalIP', address: '10.0.0.12' },
      { type: 'ExternalIP', address: '192.0.2.9' },
      { type: 'Hostname', address: 'n1' },
    ]);
  });

  it('replaces spec.taints, which has no merge key', () => {
    const out = smp({ spec: { taints: [{ key: 'b', effect: 'NoExecute' }] } });
    expect((out.spec as JsonObject).taints).toEqual([{ key: 'b', effect: 'NoExecute' }]);
    expect((out.spec as JsonObject).podCIDR).toBe('10.244.1.0/24');
  });

  it('understands $patch, $deleteFromPrimitiveList, $setElementOrder and $retainKeys, and strips them', () => {
    const withFinalizers = { ...node, metadata: { ...(node.metadata as JsonObject), finalizers: ['x', 'y'] } };
    const out = applyStrategicMergePatch(
      withFinalizers,
      {
        metadata: { finalizers: ['z'], '$deleteFromPrimitiveList/finalizers': ['x'], labels: { 'kubernetes.io/os': null } },
        status: {
          '$setElementOrder/addresses': [{ type: 'InternalIP' }, { type: 'Hostname' }],
          addresses: [{ type: 'ExternalIP', $patch: 'delete' }],
          conditions: [{ $patch: 'replace' }, { type: 'Ready', status: 'True' }],
          nodeInfo: { $retainKeys: ['kubeletVersion'], kubeletVersion: 'v1.33.0' },
        },
      },
      nodes.mergeKeys,
    ) as typeof node;
    const meta = out.metadata as JsonObject & { labels: JsonObject };
    expect(meta.finalizers).toEqual(['y', 'z']);
    expect(meta.labels).not.toHaveProperty('kubernetes.io/os');
    expect(out.status.addresses.map((a) => a.type)).toEqual(['InternalIP', 'Hostname']);
    expect(out.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    expect(out.status).toMatchObject({ nodeInfo: { kubeletVersion: 'v1.33.0' } });
    expect(Object.keys((out.status as JsonObject).nodeInfo as JsonObject)).toEqual(['kubeletVersion']);
    expect(JSON.stringify(out)).not.toContain('$');
  });
});

describe('selectors', () => {
  const labels = { app: 'web', tier: 'front', 'example.com/gen': '3' };

  it.each<[string, boolean]>([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (web, api)', true],
    ['app notin (web,api)', false],
    ['missing notin (a)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier=back', false],
    ['example.com/gen>2', true],
    ['example.com/gen<3', false],
    [' app = web , tier ', true],
  ])('%j matches: %s', (selector, expected) => {
    expect(labelMatcher(selector)(labels)).toBe(expected);
  });

  it('parses requirements and rejects bad selectors with 400', () => {
    expect(parseLabelSelector('a in (x,y),!b,c!=d')).toEqual([
      { key: 'a', op: 'in', values: ['x', 'y'] },
      { key: 'b', op: '!', values: [] },
      { key: 'c', op: '!=', values: ['d'] },
    ]);
    for (const bad of ['a in (x', 'a in x', 'a=b=c', '=x', 'a,,b', 'a>b', 'bad key!=x']) {
      expect(failure(() => parseLabelSelector(bad)).code, bad).toBe(400);
    }
    expect(parseFieldSelector('metadata.name=a\\,b,spec.unschedulable!=true')).toEqual([
      { field: 'metadata.name', op: '=', value: 'a,b' },
      { field: 'spec.unschedulable', op: '!=', value: 'true' },
    ]);
  });
});

describe('humanDuration (the AGE column)', () => {
  it.each<[number, string]>([
    [-5_000, '<invalid>'],
    [-500, '0s'],
    [59_000, '59s'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3_600_000 + 60_000, '3h1m'],
    [10 * 3_600_000, '10h'],
    [50 * 3_600_000, '2d2h'],
    [30 * 86_400_000, '30d'],
    [3 * 365 * 86_400_000 + 86_400_000, '3y1d'],
    [9 * 365 * 86_400_000, '9y'],
  ])('%d ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
