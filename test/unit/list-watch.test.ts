import { describe, expect, it } from 'vitest';
import type { ListPage, ResourceApi } from '../../src/kube/api.js';
import { nodeCodec } from '../../src/kube/codecs.js';
import { ListWatch, volatilePattern, type Change } from '../../src/kube/list-watch.js';
import { BASE_LABELS } from '../../src/kube/snapshot.js';
import type { NodeSnapshot } from '../../src/model/types.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from '../helpers/service.js';

const log = createLogger({ level: 'silent', format: 'json', secrets: () => [] });

function apiNode(name: string, ip: string, taints: string[] = [], rv = '1') {
  return {
    metadata: { name, resourceVersion: rv, labels: { 'kubernetes.io/hostname': name } },
    spec: { taints: taints.map((key) => ({ key, effect: 'NoSchedule' })) },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: ip }], conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: rv }] },
  };
}

/** A scripted API: each list answers the current items; each watch is handed to the test. */
class ScriptedApi implements ResourceApi {
  items: unknown[] = [];
  lists: Array<{ limit: number; continue?: string }> = [];
  watches: Array<{ rv: string; emit: (t: string, o: unknown) => void; end: (err: unknown) => void }> = [];
  async list(opts: { limit: number; continue?: string }): Promise<ListPage> {
    this.lists.push(opts);
    const start = opts.continue ? Number(opts.continue) : 0;
    const page = this.items.slice(start, start + opts.limit);
    const next = start + opts.limit < this.items.length ? String(start + opts.limit) : undefined;
    return { items: page, resourceVersion: `${10 + this.lists.length}`, continue: next };
  }
  async watch(rv: string, onEvent: (t: string, o: unknown) => void, onDone: (e: unknown) => void) {
    this.watches.push({ rv, emit: onEvent, end: onDone });
    return { abort: () => undefined };
  }
}

function setup() {
  const api = new ScriptedApi();
  const changes: Change<NodeSnapshot>[] = [];
  const codec = nodeCodec(() => ({ labels: new Set(BASE_LABELS) }));
  const source = new ListWatch(api, codec, log, (c) => changes.push(...c), { pageSize: 2, backoffBaseMs: 1 });
  const stop = new AbortController();
  return { api, changes, source, stop };
}

describe('list and watch (nodes)', () => {
  it('lists in pages, then watches from the list resourceVersion', async () => {
    const { api, changes, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1'), apiNode('b', '2.2.2.2'), apiNode('c', '3.3.3.3')];
    await source.start(stop.signal);
    expect(api.lists.map((l) => l.continue)).toEqual([undefined, '2']);
    expect([...source.items.keys()]).toEqual(['a', 'b', 'c']);
    expect(changes.map((c) => `${c.type}:${c.key}`)).toEqual(['added:a', 'added:b', 'added:c']);
    await waitFor(() => api.watches.length === 1 || undefined);
    expect(api.watches[0]?.rv).toBe('12');
    stop.abort();
  });

  it('reports only changes that matter; heartbeats and bookmarks are silent but move the resourceVersion', async () => {
    const { api, changes, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1')];
    await source.start(stop.signal);
    await waitFor(() => api.watches[0]);
    changes.length = 0;
    const w = api.watches[0]!;
    w.emit('MODIFIED', apiNode('a', '1.1.1.1', [], '20'));
    w.emit('BOOKMARK', { metadata: { resourceVersion: '21' } });
    expect(changes).toEqual([]);
    w.emit('MODIFIED', apiNode('a', '1.1.1.1', ['ToBeDeletedByClusterAutoscaler'], '22'));
    w.emit('DELETED', apiNode('a', '1.1.1.1', [], '23'));
    expect(changes.map((c) => `${c.type}:${c.key}`)).toEqual(['modified:a', 'deleted:a']);
    w.end(null); // the server closed the watch: reopen from the last resourceVersion
    await waitFor(() => api.watches[1]);
    expect(api.watches[1]?.rv).toBe('23');
    expect(api.lists).toHaveLength(1);
    stop.abort();
  });

  it('re-lists on 410 Gone and reports what happened in the gap', async () => {
    const { api, changes, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1'), apiNode('b', '2.2.2.2')];
    await source.start(stop.signal);
    await waitFor(() => api.watches[0]);
    changes.length = 0;
    api.items = [apiNode('b', '2.2.2.2', ['DeletionCandidateOfClusterAutoscaler']), apiNode('c', '3.3.3.3')];
    api.watches[0]!.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await waitFor(() => api.watches[1]);
    expect(changes.map((c) => `${c.type}:${c.key}`).sort()).toEqual(['added:c', 'deleted:a', 'modified:b']);
    expect(source.status().lists).toBe(2);
    stop.abort();
  });

  it('keeps the snapshots a re-list finds unchanged (the same objects), and takes the changed ones', async () => {
    const { api, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1'), apiNode('b', '2.2.2.2')];
    await source.start(stop.signal);
    await waitFor(() => api.watches[0]);
    const [a, b] = [source.items.get('a'), source.items.get('b')];
    api.items = [apiNode('a', '1.1.1.1', [], '30'), apiNode('b', '2.2.2.9')];
    api.watches[0]!.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await waitFor(() => api.watches[1]);
    expect(source.items.get('a')).toBe(a);
    expect(source.items.get('b')).not.toBe(b);
    expect(source.items.get('b')?.ipv4).toEqual(['2.2.2.9']);
    stop.abort();
  });

  it('keeps trying after the watch fails, and ignores objects it cannot read', async () => {
    const { api, changes, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1')];
    await source.start(stop.signal);
    await waitFor(() => api.watches[0]);
    changes.length = 0;
    api.watches[0]!.emit('ADDED', { kind: 'Pod' });
    api.watches[0]!.emit('WEIRD', apiNode('z', '9.9.9.9'));
    expect(changes).toEqual([]);
    api.watches[0]!.end(new Error('ECONNRESET'));
    await waitFor(() => api.watches[1]);
    expect(source.status().lastError).toContain('ECONNRESET');
    stop.abort();
  });

  it('refresh(): fresh only once a list started after the call has completed, even with a list under way', async () => {
    const { api, changes, source, stop } = setup();
    api.items = [apiNode('a', '1.1.1.1')];
    await source.start(stop.signal);
    await waitFor(() => api.watches[0]);
    // A list that was asked before the refresh and answers after it holds the old world.
    let answer: (() => void) | undefined;
    const realList = api.list.bind(api);
    api.list = async (opts) => {
      const page = await realList(opts);
      await new Promise<void>((r) => { answer = r; });
      return page;
    };
    source.resync();
    await waitFor(() => answer);
    const fresh = source.refresh();
    api.items = [apiNode('a', '1.1.1.1'), apiNode('b', '2.2.2.2')];
    const first = answer!;
    answer = undefined;
    first();
    await waitFor(() => answer); // the list asked by refresh() is under way: the first one changed nothing fresh
    expect(fresh()).toBe(false);
    expect([...source.items.keys()]).toEqual(['a']);
    answer!();
    await waitFor(() => fresh() || undefined);
    expect([...source.items.keys()]).toEqual(['a', 'b']);
    expect(changes.map((c) => `${c.type}:${c.key}`)).toEqual(['added:a', 'added:b']);
    expect(source.status().synced).toBe(true);
    stop.abort();
  });
});

describe('the heartbeat mask', () => {
  const mask = (text: string) => text.replace(volatilePattern(['lastHeartbeatTime', 'resourceVersion', 'time']), '');

  it('removes the values of exactly the volatile fields', () => {
    const a = '{"metadata":{"name":"n1","resourceVersion":"10","managedFields":[{"time":"2026-01-01T00:00:00Z"}]},"status":{"conditions":[{"type":"Ready","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2025-01-01T00:00:00Z"}]}}';
    const b = a.replace('"10"', '"11"').replaceAll('2026-01-01T00:00:00Z', '2026-01-01T00:00:10Z');
    expect(mask(a)).toBe(mask(b));
    expect(mask(a)).toContain('"lastTransitionTime":"2025-01-01T00:00:00Z"');
  });

  it('keeps every other field whose name ends the same way, and values it cannot read plainly', () => {
    for (const [x, y] of [
      ['"lastTransitionTime":"1"', '"lastTransitionTime":"2"'],
      ['"otherHeartbeatTime":"1"', '"otherHeartbeatTime":"2"'],
      ['"apiVersion":"v1"', '"apiVersion":"v2"'],
      ['"runtime":"a"', '"runtime":"b"'],
      ['"time":"a\\"b"', '"time":"a\\"c"'],
    ] as const) expect(mask(`{${x}}`)).not.toBe(mask(`{${y}}`));
  });
});
