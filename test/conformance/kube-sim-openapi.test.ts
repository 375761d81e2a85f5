/**
 * The Kubernetes simulator's OpenAPI documents, fieldValidation and protobuf request bodies, at
 * the HTTP level. kubectl drives the same through kube-sim-kubectl.test.ts, and the shared suite
 * (test/integration/kube-backends.test.ts) compares them with a real kube-apiserver.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeNode, withMetadataMergeKeys, type ResourceDef } from '../../src/sim/kube/index.js';
import { call, startSim, type SimHarness } from '../helpers/kube-sim.js';

let h: SimHarness;

afterEach(async () => {
  await h.stop();
});

/** What `kubectl create service clusterip x --tcp=80:80` (v1.32) sends: k8s\0 + runtime.Unknown{Service}. */
const SERVICE_PROTOBUF = Buffer.from(
  '6b3873000a0d0a0276311207536572766963651260' +
    '0a1b0a01781200' + '1a00220' + '02a003200380042005a080a036170701201' + '78' +
    '123d0a180a0538302d38301203544350185022060800105' + '01a002800' + '12080a036170701201781a0022' + '09436c7573746572495' + '03a0042005200' + '5a00600068001a020a001a002200',
  'hex',
);

interface Doc {
  paths: Record<string, Record<string, { parameters?: Array<{ name: string }>; 'x-kubernetes-group-version-kind'?: object }>>;
  components: { schemas: Record<string, { 'x-kubernetes-group-version-kind'?: object[]; 'x-kubernetes-preserve-unknown-fields'?: boolean }> };
}

describe('OpenAPI documents', () => {
  const widgets: ResourceDef = {
    group: 'example.com',
    version: 'v1',
    plural: 'widgets',
    singular: 'widget',
    kind: 'Widget',
    namespaced: true,
    nameFormat: 'dns-subdomain',
    statusSubresource: false,
    mergeKeys: withMetadataMergeKeys({}),
  };

  beforeEach(async () => {
    h = await startSim({ resources: [widgets] });
  });

  it('index one v3 document per group-version under the hash of its content', async () => {
    const index = await call(`${h.sim.url}/openapi/v3`);
    const paths = index.body.paths as Record<string, { serverRelativeURL: string }>;
    expect(Object.keys(paths).sort()).toEqual(['api/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1', 'apis/events.k8s.io/v1', 'apis/example.com/v1']);
    for (const { serverRelativeURL } of Object.values(paths)) {
      const res = await fetch(`${h.sim.url}${serverRelativeURL}`);
      const text = await res.text();
      expect(serverRelativeURL.split('hash=')[1]).toBe(createHash('sha512').update(text).digest('hex').toUpperCase());
    }
    const discovery = (await call(`${h.sim.url}/openapi/v3/apis/discovery.k8s.io/v1`)).body as unknown as Doc;
    expect(Object.keys(discovery.paths)).toEqual([
      '/apis/discovery.k8s.io/v1/endpointslices',
      '/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices',
      '/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}',
    ]);
    const patch = discovery.paths['/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}']?.patch;
    expect(patch?.['x-kubernetes-group-version-kind']).toEqual({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' });
    expect(patch?.parameters?.map((p) => p.name)).toEqual(['dryRun', 'fieldManager', 'fieldValidation']);
    // A resource registered without a schema is an open object, so it is still found by kind.
    const example = (await call(`${h.sim.url}/openapi/v3/apis/example.com/v1`)).body as unknown as Doc;
    expect(example.components.schemas['sim.example.com.v1.Widget']).toMatchObject({
      'x-kubernetes-group-version-kind': [{ group: 'example.com', version: 'v1', kind: 'Widget' }],
    });
    expect((await call(`${h.sim.url}/openapi/v3/apis/example.com/v2`)).status).toBe(404);
  });

  it('serve v2 as JSON, or as gnostic protobuf to those who ask for it', async () => {
    const json = await call(`${h.sim.url}/openapi/v2`, { headers: { Accept: 'application/json' } });
    expect(json.body).toMatchObject({ swagger: '2.0', info: { title: 'Kubernetes', version: '1.32' } });
    const definitions = json.body.definitions as Record<string, { properties?: Record<string, { $ref?: string }> }>;
    expect(definitions['io.k8s.api.core.v1.NodeSpec']?.properties?.taints).toMatchObject({ type: 'array', items: { $ref: '#/definitions/io.k8s.api.core.v1.Taint' } });
    const pb = await fetch(`${h.sim.url}/openapi/v2`, { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(pb.headers.get('content-type')).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const bytes = Buffer.from(await pb.arrayBuffer());
    // Document{swagger: "2.0" (field 1), info (field 2): {title: "Kubernetes", version: "1.32"}}
    expect(bytes.subarray(0, 25).toString('hex')).toBe(`0a03322e30${'1212'}0a0a4b756265726e65746573${'1204'}312e3332`);
    expect(bytes.includes(Buffer.from('x-kubernetes-group-version-kind'))).toBe(true);
  });
});

describe('request bodies', () => {
  beforeEach(async () => {
    h = await startSim();
    h.sim.createNode(makeNode('n1'));
  });

  it('reads Services from protobuf as kubectl create service sends them', async () => {
    const res = await fetch(`${h.sim.url}/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/vnd.kubernetes.protobuf,application/json' },
      body: SERVICE_PROTOBUF,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    const svc = (await res.json()) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    expect(svc.metadata).toMatchObject({ name: 'x', namespace: 'default', labels: { app: 'x' } });
    expect(svc.metadata).not.toHaveProperty('generateName');
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', selector: { app: 'x' }, ports: [{ name: '80-80', port: 80, protocol: 'TCP', targetPort: 80 }] });
    expect(svc.spec.ports).toEqual([{ name: '80-80', port: 80, protocol: 'TCP', targetPort: 80 }]);

    const node = await call(`${h.sim.url}/api/v1/nodes`, { method: 'POST', contentType: 'application/vnd.kubernetes.protobuf', body: {} });
    expect(node.status).toBe(415);
    expect(node.body.message).toBe('the body of the request was in an unknown format - accepted media types include: application/json');
    const garbage = await fetch(`${h.sim.url}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' }, body: Buffer.from('not protobuf') });
    expect(garbage.status).toBe(400);
  });

  it('drops unknown fields with a warning (Warn), silently (Ignore), and refuses them (Strict), over HTTP only', async () => {
    const body = { metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80, colour: 'red' }] } };
    const warned = await call(`${h.sim.url}/api/v1/namespaces/default/services`, { method: 'POST', body });
    expect(warned.status).toBe(201);
    expect(warned.headers.get('warning')).toBe('299 - "unknown field \\"spec.ports[0].colour\\""');
    expect((warned.body.spec as { ports: object[] }).ports[0]).not.toHaveProperty('colour');
    const strict = await call(`${h.sim.url}/api/v1/namespaces/default/services/web?fieldValidation=Strict`, { method: 'PUT', body: { ...body, spec: { ...body.spec, clusterIP: 'x' } } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.ports[0].colour"');
    const badMode = await call(`${h.sim.url}/api/v1/nodes/n1?fieldValidation=strict`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: {} });
    expect(badMode.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"');
    const mergeStrict = await call(`${h.sim.url}/api/v1/nodes/n1?fieldValidation=Strict`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { big: 1e6 } } });
    expect(mergeStrict.status).toBe(422);
    expect(mergeStrict.body.message).toMatch(/^ "" is invalid: patch: Invalid value: "\{.*\\"big\\":1000000.*\}": strict decoding error: unknown field "spec\.big"$/);
    const smpStrict = await call(`${h.sim.url}/api/v1/nodes/n1?fieldValidation=Strict`, { method: 'PATCH', contentType: 'application/strategic-merge-patch+json', body: { spec: { big: 1e6, small: 0.5, list: ['a', 2] } } });
    expect(smpStrict.body.message).toBe(
      ' "" is invalid: patch: Invalid value: "map[spec:map[big:1e+06 list:[a 2] small:0.5]]": strict decoding error: unknown field "spec.big", unknown field "spec.list", unknown field "spec.small"',
    );
    // The simulator's own methods write what they are given.
    h.sim.patchObject('nodes', 'n1', { spec: { colour: 'red' } }, { type: 'merge' });
    expect(h.sim.getNode('n1')?.spec).toHaveProperty('colour', 'red');
  });
});
