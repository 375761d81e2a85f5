/** How Nodes and Services become the snapshots the sources keep. */
import type { EndpointSliceSnapshot, EndpointState, NodeSnapshot, ServiceSnapshot } from '../model/types.js';
import { endpointState } from '../reconcile/endpoints.js';
import type { Codec } from './list-watch.js';
import { nodeName, sameSnapshot, toSnapshot, type SnapshotOptions } from './snapshot.js';

import { ANNOTATION_PREFIX } from '../reconcile/claims.js';


const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * What changes in a Node on every heartbeat and is read by no snapshot: the conditions'
 * lastHeartbeatTime, the resourceVersion, and the time of each managedFields entry.
 */
const NODE_VOLATILE_FIELDS = ['lastHeartbeatTime', 'resourceVersion', 'time'] as const;

/**
 * Where the part of a Node's JSON text that snapshots read ends: at status.images (the bulk of a
 * real Node: a list of every image on it, ~9 of 16 KB here). `checked`: only when the field order
 * puts everything read before it (the API server's: metadata, then spec, then status.conditions
 * and status.addresses), else the whole text. Unchecked, only where images start.
 */
export function nodeReadEnd(text: string, checked: boolean): number {
  const meta = text.indexOf('"metadata":{');
  const images = meta < 0 ? -1 : text.indexOf('"images":[', meta);
  if (images < 0) return text.length;
  if (!checked) return images;
  // Each looked for backwards from the next: a few hundred characters each in the usual order.
  const addresses = text.lastIndexOf('"addresses":[', images);
  const conditions = addresses < 0 ? -1 : text.lastIndexOf('"conditions":[', addresses);
  const spec = conditions < 0 ? -1 : text.lastIndexOf('"spec":{', conditions);
  return spec > meta ? images : text.length;
}

export function nodeCodec(opts: () => SnapshotOptions): Codec<NodeSnapshot> {
  return {
    key: nodeName, snapshot: (o) => toSnapshot(o, opts()), same: sameSnapshot, readEnd: nodeReadEnd,
    // Unless a label or annotation the snapshot reads bears one of those names: then parse all.
    volatile: () => {
      const o = opts();
      const read = [...o.labels, ...(o.externalIpKey ? [o.externalIpKey] : [])];
      return read.some((k) => (NODE_VOLATILE_FIELDS as readonly string[]).includes(k)) ? undefined : NODE_VOLATILE_FIELDS;
    },
  };
}

export const serviceCodec: Codec<ServiceSnapshot> = {
  key(o) {
    const meta = obj(obj(o).metadata);
    return typeof meta.name === 'string' && typeof meta.namespace === 'string' ? `${meta.namespace}/${meta.name}` : undefined;
  },
  snapshot(o) {
    const meta = obj(obj(o).metadata);
    if (typeof meta.name !== 'string' || typeof meta.namespace !== 'string') return undefined;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(meta.annotations))) {
      if (k.startsWith(ANNOTATION_PREFIX) && typeof v === 'string') annotations[k] = v;
    }
    return { namespace: meta.namespace, name: meta.name, uid: typeof meta.uid === 'string' ? meta.uid : undefined, annotations };
  },
  same(a, b) {
    const ka = Object.keys(a.annotations);
    return a.namespace === b.namespace && a.name === b.name && a.uid === b.uid && ka.length === Object.keys(b.annotations).length &&
      ka.every((k) => a.annotations[k] === b.annotations[k]);
  },
};

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const RANK: Record<EndpointState, number> = { ready: 2, terminating: 1, 'not-ready': 0 };

/** An EndpointSlice keeps only its Service and, per node, the best state of its endpoints there. */
export const endpointSliceCodec: Codec<EndpointSliceSnapshot> = {
  key(o) {
    const meta = obj(obj(o).metadata);
    return typeof meta.name === 'string' && typeof meta.namespace === 'string' ? `${meta.namespace}/${meta.name}` : undefined;
  },
  snapshot(o) {
    const meta = obj(obj(o).metadata);
    const service = obj(meta.labels)[SERVICE_NAME_LABEL];
    if (typeof meta.namespace !== 'string' || typeof service !== 'string' || service === '') return undefined;
    const nodes: Record<string, EndpointState> = {};
    for (const e of Array.isArray(obj(o).endpoints) ? (obj(o).endpoints as unknown[]) : []) {
      const node = obj(e).nodeName;
      if (typeof node !== 'string' || node === '') continue;
      const c = obj(obj(e).conditions);
      const flag = (v: unknown) => (typeof v === 'boolean' ? v : null);
      const state = endpointState({ ready: flag(c.ready), serving: flag(c.serving), terminating: flag(c.terminating) });
      const before = nodes[node];
      if (before === undefined || RANK[state] > RANK[before]) nodes[node] = state;
    }
    return { service: `${meta.namespace}/${service}`, nodes };
  },
  same(a, b) {
    const ka = Object.keys(a.nodes);
    return a.service === b.service && ka.length === Object.keys(b.nodes).length && ka.every((k) => a.nodes[k] === b.nodes[k]);
  },
};
