/**
 * What a Node watch event's fingerprint covers: the text up to status.images when the fields
 * snapshots read all come before it (the API server's order), else the whole text.
 */
import { describe, expect, it } from 'vitest';
import { nodeReadEnd } from '../../src/kube/codecs.js';
import { makeNode } from '../../src/sim/kube/index.js';

type Node = Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown>; status: Record<string, unknown> };
const realistic = () => makeNode('n', { externalIP: '203.0.113.5', realistic: true, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] }) as Node;
const event = (object: unknown) => JSON.stringify({ type: 'MODIFIED', object });
/** The same object with its top-level or status fields in another order. */
const reordered = (n: Node, top: string[], status?: string[]) => {
  const s = status ? Object.fromEntries(status.map((k) => [k, n.status[k]])) : n.status;
  return Object.fromEntries(top.map((k) => [k, k === 'status' ? s : n[k]]));
};

describe('the part of a Node event its fingerprint covers', () => {
  it('ends at status.images in the API server\'s order (metadata, spec, then conditions and addresses before images)', () => {
    const text = event(realistic());
    const end = nodeReadEnd(text, true);
    expect(nodeReadEnd(text, false)).toBe(end);
    expect(end).toBe(text.indexOf('"images":['));
    const head = text.slice(0, end);
    for (const read of ['"metadata":{', '"labels":{', '"annotations":{', '"spec":{', '"taints":[', '"conditions":[', '"addresses":[']) expect(head).toContain(read);
    expect(end).toBeLessThan(text.length / 2); // the images and volumes are most of a realistic node
  });

  it.each([
    ['status before spec', (n: Node) => reordered(n, ['kind', 'apiVersion', 'metadata', 'status', 'spec'])],
    ['metadata after status', (n: Node) => reordered(n, ['kind', 'apiVersion', 'spec', 'status', 'metadata'])],
    ['addresses after images', (n: Node) => reordered(n, ['kind', 'apiVersion', 'metadata', 'spec', 'status'],
      ['capacity', 'allocatable', 'conditions', 'nodeInfo', 'images', 'addresses'])],
    ['conditions after images', (n: Node) => reordered(n, ['kind', 'apiVersion', 'metadata', 'spec', 'status'],
      ['capacity', 'allocatable', 'addresses', 'nodeInfo', 'images', 'conditions'])],
    ['no images', (n: Node) => ({ ...n, status: { ...n.status, images: undefined } })],
  ])('is the whole text with %s', (_what, change) => {
    const text = event(change(realistic()));
    expect(nodeReadEnd(text, true)).toBe(text.length);
  });

  it('is not misled by "images":[ written inside an annotation (quotes there are escaped)', () => {
    const n = realistic();
    n.metadata.annotations = { ...(n.metadata.annotations as object), note: '{"images":["x"]}' };
    const text = event(n);
    expect(text).toContain('\\"images\\":[');
    expect(nodeReadEnd(text, true)).toBe(text.indexOf('"images":['));
    expect(text.slice(0, nodeReadEnd(text, true))).toContain('"addresses":[');
  });
});
