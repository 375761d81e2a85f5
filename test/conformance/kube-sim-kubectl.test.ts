/** The Kubernetes API simulator driven by the machine's real kubectl (a dispatcher over 1.27-1.33). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeNode, microTime } from '../../src/sim/kube/index.js';
import { kubectl, startSim, type SimHarness } from '../helpers/kube-sim.js';

let h: SimHarness;
const run = (...args: string[]) => kubectl(h.kubeconfig, args);

function spec(name: string): { taints?: Array<{ key: string; value?: string; effect: string }>; unschedulable?: boolean } {
  return (h.sim.getNode(name)?.spec ?? {}) as ReturnType<typeof spec>;
}

describe('kubectl', () => {
  beforeEach(async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1', { taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] }));
    h.sim.createNode(makeNode('n2', { ready: 'False' }));
    h.sim.createNode(makeNode('n3', { labels: { 'node-role.kubernetes.io/control-plane': '' } }));
  });

  afterEach(async () => {
    await h.stop();
  });

  it('gets nodes as a table and as JSON', async () => {
    const table = await run('get', 'nodes');
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(lines[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    expect(lines.slice(1).map((l) => [l[0], l[1], l[2], l[4]])).toEqual([
      ['n1', 'Ready', '<none>', 'v1.32.4'],
      ['n2', 'NotReady', '<none>', 'v1.32.4'],
      ['n3', 'Ready', 'control-plane', 'v1.32.4'],
    ]);
    const wide = await run('get', 'nodes', '-o', 'wide');
    expect(wide.stdout).toMatch(/INTERNAL-IP\s+EXTERNAL-IP/);
    const json = await run('get', 'nodes', '-o', 'json');
    const list = JSON.parse(json.stdout) as { kind: string; items: Array<{ kind: string; metadata: { name: string } }> };
    expect(list.kind).toBe('List');
    expect(list.items.map((n) => `${n.kind}/${n.metadata.name}`)).toEqual(['Node/n1', 'Node/n2', 'Node/n3']);
    const user = h.sim.requests.find((r) => r.path === '/api/v1/nodes')?.userAgent ?? '';
    expect(user).toMatch(/^kubectl/);
  });

  it('taints with a strategic merge patch that keeps the other taints, and removes the taint again', async () => {
    const add = await run('taint', 'nodes', 'n1', 'ToBeDeletedByClusterAutoscaler=123:NoSchedule');
    expect(add.stdout.trim()).toBe('node/n1 tainted');
    expect(spec('n1').taints).toEqual([
      { key: 'ToBeDeletedByClusterAutoscaler', value: '123', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'web', effect: 'NoSchedule' },
    ]);
    expect(h.sim.requests.some((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/n1' && r.query.includes('fieldManager=kubectl-taint'))).toBe(true);
    const remove = await run('taint', 'nodes', 'n1', 'ToBeDeletedByClusterAutoscaler-');
    expect(remove.stdout.trim()).toBe('node/n1 untainted');
    expect(spec('n1').taints).toEqual([{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }]);
  });

  it('labels, cordons and deletes nodes', async () => {
    expect((await run('label', 'nodes', 'n2', 'pool=web')).code).toBe(0);
    expect(h.sim.getNode('n2')?.metadata).toMatchObject({ labels: { pool: 'web' } });
    expect((await run('get', 'nodes', '-l', 'pool=web', '-o', 'name')).stdout.trim()).toBe('node/n2');
    expect((await run('label', 'nodes', 'n2', 'pool-')).code).toBe(0);
    expect(h.sim.getNode('n2')?.metadata).not.toHaveProperty('labels.pool');

    expect((await run('cordon', 'n3')).stdout.trim()).toBe('node/n3 cordoned');
    expect(spec('n3').unschedulable).toBe(true);
    expect((await run('get', 'node', 'n3', '--no-headers')).stdout).toMatch(/^n3\s+Ready,SchedulingDisabled\s/);

    const del = await run('delete', 'node', 'n1');
    expect(del.stdout.trim()).toBe('node "n1" deleted');
    expect(h.sim.getNode('n1')).toBeUndefined();
  });

  it('fails on a missing node with the NotFound message', async () => {
    const missing = await run('get', 'node', 'missing');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): nodes "missing" not found');
  });

  it('describes a node with the events recorded about it', async () => {
    const uid = (h.sim.getNode('n1')?.metadata as { uid: string }).uid;
    h.sim.createObject('events.events.k8s.io', {
      metadata: { name: 'n1.dns', namespace: 'default' },
      eventTime: microTime(),
      reportingController: 'epictetus.example.com/controller',
      reportingInstance: 'epictetus-0',
      action: 'UpdateDNS',
      reason: 'RecordsUpdated',
      type: 'Normal',
      note: 'A records updated',
      regarding: { kind: 'Node', name: 'n1', uid },
    });
    const describe = await run('describe', 'node', 'n1');
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/^Taints:\s+dedicated=web:NoSchedule$/m);
    expect(describe.stdout).toMatch(/Normal\s+RecordsUpdated\s+\S+\s+epictetus\.example\.com\/controller\s+A records updated/);
    expect((await run('get', 'events', '--no-headers')).stdout).toMatch(/Normal\s+RecordsUpdated\s+node\/n1\s+A records updated/);
  });

  it('lists namespaced resources and discovery', async () => {
    const ns = await run('get', 'namespaces', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name');
    expect(ns.stdout.trim().split('\n')).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    const resources = await run('api-resources', '--no-headers');
    expect(resources.stdout).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
    expect((await run('get', 'leases', '-A')).code).toBe(0);
  });
});

describe('kubectl creating, applying and explaining', () => {
  let dir: string;

  beforeEach(async () => {
    h = await startSim();
    dir = mkdtempSync(join(tmpdir(), 'kubectl-sim-'));
  });

  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await h.stop();
  });

  it('creates Services and Namespaces from protobuf bodies, as the typed client sends them', async () => {
    expect((await run('create', 'service', 'nodeport', 'np', '--tcp=8080:80')).stdout.trim()).toBe('service/np created');
    const create = h.sim.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/default/services');
    expect(create?.status).toBe(201);
    expect(h.sim.getObject('services', 'np')?.spec).toMatchObject({
      type: 'NodePort',
      selector: { app: 'np' },
      ports: [{ name: '8080-80', port: 8080, protocol: 'TCP', targetPort: 80, nodePort: 30000 }],
    });
    expect((await run('create', 'namespace', 'shop')).stdout.trim()).toBe('namespace/shop created');
    expect(h.sim.getObject('namespaces', 'shop')?.status).toEqual({ phase: 'Active' });
  });

  it('lists EndpointSlices and explains their fields', async () => {
    h.sim.createNode(makeNode('n1'));
    h.sim.createObject('services', { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
    for (const i of [1, 2, 3, 4]) {
      h.sim.createObject('pods', { metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'app:1' }] } });
      h.sim.patchObject('pods', `web-${i}`, { status: { podIP: `10.1.0.${i}`, conditions: [{ type: 'Ready', status: 'True' }] } });
    }
    const table = await run('get', 'endpointslices', '--no-headers');
    expect(table.stdout.trim().split(/\s+/).slice(1, 7)).toEqual(['IPv4', '8080', '10.1.0.1,10.1.0.2,10.1.0.3', '+', '1', 'more...']);
    const named = await run('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'name');
    expect(named.stdout.trim()).toMatch(/^endpointslice\.discovery\.k8s\.io\/web-\w{5}$/);
    const explain = await run('explain', 'endpointslice.endpoints.conditions');
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^GROUP:\s+discovery\.k8s\.io$/m);
    expect(explain.stdout).toMatch(/^FIELD: conditions <EndpointConditions>$/m);
    expect(explain.stdout).toMatch(/^ {2}ready\t<boolean>$/m);
  });

  it('with kubectl 1.27, reads OpenAPI v2 as protobuf to create from files and explain', async () => {
    await h.stop();
    h = await startSim({ version: 'v1.27.16' });
    const node = join(dir, 'node.yaml');
    writeFileSync(node, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: old\nspec:\n  unschedulable: true\n');
    expect((await run('create', '-f', node)).stdout.trim()).toBe('node/old created');
    expect(h.sim.requests.find((r) => r.path === '/openapi/v2')?.status).toBe(200);
    expect(h.sim.getNode('old')?.spec).toEqual({ unschedulable: true });
    writeFileSync(node, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: typo\nspec:\n  unschedulabel: true\n');
    expect((await run('create', '-f', node)).stderr).toContain('strict decoding error: unknown field "spec.unschedulabel"');
    const explain = await run('explain', 'node.spec.taints');
    expect(explain.stdout).toMatch(/^FIELD: taints <\[\]Taint>$/m);
    expect(explain.stdout).toMatch(/^ {2}effect\t<string> -required-$/m);
    const svc = join(dir, 'svc.yaml');
    writeFileSync(svc, 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{name: http, port: 80}]\n');
    expect((await run('apply', '-f', svc)).stdout.trim()).toBe('service/web created');
    writeFileSync(svc, 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{name: http, port: 80}, {name: https, port: 443}]\n');
    expect((await run('apply', '-f', svc)).stdout.trim()).toBe('service/web configured');
    expect((h.sim.getObject('services', 'web')?.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port)).toEqual([80, 443]);
  });
});

describe('kubectl against other servers', () => {
  afterEach(async () => {
    await h.stop();
  });

  it('runs the kubectl version matching /version', async () => {
    h = await startSim({ version: 'v1.27.16' });
    h.sim.createNode(makeNode('n1'));
    const version = await run('version', '-o', 'json');
    expect(JSON.parse(version.stdout)).toMatchObject({ clientVersion: { minor: '27' }, serverVersion: { gitVersion: 'v1.27.16' } });
    expect((await run('get', 'nodes', '-o', 'name')).stdout.trim()).toBe('node/n1');
  });

  it('is anonymous on a server that wants a token: client-go sends credentials only over TLS', async () => {
    h = await startSim({ token: 'kube-token' });
    const nodes = await run('get', 'nodes');
    expect(nodes.code).not.toBe(0);
    expect(nodes.stderr).toContain('Error from server (Forbidden)');
    expect(h.sim.requests.find((r) => r.path === '/api')?.status).toBe(403);
  });
});
