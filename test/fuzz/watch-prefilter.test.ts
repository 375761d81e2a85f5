/**
 * The Node watch's pre-filter never hides a change: whatever a Node goes through (heartbeats,
 * labels, taints, addresses, conditions, images, annotations that look like JSON, its fields in
 * another order), a watch that skips events by their fingerprint holds, after every event, the
 * same snapshot as a watch that parses every event.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResourceApi } from '../../src/kube/api.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import { ListWatch, type Codec } from '../../src/kube/list-watch.js';
import { BASE_LABELS, HOLD_ANNOTATION } from '../../src/kube/snapshot.js';
import { createLogger } from '../../src/log/logger.js';
import type { NodeSnapshot } from '../../src/model/types.js';
import { makeNode } from '../../src/sim/kube/index.js';

const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });
type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => v as Obj;

/** A ListWatch whose server is this test: `send` hands it one watch event's text, as http.ts does. */
async function watchOf(codec: Codec<NodeSnapshot>, initial: Obj): Promise<{ lw: ListWatch<NodeSnapshot>; send(text: string): void; stop(): void }> {
  let feed: ((text: string) => void) | undefined;
  const api: ResourceApi = {
    list: async () => ({ items: [initial], resourceVersion: '1', continue: undefined }),
    watch: async (_rv, onEvent, _onDone, prefilter) => {
      feed = (text) => {
        if (prefilter?.(text)) return;
        const e = JSON.parse(text) as { type: string; object: unknown };
        onEvent(e.type, e.object);
      };
      return { abort: () => undefined };
    },
  };
  const lw = new ListWatch(api, codec, log, () => undefined);
  const stop = new AbortController();
  await lw.start(stop.signal);
  await new Promise((r) => setTimeout(r, 0)); // the watch is opened after the list
  return { lw, send: (text) => feed!(text), stop: () => stop.abort() };
}

/** What happens to the Node between two events. */
const edit = fc.oneof(
  fc.constant({ kind: 'heartbeat' as const }),
  fc.record({ kind: fc.constant('label' as const), key: fc.constantFrom(BASE_LABELS[0]!, BASE_LABELS.at(-1)!, 'example.com/unread'), value: fc.option(fc.constantFrom('', 'true', 'x')) }),
  fc.record({ kind: fc.constant('taint' as const), key: fc.constantFrom('ToBeDeletedByClusterAutoscaler', 'DeletionCandidateOfClusterAutoscaler'), on: fc.boolean() }),
  fc.record({ kind: fc.constant('address' as const), ip: fc.constantFrom('203.0.113.5', '203.0.113.6', '2001:db8::6') }),
  fc.record({ kind: fc.constant('ready' as const), status: fc.constantFrom('True', 'False', 'Unknown') }),
  fc.record({ kind: fc.constant('images' as const), n: fc.nat(3) }),
  fc.record({ kind: fc.constant('order' as const), order: fc.constantFrom('api', 'addresses after images', 'conditions after images', 'status before spec', 'metadata last') }),
  fc.record({ kind: fc.constant('unschedulable' as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant('hold' as const), value: fc.option(fc.constantFrom('10m', '1h')) }),
  fc.constant({ kind: 'deleting' as const }),
  // Annotation values that look like the fields the filter looks for (escaped inside a string).
  fc.record({ kind: fc.constant('noise' as const), value: fc.constantFrom('{"images":["x"]}', '"lastHeartbeatTime":"2020-01-01T00:00:00Z"', '"resourceVersion":"7"', '"addresses":[', '') }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

interface State { node: Obj; order: string; rv: number; beat: number }

function apply(s: State, e: Edit): void {
  const meta = o(s.node.metadata);
  const spec = o(s.node.spec);
  const status = o(s.node.status);
  const conditions = status.conditions as Obj[];
  switch (e.kind) {
    case 'heartbeat':
      s.beat += 1;
      for (const c of conditions) c.lastHeartbeatTime = new Date(Date.UTC(2026, 0, 1, 0, 0, s.beat)).toISOString().replace('.000', '');
      break;
    case 'label': {
      const labels = o(meta.labels);
      if (e.value === null) delete labels[e.key];
      else labels[e.key] = e.value;
      break;
    }
    case 'taint': {
      const taints = ((spec.taints as Obj[] | undefined) ?? []).filter((t) => t.key !== e.key);
      if (e.on) taints.push({ key: e.key, value: '1', effect: 'NoSchedule' });
      spec.taints = taints;
      break;
    }
    case 'address':
      status.addresses = (status.addresses as Obj[]).map((a) => (a.type === 'ExternalIP' ? { ...a, address: e.ip } : a));
      break;
    case 'ready':
      for (const c of conditions) if (c.type === 'Ready') Object.assign(c, { status: e.status, lastTransitionTime: new Date(Date.UTC(2026, 0, 2, 0, 0, s.rv)).toISOString() });
      break;
    case 'images':
      status.images = [...Array(e.n).keys()].map((i) => ({ names: [`registry.example/image-${s.rv}-${i}:1`], sizeBytes: i }));
      break;
    case 'order':
      s.order = e.order;
      break;
    case 'unschedulable':
      if (e.on) spec.unschedulable = true;
      else delete spec.unschedulable;
      break;
    case 'hold': {
      const annotations = o(meta.annotations);
      if (e.value === null) delete annotations[HOLD_ANNOTATION];
      else annotations[HOLD_ANNOTATION] = e.value;
      break;
    }
    case 'deleting':
      meta.deletionTimestamp = '2026-01-03T00:00:00Z';
      break;
    case 'noise':
      o(meta.annotations)['example.com/note'] = e.value;
      break;
  }
  s.rv += 1;
  meta.resourceVersion = String(s.rv);
}

/** The Node as the server would write it, its fields in the state's order. */
function text(s: State): string {
  const { metadata, spec, status, ...top } = s.node;
  const st = o(status);
  const statusIn = (keys: string[]) => Object.fromEntries([...keys, ...Object.keys(st).filter((k) => !keys.includes(k))].map((k) => [k, st[k]]));
  const byOrder: Record<string, () => Obj> = {
    api: () => ({ ...top, metadata, spec, status }),
    'addresses after images': () => ({ ...top, metadata, spec, status: statusIn(['capacity', 'conditions', 'images', 'addresses']) }),
    'conditions after images': () => ({ ...top, metadata, spec, status: statusIn(['capacity', 'addresses', 'images', 'conditions']) }),
    'status before spec': () => ({ ...top, metadata, status, spec }),
    'metadata last': () => ({ ...top, spec, status, metadata }),
  };
  return JSON.stringify({ type: 'MODIFIED', object: byOrder[s.order]!() });
}

describe('the Node watch pre-filter, under any sequence of edits', () => {
  it('holds the snapshot that parsing every event gives, after every event, and skips the heartbeats', async () => {
    let skipped = 0;
    await fc.assert(fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 30 }), async (edits) => {
      const initial = makeNode('n', { externalIP: '203.0.113.5', realistic: true }) as Obj;
      o(initial.metadata).resourceVersion = '1';
      const opts = () => ({ labels: new Set(BASE_LABELS) });
      const filtered = await watchOf(nodeCodec(opts), structuredClone(initial));
      const parsed = await watchOf({ ...nodeCodec(opts), volatile: () => undefined }, structuredClone(initial));
      try {
        const s: State = { node: structuredClone(initial), order: 'api', rv: 1, beat: 0 };
        for (const e of edits) {
          apply(s, e);
          const t = text(s);
          filtered.send(t);
          parsed.send(t);
          expect(filtered.lw.items.get('n'), `after ${JSON.stringify(e)}`).toEqual(parsed.lw.items.get('n'));
        }
        skipped += filtered.lw.skippedEvents();
        expect(parsed.lw.skippedEvents()).toBe(0);
      } finally {
        filtered.stop();
        parsed.stop();
      }
    }), { numRuns: 200 });
    expect(skipped).toBeGreaterThan(0); // the filter was at work, not bypassed
  });
});
