import { describe, expect, it } from 'vitest';
import { Controller } from '../../src/controller/controller.js';
import { createLogger } from '../../src/log/logger.js';
import { EpictetusError } from '../../src/model/errors.js';
import type { NodeSnapshot } from '../../src/model/types.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { host, node } from '../helpers/snapshots.js';

const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });
const CA = ['DeletionCandidateOfClusterAutoscaler', 'ToBeDeletedByClusterAutoscaler'];

const listed = { synced: true, watching: true, lists: 1, watchRestarts: 0, lastError: undefined, unconfirmed: 0 };

function setup(nodes: NodeSnapshot[], opts: { synced?: () => boolean } = {}) {
  const provider = new FakeProvider();
  const map = new Map(nodes.map((n) => [n.name, n]));
  const controller = new Controller({
    zoneIds: ['z'], rediscoverZones: false, ownerId: 'default', minRecordsPerHostname: 1,
    syncIntervalMs: 60_000, retryBaseDelayMs: 10, quietMs: 20,
  }, {
    provider, log,
    sources: [{ name: 'nodes', status: () => ({ ...listed, synced: opts.synced?.() ?? true }) }],
    signals: () => ({ nodes: [...map.values()], hostnames: [host('app.example.com')], conflicts: [], problems: [], refusedClaims: [] }),
  });
  const change = (n: NodeSnapshot | string): void => {
    const at = Date.now();
    if (typeof n === 'string') {
      const before = map.get(n);
      map.delete(n);
      controller.onSourceChange('nodes', [{ name: n, ips: [...(before?.ipv4 ?? [])], at }]);
    } else {
      map.set(n.name, n);
      controller.onSourceChange('nodes');
    }
  };
  return { provider, controller, change, map };
}

describe('controller', () => {
  it('creates records at start-up with one list and one apply', async () => {
    const { provider, controller } = setup([node('n1', { ipv4: ['1.1.1.1'] }), node('n2', { ipv4: ['2.2.2.2'] })]);
    controller.start();
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1', '2.2.2.2']);
    expect(provider.lists).toBe(1);
    expect(provider.applies).toHaveLength(1);
    expect(controller.status().synced).toBe(true);
    await controller.stop();
  });

  it('turns a burst of node events into one reconcile, without re-listing', async () => {
    const { provider, controller, change } = setup([1, 2, 3, 4].map((i) => node(`n${i}`, { ipv4: [`10.0.0.${i}`] })));
    controller.start();
    await controller.idle();
    for (const i of [1, 2, 3]) change(node(`n${i}`, { ipv4: [`10.0.0.${i}`], taints: CA }));
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['10.0.0.4']);
    expect(provider.applies).toHaveLength(2);
    expect(provider.lists).toBe(1);
    await controller.stop();
  });

  it("reports each hostname's records as they are after every change, built again only when something changed", async () => {
    const { controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] }), node('n2', { ipv4: ['2.2.2.2'] })]);
    controller.start();
    await controller.idle();
    const first = controller.status().hostnameRecords;
    expect(first['app.example.com']?.map((r) => `${r.ip} ${r.state}`)).toEqual(['1.1.1.1 serving', '2.2.2.2 serving']);
    expect(controller.status().hostnameRecords).toBe(first); // nothing changed: the same views
    change(node('n3', { ipv4: ['3.3.3.3'] }));
    change('n1');
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(controller.status().hostnameRecords['app.example.com']?.map((r) => `${r.ip} ${r.state}`)).toEqual(['2.2.2.2 serving', '3.3.3.3 serving']);
    expect(JSON.parse(JSON.stringify(controller.status())).hostnameRecords['app.example.com']).toHaveLength(2); // the getter is serialized
    // Built on read only: probes and metrics, which read other fields, never pay for them.
    for (const f of ['hostnameRecords', 'nodeAddresses']) expect(Object.getOwnPropertyDescriptor(controller.status(), f)?.get).toBeTypeOf('function');
    await controller.stop();
  });

  it('says when a full sync ended (for the garbage collection after it), and not after a reconcile for an event', async () => {
    const provider = new FakeProvider();
    const ended: number[] = [];
    const nodes = new Map([['n1', node('n1', { ipv4: ['1.1.1.1'] })]]);
    const controller = new Controller({
      zoneIds: ['z'], rediscoverZones: false, ownerId: 'default', minRecordsPerHostname: 1, syncIntervalMs: 60_000, retryBaseDelayMs: 10, quietMs: 20,
    }, {
      provider, log, sources: [{ name: 'nodes', status: () => listed }],
      signals: () => ({ nodes: [...nodes.values()], hostnames: [host('app.example.com')], conflicts: [], problems: [], refusedClaims: [] }),
      hooks: { fullSyncEnded: (records) => ended.push(provider.lists * 100 + records) },
    });
    controller.start();
    await controller.idle();
    expect(ended).toEqual([101]); // one listing, one record read
    nodes.set('n2', node('n2', { ipv4: ['2.2.2.2'] }));
    controller.onSourceChange('nodes');
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1', '2.2.2.2']);
    expect(ended).toEqual([101]);
    controller.request('full-sync', true, 0);
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(ended).toEqual([101, 202]);
    await controller.stop();
  });

  it('names a deleted node in its removal', async () => {
    const { controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] }), node('n2', { ipv4: ['2.2.2.2'] })]);
    controller.start();
    await controller.idle();
    change('n2');
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(controller.status().recentChanges[0]).toMatchObject({ action: 'delete', ip: '2.2.2.2', node: 'n2', reason: 'node-deleted' });
    await controller.stop();
  });

  it('retries a failed reconcile, re-reading the zone, and never forgets it', async () => {
    const { provider, controller } = setup([node('n1', { ipv4: ['1.1.1.1'] })]);
    provider.failNext.push(new EpictetusError('EPI_CF_SERVER', 'HTTP 500', { retryable: true }), new EpictetusError('EPI_CF_SERVER', 'HTTP 502', { retryable: true }));
    controller.start();
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1']);
    expect(controller.status().reconciles.failed).toBe(2);
    expect(controller.status().consecutiveFailures).toBe(0);
    await controller.stop();
  });

  it('recovers at once from drift met through its cache (identical record made behind its back)', async () => {
    const { provider, controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] })]);
    controller.start();
    await controller.idle();
    provider.records.push({ id: 'manual', name: 'app.example.com', type: 'A', content: '2.2.2.2', ttl: 1, proxied: false, comment: null });
    change(node('n2', { ipv4: ['2.2.2.2'] }));
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    // the create failed (81058); the re-read adopted the hand-made record instead
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1', '2.2.2.2']);
    expect(provider.records.find((r) => r.id === 'manual')?.comment).toBe('epictetus:owner=default');
    expect(provider.lists).toBe(2);
    await controller.stop();
  });

  it('does nothing for a change that does not alter any record', async () => {
    const { provider, controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] })]);
    controller.start();
    await controller.idle();
    change(node('n1', { ipv4: ['1.1.1.1'], taints: [CA[0] ?? ''] }));
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.applies).toHaveLength(1);
    expect(controller.status().reconciles.noop).toBe(1);
    await controller.stop();
  });

  it('plans nothing before every source has listed once, whoever asks', async () => {
    let synced = false;
    const { provider, controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] })], { synced: () => synced });
    provider.records.push({ id: 'old', name: 'app.example.com', type: 'A', content: '9.9.9.9', ttl: 1, proxied: false, comment: 'epictetus:owner=default' });
    change(node('n2', { ipv4: ['2.2.2.2'] })); // a watch event before start-up finished
    controller.start();
    change(node('n3', { ipv4: ['3.3.3.3'] }));
    await new Promise((r) => setTimeout(r, 50));
    await controller.idle();
    expect(provider.lists).toBe(0);
    expect(provider.applies).toEqual([]);
    expect(controller.status().waitingFor).toEqual(['nodes']);
    synced = true;
    change(node('n3', { ipv4: ['3.3.3.3'] })); // the first list is in: its changes ask again
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    expect(controller.status().waitingFor).toEqual([]);
    await controller.stop();
  });

  // Found in review: a new leader waits for fresh lists of its sources; its re-read of Cloudflare
  // was asked by the job that had to wait, and was lost: it planned from records cached before.
  it('a re-read of Cloudflare asked while the sources are not fresh is made by the next reconcile', async () => {
    let synced = true;
    const { provider, controller, change } = setup([node('n1', { ipv4: ['1.1.1.1'] })], { synced: () => synced });
    controller.start();
    await controller.idle();
    expect(provider.lists).toBe(1);
    synced = false; // the sources re-list (a new leader)
    controller.request('became-leader', true, 0);
    await new Promise((r) => setTimeout(r, 30));
    await controller.idle();
    expect(provider.lists).toBe(1);
    synced = true;
    change(node('n2', { ipv4: ['2.2.2.2'] })); // the fresh list is in: an event, not a full sync
    await new Promise((r) => setTimeout(r, 30));
    await controller.idle();
    expect(provider.lists).toBe(2);
    expect(provider.contents('app.example.com')).toEqual(['1.1.1.1', '2.2.2.2']);
    await controller.stop();
  });

  it('acts on the first event at once, and gathers a burst into the next reconcile', async () => {
    const { provider, controller, change } = setup([1, 2, 3, 4, 5].map((i) => node(`n${i}`, { ipv4: [`10.0.0.${i}`] })));
    controller.start();
    await controller.idle();
    for (const i of [1, 2, 3, 4]) change(node(`n${i}`, { ipv4: [`10.0.0.${i}`], taints: CA }));
    await new Promise((r) => setTimeout(r, 5));
    await controller.idle();
    expect(provider.contents('app.example.com')).toEqual(['10.0.0.5']);
    expect(provider.applies.length).toBeLessThanOrEqual(3); // start-up, then at most two for the burst
    await controller.stop();
  });
});
