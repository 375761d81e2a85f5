/**
 * Heartbeats are not parsed: a Node watch event whose text, less the fields no snapshot reads
 * (lastHeartbeatTime, resourceVersion, managedFields times), is that of the last event parsed
 * for the node is handled from its text alone. Every other event is parsed as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from '../../src/cli/world.js';
import { createKubeApi, loadKubeConfig, type KubeConnection } from '../../src/kube/api.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import { ListWatch, type Change } from '../../src/kube/list-watch.js';
import { BASE_LABELS } from '../../src/kube/snapshot.js';
import { createLogger } from '../../src/log/logger.js';
import type { NodeSnapshot } from '../../src/model/types.js';
import { makeNode, touchHeartbeat } from '../../src/sim/kube/index.js';
import { waitFor } from '../helpers/service.js';

const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });

let world: World | undefined;
let conn: KubeConnection | undefined;
let stop: AbortController | undefined;

afterEach(async () => {
  stop?.abort();
  conn?.close();
  await world?.stop();
});

async function watching(labels: readonly string[] = BASE_LABELS) {
  world = await startWorld({ nodes: 2 });
  conn = loadKubeConfig(world.kubeconfigPath);
  const changes: Array<Change<NodeSnapshot>> = [];
  const lw = new ListWatch(createKubeApi(conn).nodes, nodeCodec(() => ({ labels: new Set(labels) })), log, (c) => changes.push(...c));
  stop = new AbortController();
  await lw.start(stop.signal);
  changes.length = 0;
  const rv = () => (lw as unknown as { resourceVersion: string }).resourceVersion;
  // Each step waits until the watch has seen the simulator's latest version.
  const seen = async (node = 'worker-1') => {
    const latest = String((world!.kube.getNode(node)!.metadata as { resourceVersion: string }).resourceVersion);
    await waitFor(() => rv() === latest || undefined, 10_000, `resourceVersion ${latest}`);
  };
  return { w: world, lw, changes, seen };
}

describe('the Node watch pre-filter', () => {
  it('parses the first heartbeat, skips the next ones, and parses every real change (and its undoing)', async () => {
    const { w, lw, changes, seen } = await watching();
    touchHeartbeat(w.kube, 'worker-1');
    await seen();
    expect(lw.skippedEvents()).toBe(0); // nothing to compare with yet: parsed, fingerprinted
    touchHeartbeat(w.kube, 'worker-1');
    await seen();
    touchHeartbeat(w.kube, 'worker-1');
    await seen();
    expect(lw.skippedEvents()).toBe(2);
    expect(changes).toEqual([]);

    w.kube.patchNode('worker-1', { spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] } });
    await seen();
    expect(changes.map((c) => [c.type, c.key, c.after?.taints])).toEqual([['modified', 'worker-1', { ToBeDeletedByClusterAutoscaler: '1' }]]);
    touchHeartbeat(w.kube, 'worker-1');
    await seen();
    expect(lw.skippedEvents()).toBe(3);

    // Back to the text fingerprinted before the taint: a change all the same, parsed.
    w.kube.patchNode('worker-1', { spec: { taints: null } });
    await seen();
    expect(changes.map((c) => [c.type, c.after?.taints])).toEqual([['modified', { ToBeDeletedByClusterAutoscaler: '1' }], ['modified', {}]]);
    expect(lw.items.get('worker-1')?.taints).toEqual({});
    expect(lw.skippedEvents()).toBe(3);
  });

  it('a change to a label it reads is seen; with a label named like a masked field, nothing is skipped', async () => {
    const { w, lw, changes, seen } = await watching([...BASE_LABELS, 'time']);
    for (let i = 0; i < 3; i++) {
      touchHeartbeat(w.kube, 'worker-1');
      await seen();
    }
    expect(lw.skippedEvents()).toBe(0);
    w.kube.patchNode('worker-1', { metadata: { labels: { time: 'later' } } });
    await seen();
    expect(changes.map((c) => c.after?.labels.time)).toEqual(['later']);
  });

  it('leaves a realistic Node\'s images out: a change to them alone is skipped, a change to what follows none of them is not', async () => {
    const { w, lw, changes, seen } = await watching();
    w.kube.createNode(makeNode('big', { externalIP: '203.0.113.50', realistic: true }));
    await seen('big');
    touchHeartbeat(w.kube, 'big'); // parsed: the first event fingerprinted for it
    await seen('big');
    changes.length = 0;
    const skippedBefore = lw.skippedEvents();
    w.kube.patchNode('big', { status: { images: [{ names: ['registry.example/new:1'], sizeBytes: 1 }] } }, 'merge');
    await seen('big');
    touchHeartbeat(w.kube, 'big');
    await seen('big');
    expect(lw.skippedEvents()).toBe(skippedBefore + 2);
    expect(changes).toEqual([]);

    w.kube.patchNode('big', { status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date().toISOString() }] } });
    await seen('big');
    expect(changes.map((c) => [c.key, c.after?.ready])).toEqual([['big', 'False']]);
    expect(lw.skippedEvents()).toBe(skippedBefore + 2);
  });

  it('sees every change of a Node whose fields come in another order (its addresses after its images)', async () => {
    const { w, lw, changes, seen } = await watching();
    const node = makeNode('odd', { externalIP: '203.0.113.60', realistic: true }) as { status: Record<string, unknown> };
    const { addresses, ...rest } = node.status;
    node.status = { ...rest, addresses }; // after the images
    w.kube.createNode(node);
    await seen('odd');
    for (let i = 0; i < 3; i++) {
      touchHeartbeat(w.kube, 'odd');
      await seen('odd');
    }
    changes.length = 0;
    const moved = (addresses as Array<{ type: string; address: string }>).map((a) => (a.type === 'ExternalIP' ? { ...a, address: '203.0.113.61' } : a));
    w.kube.patchNode('odd', { status: { addresses: moved } }, 'merge');
    await seen('odd');
    expect(changes.map((c) => [c.key, c.after?.ipv4])).toEqual([['odd', ['203.0.113.61']]]);
    expect(lw.items.get('odd')?.ipv4).toEqual(['203.0.113.61']);
  });
});
