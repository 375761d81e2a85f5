/**
 * The Kubernetes API simulator against @kubernetes/client-node, a client we did not write, plus the
 * wire-level behaviour (watch protocol, errors, faults) that clients depend on.
 */
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeNode, microTime, touchHeartbeat, withMetadataMergeKeys, type KubeObject, type ResourceDef } from '../../src/sim/kube/index.js';
import { call, RawWatch, startSim, waitFor, type SimHarness } from '../helpers/kube-sim.js';

let h: SimHarness;

function names(list: { items: Array<{ metadata?: { name?: string } }> }): string[] {
  return list.items.map((n) => n.metadata?.name ?? '');
}

function taintsOf(node: KubeObject | undefined): unknown {
  return (node?.spec as { taints?: unknown } | undefined)?.taints;
}

function rvOf(obj: { metadata?: unknown }): string {
  return String((obj.metadata as { resourceVersion?: string }).resourceVersion);
}

describe('with @kubernetes/client-node', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  const watches: AbortController[] = [];

  beforeEach(async () => {
    h = await startSim({ bookmarkIntervalMs: 60_000 });
    for (const name of ['n1', 'n2', 'n3', 'n4', 'n5']) h.sim.createNode(makeNode(name));
    kc = new k8s.KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  afterEach(async () => {
    for (const w of watches.splice(0)) w.abort();
    await h.stop();
  });

  it('pages through listNode with limit and continue', async () => {
    const first = await core.listNode({ limit: 2 });
    expect(names(first)).toEqual(['n1', 'n2']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const second = await core.listNode({ limit: 2, _continue: first.metadata?._continue });
    expect(names(second)).toEqual(['n3', 'n4']);
    const third = await core.listNode({ limit: 2, _continue: second.metadata?._continue });
    expect(names(third)).toEqual(['n5']);
    expect(third.metadata?._continue).toBeUndefined();
    expect(third.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it('reads a node and reports a missing one as a 404 Status', async () => {
    const node = await core.readNode({ name: 'n1' });
    expect(node.kind).toBe('Node');
    expect(node.status?.addresses?.map((a) => a.type)).toEqual(['InternalIP', 'ExternalIP', 'Hostname']);
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const err: unknown = await core.readNode({ name: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    const apiErr = err as k8s.ApiException<unknown>;
    expect(apiErr.code).toBe(404);
    expect(JSON.parse(String(apiErr.body))).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'nodes "missing" not found',
      reason: 'NotFound',
      details: { name: 'missing', kind: 'nodes' },
      code: 404,
    });
  });

  it('strategic-merge patches replace spec.taints whole and ignore status on the main resource', async () => {
    h.sim.patchNode('n1', { spec: { taints: [{ key: 'keep', value: 'x', effect: 'NoSchedule' }] } });
    const taints = [
      { key: 'keep', value: 'x', effect: 'NoSchedule' },
      { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' },
    ];
    const options = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
    const patched = await core.patchNode(
      { name: 'n1', body: { spec: { taints }, status: { conditions: [{ type: 'Ready', status: 'False' }] } } },
      options,
    );
    expect(patched.spec?.taints?.map((t) => t.key)).toEqual(['keep', 'ToBeDeletedByClusterAutoscaler']);
    expect(taintsOf(h.sim.getNode('n1'))).toEqual(taints);
    // Status only changes through /status: the Ready condition is untouched.
    expect(patched.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('applies JSON patches (the client default) and merge patches', async () => {
    const jsonPatched = await core.patchNode({ name: 'n2', body: [{ op: 'add', path: '/metadata/labels/pool', value: 'web' }] });
    expect(jsonPatched.metadata?.labels?.pool).toBe('web');
    const merged = await core.patchNode(
      { name: 'n2', body: { metadata: { labels: { pool: null, team: 'a' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels?.pool).toBeUndefined();
    expect(merged.metadata?.labels?.team).toBe('a');
  });

  it('deletes a node and answers with a Success Status', async () => {
    const status = await core.deleteNode({ name: 'n3' });
    expect(status.status).toBe('Success');
    expect(status.details?.name).toBe('n3');
    expect(h.sim.getNode('n3')).toBeUndefined();
  });

  it('streams ADDED, MODIFIED, DELETED and BOOKMARK events to Watch and ends it when watches drop', async () => {
    const list = await core.listNode();
    const events: Array<{ type: string; name?: string; rv?: string }> = [];
    let doneCalled = false;
    const watch = new k8s.Watch(kc);
    watches.push(
      await watch.watch(
        '/api/v1/nodes',
        { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
        (type, obj: { metadata?: { name?: string; resourceVersion?: string } }) =>
          events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
        () => {
          doneCalled = true;
        },
      ),
    );
    await waitFor(() => h.sim.openWatches === 1, 5000, 'the watch to open');
    h.sim.createNode(makeNode('n6'));
    h.sim.patchNode('n1', { metadata: { labels: { x: 'y' } } });
    h.sim.deleteNode('n2');
    h.sim.sendBookmarks();
    await waitFor(() => events.length >= 4, 5000, 'four events');
    expect(events.map((e) => `${e.type} ${e.name ?? ''}`)).toEqual(['ADDED n6', 'MODIFIED n1', 'DELETED n2', 'BOOKMARK ']);
    expect(events[3]?.rv).toBe(String(h.sim.resourceVersion));
    expect(doneCalled).toBe(false);
    h.sim.dropWatches();
    await waitFor(() => doneCalled, 5000, 'done');
  });

  it('sends a 410 Expired ERROR event to a watch from before expireHistory()', async () => {
    const list = await core.listNode();
    h.sim.patchNode('n1', { metadata: { labels: { x: 'y' } } });
    h.sim.expireHistory();
    const events: Array<{ type: string; obj: { code?: number; reason?: string; message?: string } }> = [];
    let doneCalled = false;
    watches.push(
      await new k8s.Watch(kc).watch(
        '/api/v1/nodes',
        { resourceVersion: list.metadata?.resourceVersion },
        (type, obj: { code?: number; reason?: string; message?: string }) => events.push({ type, obj }),
        () => {
          doneCalled = true;
        },
      ),
    );
    await waitFor(() => doneCalled, 5000, 'done');
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(events[0]?.obj.message).toBe(`too old resource version: ${list.metadata?.resourceVersion} (${h.sim.resourceVersion})`);
  });

  it('keeps an informer in sync across a clean watch end and a 410 re-list', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/nodes', () => core.listNode());
    const seen: string[] = [];
    informer.on('add', (n) => seen.push(`add ${n.metadata?.name ?? ''}`));
    informer.on('update', (n) => seen.push(`update ${n.metadata?.name ?? ''}`));
    informer.on('delete', (n) => seen.push(`delete ${n.metadata?.name ?? ''}`));
    await informer.start();
    try {
      await waitFor(() => h.sim.openWatches === 1, 5000, 'the informer watch');
      h.sim.createNode(makeNode('n6'));
      await waitFor(() => seen.includes('add n6'), 5000, 'add n6');
      h.sim.endWatches();
      await waitFor(() => h.sim.openWatches === 1, 5000, 'the informer to re-watch');
      h.sim.deleteNode('n6');
      await waitFor(() => seen.includes('delete n6'), 5000, 'delete n6');

      h.sim.patchNode('n1', { metadata: { labels: { x: 'y' } } });
      h.sim.deleteNode('n5');
      h.sim.expireHistory();
      h.sim.endWatches();
      await waitFor(() => seen.includes('delete n5'), 5000, 'the re-list after 410');
      expect(seen.slice(0, 5)).toEqual(['add n1', 'add n2', 'add n3', 'add n4', 'add n5']);
      expect(seen).toContain('update n1');
      expect(informer.list().map((n) => n.metadata?.name)).toEqual(['n1', 'n2', 'n3', 'n4']);
    } finally {
      await informer.stop();
    }
  });

  it('takes Leases written with V1MicroTime, rejects plain Dates and conflicting replaces', async () => {
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    const spec = (holder: string, time: Date): k8s.V1LeaseSpec => ({
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      acquireTime: time,
      renewTime: time,
    });
    const created = await coordination.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'epictetus' }, spec: spec('a', new k8s.V1MicroTime()) },
    });
    // client-node has no deserialiser for MicroTime: it reads back the string.
    expect(String(created.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    const renewed = await coordination.replaceNamespacedLease({
      name: 'epictetus',
      namespace: 'kube-system',
      body: { metadata: created.metadata, spec: spec('a', new k8s.V1MicroTime()) },
    });
    expect(renewed.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    const stale = await coordination
      .replaceNamespacedLease({ name: 'epictetus', namespace: 'kube-system', body: { metadata: created.metadata, spec: spec('b', new k8s.V1MicroTime()) } })
      .catch((e: unknown) => e);
    expect((stale as k8s.ApiException<unknown>).code).toBe(409);
    const plainDate = await coordination
      .createNamespacedLease({ namespace: 'kube-system', body: { metadata: { name: 'other' }, spec: spec('a', new Date()) } })
      .catch((e: unknown) => e);
    expect((plainDate as k8s.ApiException<unknown>).code).toBe(400);
  });

  it('sends the token; without one a client is anonymous (403), with a wrong one 401', async () => {
    await h.stop();
    h = await startSim({ token: 's3cret' });
    h.sim.createNode(makeNode('n1'));
    kc = new k8s.KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    expect(names(await kc.makeApiClient(k8s.CoreV1Api).listNode())).toEqual(['n1']);
    const anonymous = await call(`${h.sim.url}/api/v1/nodes`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatchObject({
      reason: 'Forbidden',
      message: 'nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope',
    });
    expect((await call(`${h.sim.url}/version`)).status).toBe(200);
    const wrong = await call(`${h.sim.url}/api/v1/nodes`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });
});

describe('over HTTP', () => {
  beforeEach(async () => {
    h = await startSim({ bookmarkIntervalMs: 50, historyLimit: 50 });
    for (const name of ['a', 'b', 'c']) h.sim.createNode(makeNode(name, { labels: { pool: name === 'c' ? 'db' : 'web' } }));
  });

  afterEach(async () => {
    await h.stop();
  });

  const url = (path: string) => `${h.sim.url}${path}`;

  it('serves /version and discovery, answering aggregated-discovery requests with plain JSON', async () => {
    expect((await call(url('/version'))).body).toMatchObject({ major: '1', minor: '32', gitVersion: 'v1.32.4' });
    const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const api = await call(url('/api'), { headers: { Accept: aggregated } });
    expect(api.headers.get('content-type')).toBe('application/json');
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await call(url('/api/v1'));
    const resources = v1.body.resources as Array<Record<string, unknown>>;
    expect(resources.find((r) => r.name === 'nodes')).toMatchObject({ namespaced: false, kind: 'Node', shortNames: ['no'] });
    expect(resources.find((r) => r.name === 'nodes')?.verbs).toEqual(
      expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
    );
    expect(resources.map((r) => r.name)).toEqual(expect.arrayContaining(['namespaces', 'services', 'nodes/status']));
    const groups = (await call(url('/apis'), { headers: { Accept: aggregated } })).body.groups as Array<{ name: string }>;
    expect(groups.map((g) => g.name)).toEqual(expect.arrayContaining(['coordination.k8s.io', 'events.k8s.io']));
    expect((await call(url('/apis/coordination.k8s.io/v1'))).body.groupVersion).toBe('coordination.k8s.io/v1');
  });

  it('omits kind and apiVersion on list items but not on single objects or watch events', async () => {
    const list = await call(url('/api/v1/nodes'));
    expect(list.body).toMatchObject({ kind: 'NodeList', apiVersion: 'v1' });
    const items = list.body.items as Array<Record<string, unknown>>;
    expect(items[0]).not.toHaveProperty('kind');
    expect(items[0]).not.toHaveProperty('apiVersion');
    expect((await call(url('/api/v1/nodes/a'))).body).toMatchObject({ kind: 'Node', apiVersion: 'v1' });
    const watch = new RawWatch(url('/api/v1/nodes?watch=1&resourceVersion=0'));
    const [first] = await watch.waitForEvents(3);
    expect(first?.object).toMatchObject({ kind: 'Node', apiVersion: 'v1' });
    watch.close();
  });

  it('filters lists with label and field selectors', async () => {
    const list = async (query: string) => names((await call(url(`/api/v1/nodes?${query}`))).body as { items: [] });
    expect(await list('labelSelector=pool%3Dweb')).toEqual(['a', 'b']);
    expect(await list('labelSelector=pool%20notin%20(web)')).toEqual(['c']);
    expect(await list('labelSelector=!pool')).toEqual([]);
    expect(await list('fieldSelector=metadata.name%3Db')).toEqual(['b']);
    h.sim.patchNode('a', { spec: { unschedulable: true } });
    expect(await list('fieldSelector=spec.unschedulable%3Dtrue')).toEqual(['a']);
    const bad = await call(url('/api/v1/nodes?fieldSelector=status.phase%3DReady'));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('field label not supported: status.phase');
  });

  it('keeps continue tokens on a consistent snapshot, and expires them with history', async () => {
    const first = await call(url('/api/v1/nodes?limit=1'));
    const token = (first.body.metadata as { continue: string }).continue;
    h.sim.deleteNode('b');
    h.sim.createNode(makeNode('bb'));
    const second = await call(url(`/api/v1/nodes?limit=5&continue=${encodeURIComponent(token)}`));
    expect(names(second.body as { items: [] })).toEqual(['b', 'c']);
    h.sim.expireHistory();
    const expired = await call(url(`/api/v1/nodes?limit=5&continue=${encodeURIComponent(token)}`));
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ reason: 'Expired', code: 410 });
    expect(String(expired.body.message)).toMatch(/^The provided continue parameter is too old/);
    const inconsistent = (expired.body.metadata as { continue: string }).continue;
    expect(names((await call(url(`/api/v1/nodes?continue=${encodeURIComponent(inconsistent)}`))).body as { items: [] })).toEqual(['bb', 'c']);
  });

  it('answers conflicts, duplicates and bad input with the right Status', async () => {
    const dup = await call(url('/api/v1/nodes'), { method: 'POST', body: makeNode('a') });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', message: 'nodes "a" already exists', details: { name: 'a', kind: 'nodes' } });

    const current = (await call(url('/api/v1/nodes/a'))).body;
    h.sim.patchNode('a', { metadata: { labels: { bump: '1' } } });
    const stale = await call(url('/api/v1/nodes/a'), { method: 'PUT', body: current });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on nodes "a": the object has been modified; please apply your changes to the latest version and try again',
    });
    const stalePatch = await call(url('/api/v1/nodes/a'), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: rvOf(current), labels: { x: 'y' } } },
    });
    expect(stalePatch.status).toBe(409);
    const unconditional = await call(url('/api/v1/nodes/a'), {
      method: 'PUT',
      body: { ...current, metadata: { ...(current.metadata as object), resourceVersion: undefined } },
    });
    expect(unconditional.status).toBe(200);

    const apply = await call(url('/api/v1/nodes/a'), { method: 'PATCH', contentType: 'application/apply-patch+yaml', body: {} });
    expect(apply.status).toBe(415);
    expect(apply.body.reason).toBe('UnsupportedMediaType');
    expect((await call(url('/api/v1/nodes/a'), { method: 'POST', body: {} })).status).toBe(405);
    const invalidTaint = await call(url('/api/v1/nodes/a'), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } },
    });
    expect(invalidTaint.status).toBe(422);
    expect(invalidTaint.body).toMatchObject({
      reason: 'Invalid',
      message: 'Node "a" is invalid: spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    });
    const badJsonPatch = await call(url('/api/v1/nodes/a'), {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [{ op: 'test', path: '/metadata/name', value: 'b' }],
    });
    expect(badJsonPatch.status).toBe(422);
  });

  it('keeps status on the main resource and spec on /status, and does not write no-op patches', async () => {
    const rv = h.sim.resourceVersion;
    const noop = await call(url('/api/v1/nodes/a'), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { pool: 'web' } } },
    });
    expect(rvOf(noop.body)).toBe(rvOf(h.sim.getNode('a') ?? {}));
    expect(h.sim.resourceVersion).toBe(rv);
    const status = await call(url('/api/v1/nodes/a/status'), {
      method: 'PATCH',
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] } },
    });
    expect(status.status).toBe(200);
    const node = h.sim.getNode('a') as { spec: { unschedulable?: boolean }; status: { conditions: Array<{ type: string; status: string }> } };
    expect(node.spec.unschedulable).toBeUndefined();
    expect(node.status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'NetworkUnavailable=False',
      'MemoryPressure=False',
      'DiskPressure=False',
      'PIDPressure=False',
      'Ready=False',
    ]);
  });

  it('marks nodes with finalizers as deleting and deletes them when the last finalizer goes', async () => {
    h.sim.createNode({ ...makeNode('k1'), metadata: { name: 'k1', finalizers: ['karpenter.sh/termination'] } });
    const watch = new RawWatch(url(`/api/v1/nodes?watch=1&resourceVersion=${h.sim.resourceVersion}`));
    await waitFor(() => h.sim.openWatches === 1);
    const del = await call(url('/api/v1/nodes/k1'), { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ kind: 'Node', metadata: { name: 'k1', deletionTimestamp: expect.any(String) } });
    h.sim.patchNode('k1', { metadata: { finalizers: null } }, 'merge');
    const events = await watch.waitForEvents(2);
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    expect(h.sim.getNode('k1')).toBeUndefined();
    watch.close();
  });

  it('watches from a resourceVersion, with selector transitions, bookmarks and a clean timeout', async () => {
    const from = h.sim.resourceVersion;
    h.sim.patchNode('a', { metadata: { labels: { pool: 'db' } } });
    const watch = new RawWatch(url(`/api/v1/nodes?watch=true&resourceVersion=${from}&labelSelector=pool%3Dweb&allowWatchBookmarks=true&timeoutSeconds=1`));
    await waitFor(() => h.sim.openWatches === 1);
    h.sim.patchNode('c', { metadata: { labels: { pool: 'web' } } });
    const started = Date.now();
    expect(await watch.waitForEnd(3000)).toBe('clean');
    expect(Date.now() - started).toBeLessThan(2500);
    expect(watch.status).toBe(200);
    const data = watch.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${String(e.object.metadata?.name)}`);
    expect(data).toEqual(['DELETED a', 'ADDED c']);
    const bookmark = watch.ofType('BOOKMARK')[0];
    expect(bookmark?.object).toEqual({ kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(h.sim.resourceVersion) } });
  });

  it('answers a too-old resourceVersion with HTTP 200 and one 410 ERROR event', async () => {
    const old = h.sim.resourceVersion;
    for (let i = 0; i < 60; i++) touchHeartbeat(h.sim, 'a');
    const watch = new RawWatch(url(`/api/v1/nodes?watch=1&resourceVersion=${old}`));
    expect(await watch.waitForEnd()).toBe('clean');
    expect(watch.status).toBe(200);
    expect(watch.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${h.sim.resourceVersion - 50})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
  });

  it('serves streaming lists (sendInitialEvents) ended by the initial-events-end bookmark', async () => {
    const watch = new RawWatch(url('/api/v1/nodes?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true'));
    const events = await watch.waitForEvents(4);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED', 'BOOKMARK']);
    expect(events[3]?.object.metadata).toEqual({
      resourceVersion: String(h.sim.resourceVersion),
      annotations: { 'k8s.io/initial-events-end': 'true' },
    });
    watch.close();
    const wrong = await call(url('/api/v1/nodes?watch=1&sendInitialEvents=true'));
    expect(wrong.status).toBe(422);
    expect(wrong.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
  });

  it('injects failures with failNext and logs every request', async () => {
    h.sim.failNext({ method: 'GET', pathPrefix: '/api/v1/nodes', status: 500, count: 2 });
    h.sim.failNext({ pathPrefix: '/api/v1/nodes/b', status: 429 });
    const first = await call(url('/api/v1/nodes'));
    expect(first.status).toBe(500);
    expect(first.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
    expect((await call(url('/version'))).status).toBe(200);
    expect((await call(url('/api/v1/nodes/a'))).status).toBe(500);
    const limited = await call(url('/api/v1/nodes/b'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await call(url('/api/v1/nodes'))).status).toBe(200);
    h.sim.failNext({ status: 503, body: { custom: true } });
    expect(await call(url('/api'))).toMatchObject({ status: 503, body: { custom: true } });
    expect(h.sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /api/v1/nodes 500',
      'GET /version 200',
      'GET /api/v1/nodes/a 500',
      'GET /api/v1/nodes/b 429',
      'GET /api/v1/nodes 200',
      'GET /api 503',
    ]);
  });

  it('delays answers with setLatency', async () => {
    h.sim.setLatency(150);
    const started = Date.now();
    await call(url('/api/v1/nodes'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('pushes ERROR events with sendWatchError and survives restart() on the same port', async () => {
    const watch = new RawWatch(url('/api/v1/nodes?watch=1&resourceVersion=0'));
    await watch.waitForEvents(3);
    h.sim.sendWatchError({ code: 500, reason: 'InternalError', message: 'boom' });
    expect(await watch.waitForEnd()).toBe('clean');
    expect(watch.events[3]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'boom' } });

    const rv = h.sim.resourceVersion;
    const cut = new RawWatch(url(`/api/v1/nodes?watch=1&resourceVersion=${rv}`));
    await waitFor(() => h.sim.openWatches === 1);
    const before = h.sim.url;
    h.sim.patchNode('a', { metadata: { labels: { x: '1' } } });
    await h.sim.restart();
    expect(await cut.waitForEnd()).toBe('cut');
    expect(h.sim.url).toBe(before);
    expect(names((await call(url('/api/v1/nodes'))).body as { items: [] })).toEqual(['a', 'b', 'c']);
    const stale = new RawWatch(url(`/api/v1/nodes?watch=1&resourceVersion=${rv}`));
    await stale.waitForEnd();
    expect(stale.events[0]?.object).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('touchHeartbeat changes only lastHeartbeatTime', async () => {
    const before = h.sim.getNode('a');
    const watch = new RawWatch(url(`/api/v1/nodes?watch=1&resourceVersion=${h.sim.resourceVersion}`));
    await waitFor(() => h.sim.openWatches === 1);
    touchHeartbeat(h.sim, 'a');
    const [event] = await watch.waitForEvents(1);
    expect(event?.type).toBe('MODIFIED');
    const strip = (n: unknown) =>
      JSON.parse(JSON.stringify(n, (k, v: unknown) => (k === 'lastHeartbeatTime' || k === 'resourceVersion' ? undefined : v))) as unknown;
    expect(strip(event?.object)).toEqual(strip(before));
    watch.close();
  });

  it('builds realistic nodes of 15-20 KB', () => {
    const size = JSON.stringify(makeNode('big-1', { realistic: true })).length;
    expect(size).toBeGreaterThanOrEqual(15_000);
    expect(size).toBeLessThanOrEqual(20_000);
    const node = makeNode('big-1', { realistic: true }) as { status: { addresses: unknown[]; conditions: unknown[]; images: unknown[] } };
    expect(node.status.addresses).toHaveLength(4);
    expect(node.status.conditions).toHaveLength(5);
    expect(node.status.images).toHaveLength(50);
  });
});

describe('namespaced resources', () => {
  beforeEach(async () => {
    h = await startSim();
  });

  afterEach(async () => {
    await h.stop();
  });

  const url = (path: string) => `${h.sim.url}${path}`;
  const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';

  it('serves Leases with MicroTime checks and optimistic concurrency', async () => {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'epictetus' },
      spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: microTime(), renewTime: microTime(), leaseTransitions: 0 },
    };
    const created = await call(url(leases), { method: 'POST', body: lease });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'epictetus', namespace: 'kube-system' });
    const millis = await call(url(leases), {
      method: 'POST',
      body: { ...lease, metadata: { name: 'other' }, spec: { ...lease.spec, renewTime: new Date().toISOString() } },
    });
    expect(millis.status).toBe(400);
    expect(millis.body.reason).toBe('BadRequest');

    const renewed = { ...created.body, spec: { ...lease.spec, renewTime: microTime() } };
    expect((await call(url(`${leases}/epictetus`), { method: 'PUT', body: renewed })).status).toBe(200);
    const raced = await call(url(`${leases}/epictetus`), { method: 'PUT', body: renewed });
    expect(raced.status).toBe(409);
    expect(raced.body.message).toMatch(/^Operation cannot be fulfilled on leases.coordination.k8s.io "epictetus"/);
    const unconditional = await call(url(`${leases}/epictetus`), { method: 'PUT', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'pod-b' } } });
    expect(unconditional.status).toBe(422);
    expect(unconditional.body.message).toBe(
      'Lease.coordination.k8s.io "epictetus" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
    const putCreated = await call(url(`${leases}/by-put`), { method: 'PUT', body: { ...lease, metadata: { name: 'by-put' } } });
    expect(putCreated.status).toBe(201);
    expect((await call(url('/apis/coordination.k8s.io/v1/namespaces/nowhere/leases'), { method: 'POST', body: lease })).status).toBe(404);
  });

  it('validates events.k8s.io/v1 Events', async () => {
    const events = '/apis/events.k8s.io/v1/namespaces/default/events';
    const event = {
      metadata: { name: 'n1.17a0' },
      eventTime: microTime(),
      reportingController: 'epictetus.example.com/controller',
      reportingInstance: 'epictetus-0',
      action: 'UpdateDNS',
      reason: 'RecordsUpdated',
      type: 'Normal',
      note: 'node n1 added',
      regarding: { kind: 'Node', name: 'n1', apiVersion: 'v1' },
    };
    expect((await call(url(events), { method: 'POST', body: event })).status).toBe(201);
    const { reportingInstance: _ri, action: _a, ...incomplete } = event;
    const invalid = await call(url(events), { method: 'POST', body: { ...incomplete, metadata: { name: 'x' }, type: 'Info' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toBe(
      'Event.events.k8s.io "x" is invalid: [reportingInstance: Required value, action: Required value, type: Invalid value: "": has invalid value: Info]',
    );
    const noTime = await call(url(events), { method: 'POST', body: { ...event, metadata: { name: 'y' }, eventTime: undefined } });
    expect(noTime.body.message).toBe('Event.events.k8s.io "y" is invalid: eventTime: Required value');
    const millis = await call(url(events), { method: 'POST', body: { ...event, metadata: { name: 'z' }, eventTime: new Date().toISOString() } });
    expect(millis.status).toBe(400);
  });

  it('serves events.k8s.io/v1 Events as core/v1 Events and back, like the API server', async () => {
    h.sim.createObject('events.events.k8s.io', {
      metadata: { name: 'n1.1', namespace: 'default' },
      eventTime: microTime(),
      reportingController: 'epictetus.example.com/controller',
      reportingInstance: 'epictetus-0',
      action: 'UpdateDNS',
      reason: 'RecordsUpdated',
      type: 'Normal',
      note: 'node n1 added',
      regarding: { kind: 'Node', name: 'n1' },
    });
    const core = await call(url('/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind%3DNode,involvedObject.name%3Dn1'));
    expect((core.body.items as unknown[])[0]).toMatchObject({
      involvedObject: { kind: 'Node', name: 'n1' },
      message: 'node n1 added',
      reportingComponent: 'epictetus.example.com/controller',
      source: {},
      firstTimestamp: null,
    });
    // A legacy recorder (client-go record.EventRecorder) writes core/v1 Events without eventTime.
    const legacy = {
      metadata: { name: 'n1.2' },
      involvedObject: { kind: 'Node', name: 'n1' },
      reason: 'Old',
      message: 'from a legacy client',
      source: { component: 'kubelet' },
      firstTimestamp: '2025-01-01T00:00:00Z',
      lastTimestamp: '2025-01-01T00:00:00Z',
      count: 1,
      type: 'Normal',
    };
    expect((await call(url('/api/v1/namespaces/default/events'), { method: 'POST', body: legacy })).status).toBe(201);
    const v1 = h.sim.getObject('events.events.k8s.io', 'n1.2', 'default');
    expect(v1).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'from a legacy client', deprecatedCount: 1, deprecatedSource: { component: 'kubelet' } });
    expect(v1).not.toHaveProperty('message');
  });

  it('deletes what is in a namespace with it, but never the default namespace', async () => {
    await call(url('/api/v1/namespaces'), { method: 'POST', body: { metadata: { name: 'team' } } });
    await call(url('/api/v1/namespaces/team/services'), { method: 'POST', body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } } });
    expect((await call(url('/api/v1/namespaces/team'), { method: 'DELETE' })).status).toBe(200);
    expect(h.sim.listObjects('services', 'team')).toEqual([]);
    const forbidden = await call(url('/api/v1/namespaces/default'), { method: 'DELETE' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
  });

  it('serves any resource registered through options', async () => {
    await h.stop();
    const configmaps: ResourceDef = {
      group: '',
      version: 'v1',
      plural: 'configmaps',
      singular: 'configmap',
      kind: 'ConfigMap',
      namespaced: true,
      nameFormat: 'dns-subdomain',
      statusSubresource: false,
      mergeKeys: withMetadataMergeKeys({}),
    };
    h = await startSim({ resources: [configmaps] });
    const created = await call(url('/api/v1/namespaces/default/configmaps'), { method: 'POST', body: { metadata: { name: 'cfg' }, data: { a: '1' } } });
    expect(created.body).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'cfg', namespace: 'default' } });
    const patched = await call(url('/api/v1/namespaces/default/configmaps/cfg'), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { data: { b: '2' } },
    });
    expect(patched.body.data).toEqual({ a: '1', b: '2' });
    expect(((await call(url('/api/v1'))).body.resources as Array<{ name: string }>).map((r) => r.name)).toContain('configmaps');
  });

  it('changes nothing on dryRun=All', async () => {
    const rv = h.sim.resourceVersion;
    const created = await call(url('/api/v1/nodes?dryRun=All'), { method: 'POST', body: makeNode('dry') });
    expect(created.status).toBe(201);
    expect(h.sim.getNode('dry')).toBeUndefined();
    expect(h.sim.resourceVersion).toBe(rv);
  });

  it('serves Services per namespace and across namespaces', async () => {
    const svc = { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } };
    const created = await call(url('/api/v1/namespaces/default/services'), { method: 'POST', body: svc });
    expect(created.body.spec).toMatchObject({ clusterIP: expect.stringMatching(/^10\.96\./), ports: [{ port: 443, protocol: 'TCP', nodePort: 30000 }] });
    await call(url('/api/v1/namespaces/kube-system/services'), { method: 'POST', body: svc });
    const all = await call(url('/api/v1/services'));
    expect((all.body.items as Array<{ metadata: { namespace: string } }>).map((s) => s.metadata.namespace)).toEqual(['default', 'kube-system']);
    const watch = new RawWatch(url('/api/v1/namespaces/default/services?watch=1'));
    const [added] = await watch.waitForEvents(1);
    expect(added?.object.metadata?.namespace).toBe('default');
    h.sim.patchObject('services', 'web', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } } });
    const [, modified] = await watch.waitForEvents(2);
    expect(modified?.object).toMatchObject({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } } });
    watch.close();
  });
});
