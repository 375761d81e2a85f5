import { arrayAt, isObject, objectAt, stringAt, type Json, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { withMetadataMergeKeys } from './common.js';

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

function ports(svc: JsonObject): JsonObject[] {
  return (arrayAt(objectAt(svc, 'spec'), 'ports') ?? []).filter(isObject);
}

/** The service CIDR 10.96.0.0/12 like kubeadm's default; .1 is the `kubernetes` service. */
function allocateClusterIP(existing: Iterable<JsonObject>): string {
  const used = new Set<string>();
  for (const svc of existing) used.add(stringAt(objectAt(svc, 'spec'), 'clusterIP') ?? '');
  for (let i = 10; ; i++) {
    const ip = `10.96.${Math.trunc(i / 256)}.${i % 256}`;
    if (!used.has(ip)) return ip;
  }
}

function allocateNodePort(existing: Iterable<JsonObject>, taken: Set<number>): number {
  for (const svc of existing) {
    for (const p of ports(svc)) if (typeof p.nodePort === 'number') taken.add(p.nodePort);
  }
  let port = 30000;
  while (taken.has(port)) port++;
  taken.add(port);
  return port;
}

function prepareService(svc: JsonObject, existing: () => Iterable<JsonObject>): void {
  const spec = objectAt(svc, 'spec') ?? {};
  svc.spec = spec;
  svc.status = { loadBalancer: {} };
  const type = (spec.type ??= 'ClusterIP');
  spec.sessionAffinity ??= 'None';
  if (type === 'ExternalName') return;
  if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = allocateClusterIP(existing());
  spec.clusterIPs ??= [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  const exposed = type === 'NodePort' || type === 'LoadBalancer';
  if (exposed) spec.externalTrafficPolicy ??= 'Cluster';
  if (type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  const taken = new Set<number>();
  for (const port of ports(svc)) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port ?? null;
    if (exposed && port.nodePort === undefined) port.nodePort = allocateNodePort(existing(), taken);
  }
}

function validateService(svc: JsonObject): FieldError[] {
  const spec = objectAt(svc, 'spec') ?? {};
  const errs: FieldError[] = [];
  const type = stringAt(spec, 'type') ?? 'ClusterIP';
  if (!(TYPES as readonly string[]).includes(type)) errs.push(fieldErrors.notSupported('spec.type', type, TYPES));
  const list = arrayAt(spec, 'ports') ?? [];
  if (type !== 'ExternalName' && spec.clusterIP !== 'None' && list.length === 0) errs.push(fieldErrors.required('spec.ports'));
  list.forEach((p, i) => {
    const port = isObject(p) ? p.port : undefined;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      errs.push(fieldErrors.invalid(`spec.ports[${i}].port`, port ?? 0, 'must be between 1 and 65535, inclusive'));
    }
  });
  return errs;
}

function externalIP(svc: JsonObject): string {
  const spec = objectAt(svc, 'spec') ?? {};
  const external = (arrayAt(spec, 'externalIPs') ?? []).filter((ip): ip is string => typeof ip === 'string');
  switch (spec.type) {
    case 'ExternalName':
      return stringAt(spec, 'externalName') ?? '<none>';
    case 'LoadBalancer': {
      const ingress = arrayAt(objectAt(objectAt(svc, 'status'), 'loadBalancer'), 'ingress') ?? [];
      const ips = ingress.map((i: Json) => (isObject(i) ? (stringAt(i, 'ip') ?? stringAt(i, 'hostname')) : undefined));
      const all = [...ips.filter((ip): ip is string => ip !== undefined), ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    default:
      return external.length > 0 ? external.join(',') : '<none>';
  }
}

function portsCell(svc: JsonObject): string {
  const cells = ports(svc).map((p) => {
    const node = typeof p.nodePort === 'number' ? `:${p.nodePort}` : '';
    return `${String(p.port)}${node}/${stringAt(p, 'protocol') ?? 'TCP'}`;
  });
  return cells.length > 0 ? cells.join(',') : '<none>';
}

function selectorCell(svc: JsonObject): string {
  const selector = Object.entries(objectAt(objectAt(svc, 'spec'), 'selector') ?? {});
  return selector.length > 0 ? selector.map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>';
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'services',
  singular: 'service',
  kind: 'Service',
  namespaced: true,
  nameFormat: 'dns-1035-label',
  shortNames: ['svc'],
  categories: ['all'],
  createOnUpdate: true,
  schema: 'io.k8s.api.core.v1.Service',
  statusSubresource: true,
  returnDeletedObject: true,
  mergeKeys: withMetadataMergeKeys({ 'spec.ports': { mergeKey: 'port' }, 'status.conditions': { mergeKey: 'type' } }),
  columns: [
    nameColumn,
    { name: 'Type', type: 'string', description: 'The type of the service', cell: (s) => stringAt(objectAt(s, 'spec'), 'type') ?? '' },
    { name: 'Cluster-IP', type: 'string', description: 'The cluster IP of the service', cell: (s) => stringAt(objectAt(s, 'spec'), 'clusterIP') || '<none>' },
    { name: 'External-IP', type: 'string', description: 'The external IP of the service', cell: externalIP },
    { name: 'Port(s)', type: 'string', description: 'The ports of the service', cell: portsCell },
    ageColumn,
    { name: 'Selector', type: 'string', priority: 1, description: 'The selector of the service', cell: selectorCell },
  ],
  prepareForCreate: prepareService,
  validate: (svc) => validateService(svc),
};
