/**
 * discovery.k8s.io/v1 EndpointSlices in the Kubernetes simulator: the built-in EndpointSlice
 * controller (as Kubernetes' reconciler behaves), Pods deleted gracefully, and the HTTP surface
 * (cluster-wide list and watch, label selectors, discovery, tables). What both the simulator and
 * a real kube-apiserver do is in test/integration/kube-backends.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeNode, type KubeObject } from '../../src/sim/kube/index.js';
import { call, RawWatch, startSim, type SimHarness } from '../helpers/kube-sim.js';

let h: SimHarness;

afterEach(async () => {
  await h.stop();
});

interface Endpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  zone?: string;
  hostname?: string;
  targetRef?: { name: string };
}

interface Slice {
  metadata: { name: string; labels?: Record<string, string>; generation?: number; annotations?: Record<string, string> };
  addressType: string;
  endpoints: Endpoint[] | null;
  ports: Array<{ name: string; port: number; protocol: string }> | null;
}

function slices(service: string): Slice[] {
  return h.sim.endpointSlices(service) as unknown as Slice[];
}

function endpoints(service: string): string[] {
  return slices(service)
    .flatMap((s) => (s.endpoints ?? []).map((e) => `${e.targetRef?.name ?? ''}:${e.addresses.join(',')}`))
    .sort();
}

function service(name: string, spec: object, labels: Record<string, string> = {}): KubeObject {
  return h.sim.createObject('services', { metadata: { name, namespace: 'default', labels }, spec });
}

/** A Pod on `node`, then its kubelet's report: Running, its IP, Ready as given. */
function pod(name: string, opts: { node?: string; labels: Record<string, string>; ip?: string; ready?: boolean; ports?: object[]; spec?: object }): void {
  const containers = [{ name: 'app', image: 'app:1', ports: opts.ports ?? [{ name: 'http', containerPort: 8080 }] }];
  h.sim.createObject('pods', {
    metadata: { name, namespace: 'default', labels: opts.labels },
    spec: { nodeName: opts.node ?? 'n1', containers, ...opts.spec },
  });
  if (opts.ip === undefined) return;
  h.sim.patchObject('pods', name, {
    status: { phase: 'Running', podIP: opts.ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  });
}

describe('the EndpointSlice controller', () => {
  it('packs at most 100 endpoints into a slice and groups Pods by the ports they have', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
    service('big', { selector: { app: 'big' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    for (let i = 0; i < 150; i++) pod(`big-${i}`, { labels: { app: 'big' }, ip: `10.1.${Math.trunc(i / 200)}.${(i % 200) + 1}` });
    for (let i = 0; i < 3; i++) pod(`alt-${i}`, { labels: { app: 'big' }, ip: `10.2.0.${i + 1}`, ports: [{ name: 'http', containerPort: 9090 }] });
    pod('none', { labels: { app: 'big' }, ip: '10.3.0.1', ports: [] });
    const shape = slices('big').map((s) => `${(s.ports ?? []).map((p) => p.port).join(',') || '-'}:${(s.endpoints ?? []).length}`).sort();
    // A Pod without the named port is an endpoint with no ports, in a slice of its own.
    expect(shape).toEqual(['-:1', '8080:100', '8080:50', '9090:3']);
    expect(endpoints('big')).toHaveLength(154);
  });

  it('resolves ports, addresses of the Service family, zones, and hostnames of a headless subdomain', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1', { labels: { 'topology.kubernetes.io/zone': 'zone-a' } }));
    service('v6', { selector: { app: 'dual' }, ipFamilies: ['IPv6'], clusterIP: 'fd00::10', ports: [{ port: 443, targetPort: 8443, protocol: 'TCP', appProtocol: 'https' }] });
    service('db', { selector: { app: 'dual' }, clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] });
    pod('dual-0', { labels: { app: 'dual' }, ip: '10.1.0.7', spec: { hostname: 'dual-0', subdomain: 'db' } });
    h.sim.patchObject('pods', 'dual-0', { status: { podIPs: [{ ip: '10.1.0.7' }, { ip: 'FD00:0:0::7' }] } });

    const [v6] = slices('v6');
    expect(v6).toMatchObject({ addressType: 'IPv6', ports: [{ name: '', port: 8443, protocol: 'TCP', appProtocol: 'https' }] });
    expect(v6?.endpoints).toEqual([
      {
        addresses: ['fd00::7'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: expect.objectContaining({ kind: 'Pod', name: 'dual-0', namespace: 'default' }) as unknown,
        nodeName: 'n1',
        zone: 'zone-a',
      },
    ]);
    const [db] = slices('db');
    expect(db?.metadata.labels).toMatchObject({ 'service.kubernetes.io/headless': '' });
    expect(db?.endpoints?.[0]).toMatchObject({ addresses: ['10.1.0.7'], hostname: 'dual-0' });
    expect(db?.ports).toEqual([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  });

  it('follows selector and label changes, reverts edits to its slices, and leaves other slices alone', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
    service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }, { team: 'a' });
    pod('web-1', { labels: { app: 'web' }, ip: '10.1.0.1' });
    pod('api-1', { labels: { app: 'api' }, ip: '10.1.0.2' });
    expect(endpoints('web')).toEqual(['web-1:10.1.0.1']);

    h.sim.patchObject('services', 'web', { spec: { selector: { app: 'api' } }, metadata: { labels: { team: 'b' } } });
    expect(endpoints('web')).toEqual(['api-1:10.1.0.2']);
    expect(slices('web')[0]?.metadata.labels?.team).toBe('b');
    h.sim.patchObject('pods', 'web-1', { metadata: { labels: { app: 'api' } } });
    expect(endpoints('web')).toEqual(['api-1:10.1.0.2', 'web-1:10.1.0.1']);

    // Someone edits a managed slice: the controller puts it back.
    const name = slices('web')[0]?.metadata.name ?? '';
    h.sim.patchObject('endpointslices.discovery.k8s.io', name, { endpoints: [{ addresses: ['192.0.2.99'] }] }, { type: 'merge' });
    expect(endpoints('web')).toEqual(['api-1:10.1.0.2', 'web-1:10.1.0.1']);

    // A slice of another manager for the same Service is not the controller's business.
    h.sim.createObject('endpointslices.discovery.k8s.io', {
      metadata: { name: 'web-extra', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'other' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.0.2.1'] }],
    });
    expect(endpoints('web')).toContain(':192.0.2.1');

    // Without a selector the controller stops following the Service, and leaves its slices as they were.
    h.sim.patchObject('services', 'web', { spec: { selector: null } }, { type: 'merge' });
    h.sim.deleteObject('pods', 'api-1', 'default', { gracePeriodSeconds: 0 });
    expect(endpoints('web')).toEqual([':192.0.2.1', 'api-1:10.1.0.2', 'web-1:10.1.0.1']);
    h.sim.deleteObject('services', 'web');
    expect(endpoints('web')).toEqual([':192.0.2.1']);
  });

  it('lists not-ready Pods and Pods on missing Nodes as ready with publishNotReadyAddresses; none for ExternalName', async () => {
    h = await startSim();
    service('all', { selector: { app: 'x' }, publishNotReadyAddresses: true, ports: [{ port: 80 }] });
    service('ext', { type: 'ExternalName', externalName: 'example.com', selector: { app: 'x' } });
    pod('x-1', { node: 'ghost', labels: { app: 'x' }, ip: '10.1.0.1', ready: false });
    expect(slices('all')[0]?.endpoints).toEqual([expect.objectContaining({ nodeName: 'ghost', conditions: { ready: true, serving: false, terminating: false } })]);
    expect(slices('ext')).toEqual([]);
  });

  it('keeps the trigger-time annotation of the change that moved the endpoints', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
    const created = service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] });
    const key = 'endpoints.kubernetes.io/last-change-trigger-time';
    expect(slices('web')[0]?.metadata.annotations?.[key]).toBe((created.metadata as { creationTimestamp: string }).creationTimestamp);
    pod('web-1', { labels: { app: 'web' } });
    h.sim.patchObject('pods', 'web-1', { status: { podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2030-01-02T03:04:05Z' }] } });
    expect(slices('web')[0]?.metadata.annotations?.[key]).toBe('2030-01-02T03:04:05Z');
    expect(slices('web')[0]?.metadata.generation).toBe(2);
  });

  it('can be switched off: then slices are only what clients write', async () => {
    h = await startSim({ endpointSliceController: false });
    h.sim.createNode(makeNode('n1'));
    service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] });
    pod('web-1', { labels: { app: 'web' }, ip: '10.1.0.1' });
    expect(h.sim.listObjects('endpointslices.discovery.k8s.io')).toEqual([]);
  });
});

describe('Pods without a kubelet', () => {
  it('are deleted gracefully: marked until a shorter grace period, deleted at once when unscheduled', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
    pod('p', { labels: {}, ip: '10.1.0.1' });
    const watch = new RawWatch(`${h.sim.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${h.sim.resourceVersion}`);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const marked = await call(`${h.sim.url}/api/v1/namespaces/default/pods/p`, { method: 'DELETE' });
    expect(marked.status).toBe(200);
    const meta = marked.body.metadata as { deletionTimestamp: string; deletionGracePeriodSeconds: number; generation: number };
    expect(meta.deletionGracePeriodSeconds).toBe(30);
    expect(meta.generation).toBe(2);
    expect(Date.parse(meta.deletionTimestamp)).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + 29_000);

    // A longer period changes nothing; a shorter one moves the deletion time back.
    const again = await call(`${h.sim.url}/api/v1/namespaces/default/pods/p`, { method: 'DELETE', body: { gracePeriodSeconds: 60 } });
    expect(again.body.metadata).toEqual(marked.body.metadata);
    const shorter = await call(`${h.sim.url}/api/v1/namespaces/default/pods/p?gracePeriodSeconds=10`, { method: 'DELETE' });
    expect((shorter.body.metadata as { deletionGracePeriodSeconds: number }).deletionGracePeriodSeconds).toBe(10);
    expect(Date.parse((shorter.body.metadata as { deletionTimestamp: string }).deletionTimestamp)).toBeLessThan(Date.parse(meta.deletionTimestamp));

    const forced = await call(`${h.sim.url}/api/v1/namespaces/default/pods/p`, { method: 'DELETE', body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } });
    expect(forced.status).toBe(200);
    expect(h.sim.getObject('pods', 'p')).toBeUndefined();
    await watch.waitForEvents(4);
    expect(watch.events.map((e) => `${e.type}:${String((e.object.metadata as { deletionGracePeriodSeconds?: number }).deletionGracePeriodSeconds)}`)).toEqual([
      'MODIFIED:30',
      'MODIFIED:10',
      'MODIFIED:0',
      'DELETED:0',
    ]);
    watch.close();

    h.sim.createObject('pods', { metadata: { name: 'unscheduled', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } });
    expect(h.sim.deleteObject('pods', 'unscheduled')).toBeUndefined();
  });

  it('get the defaults and status fields of the real API, and are validated', async () => {
    h = await startSim();
    pod('p', { labels: {}, ip: '10.1.0.1' });
    const p = h.sim.getObject('pods', 'p') as { spec: Record<string, unknown>; status: Record<string, unknown> };
    expect(p.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30, serviceAccountName: 'default', schedulerName: 'default-scheduler' });
    expect(p.status).toMatchObject({ phase: 'Running', podIP: '10.1.0.1', podIPs: [{ ip: '10.1.0.1' }], qosClass: 'BestEffort' });

    const bad = await call(`${h.sim.url}/api/v1/namespaces/default/pods`, { method: 'POST', body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'a' }, { name: 'a', image: 'x' }] } } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('Pod "bad" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: "a"]');
    const badIP = await call(`${h.sim.url}/api/v1/namespaces/default/pods/p/status`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { status: { podIP: '10.1.0.300' } },
    });
    expect(badIP.status).toBe(422);
    expect(badIP.body.message).toBe('Pod "p" is invalid: status.podIPs[0]: Invalid value: "10.1.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  });
});

describe('EndpointSlices over HTTP', () => {
  it('are listed and watched across namespaces, by label, with discovery and tables', async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
    const watch = new RawWatch(`${h.sim.url}/apis/discovery.k8s.io/v1/endpointslices?watch=true&labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
    await new Promise((r) => setTimeout(r, 50));
    h.sim.createObject('namespaces', { metadata: { name: 'shop' } });
    for (const namespace of ['default', 'shop']) {
      h.sim.createObject('services', { metadata: { name: 'web', namespace }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
      h.sim.createObject('services', { metadata: { name: 'api', namespace }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } });
    }
    const list = await call(`${h.sim.url}/apis/discovery.k8s.io/v1/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
    expect(list.body.kind).toBe('EndpointSliceList');
    expect((list.body.items as Array<{ metadata: { namespace: string } }>).map((s) => s.metadata.namespace)).toEqual(['default', 'shop']);
    await watch.waitForEvents(2);
    expect(watch.events.map((e) => `${e.type}:${String((e.object.metadata as { namespace: string }).namespace)}`)).toEqual(['ADDED:default', 'ADDED:shop']);
    watch.close();

    const resources = await call(`${h.sim.url}/apis/discovery.k8s.io/v1`);
    expect(resources.body.resources).toEqual([
      { name: 'endpointslices', singularName: 'endpointslice', namespaced: true, kind: 'EndpointSlice', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    ]);
    const table = await call(`${h.sim.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    expect((table.body.columnDefinitions as Array<{ name: string }>).map((c) => c.name)).toEqual(['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    expect((table.body.rows as Array<{ cells: unknown[] }>).map((r) => r.cells.slice(1, 4))).toEqual([
      ['IPv4', '<unset>', '<unset>'],
      ['IPv4', '<unset>', '<unset>'],
    ]);
  });
});
