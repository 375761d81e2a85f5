/**
 * The pure half of the EndpointSlice controller (k8s.io/endpointslice, utils.go): which Pods a
 * Service's slices list, and how each becomes an endpoint. No store access here.
 */
import { canonicalAddress } from '../kinds/endpointslice.js';
import { parseIP } from '../ip.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt, type Json, type JsonObject } from '../json.js';

export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const LABEL_HEADLESS = 'service.kubernetes.io/headless';
const LABEL_ZONE = 'topology.kubernetes.io/zone';
const RESERVED_LABELS = new Set([LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS]);

export type AddressType = 'IPv4' | 'IPv6';

function objects(list: Json[] | undefined): JsonObject[] {
  return (list ?? []).filter(isObject);
}

function meta(obj: JsonObject | undefined): JsonObject {
  return objectAt(obj, 'metadata') ?? {};
}

export function labelsOf(obj: JsonObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(meta(obj), 'labels') ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** spec.selector as a map, or undefined when the Service selects nothing (no selector, or an empty one). */
export function selectorOf(service: JsonObject): Record<string, string> | undefined {
  const selector = objectAt(objectAt(service, 'spec'), 'selector');
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(selector)) out[k] = typeof v === 'string' ? v : String(v);
  return out;
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** getAddressTypesForService: from spec.ipFamilies, else from the cluster IP, else both. */
export function addressTypesOf(service: JsonObject): AddressType[] {
  const spec = objectAt(service, 'spec') ?? {};
  const types = new Set<AddressType>();
  for (const family of arrayAt(spec, 'ipFamilies') ?? []) {
    if (family === 'IPv4') types.add('IPv4');
    if (family === 'IPv6') types.add('IPv6');
  }
  if (types.size > 0) return [...types];
  const clusterIP = stringAt(spec, 'clusterIP') ?? '';
  if (clusterIP !== '' && clusterIP !== 'None') return [parseIP(clusterIP)?.v4 === false ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

function isReady(pod: JsonObject): boolean {
  return objects(arrayAt(objectAt(pod, 'status'), 'conditions')).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** ShouldPodBeInEndpoints(pod, includeTerminating=true): not finished, and with an IP. */
export function inEndpoints(pod: JsonObject): boolean {
  const status = objectAt(pod, 'status') ?? {};
  if (status.phase === 'Failed' || status.phase === 'Succeeded') return false;
  return (stringAt(status, 'podIP') ?? '') !== '' || objects(arrayAt(status, 'podIPs')).length > 0;
}

/** findPort: a numeric targetPort as is, a named one from the Pod's containers (and sidecars). */
function findPort(pod: JsonObject, servicePort: JsonObject): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  const protocol = stringAt(servicePort, 'protocol') ?? 'TCP';
  const spec = objectAt(pod, 'spec');
  const sidecars = objects(arrayAt(spec, 'initContainers')).filter((c) => c.restartPolicy === 'Always');
  for (const container of [...objects(arrayAt(spec, 'containers')), ...sidecars]) {
    for (const port of objects(arrayAt(container, 'ports'))) {
      if (port.name === target && (stringAt(port, 'protocol') ?? 'TCP') === protocol && typeof port.containerPort === 'number') return port.containerPort;
    }
  }
  return undefined;
}

/** getEndpointPorts: one port per Service port the Pod has. */
export function endpointPorts(service: JsonObject, pod: JsonObject): JsonObject[] {
  const spec = objectAt(service, 'spec') ?? {};
  const ports: JsonObject[] = [];
  for (const servicePort of objects(arrayAt(spec, 'ports'))) {
    const port = findPort(pod, servicePort);
    if (port === undefined) continue;
    const entry: JsonObject = { name: stringAt(servicePort, 'name') ?? '', port, protocol: stringAt(servicePort, 'protocol') ?? 'TCP' };
    if (typeof servicePort.appProtocol === 'string') entry.appProtocol = servicePort.appProtocol;
    ports.push(entry);
  }
  return ports;
}

/** podToEndpoint. `node` is undefined when the Pod's node does not exist. */
export function podToEndpoint(pod: JsonObject, node: JsonObject | undefined, service: JsonObject, addressType: AddressType): JsonObject {
  const spec = objectAt(pod, 'spec') ?? {};
  const serviceSpec = objectAt(service, 'spec') ?? {};
  const serving = isReady(pod);
  const terminating = typeof meta(pod).deletionTimestamp === 'string';
  const publishNotReady = serviceSpec.publishNotReadyAddresses === true;
  const addresses = objects(arrayAt(objectAt(pod, 'status'), 'podIPs'))
    .map((p) => (typeof p.ip === 'string' ? p.ip : ''))
    .filter((ip) => {
      const parsed = parseIP(ip);
      return parsed !== undefined && (addressType === 'IPv4') === parsed.v4;
    })
    .map(canonicalAddress)
    .sort();
  const endpoint: JsonObject = {
    addresses,
    conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
  };
  const hostname = stringAt(spec, 'hostname') ?? '';
  const sameNamespace = meta(pod).namespace === meta(service).namespace;
  if (hostname !== '' && spec.subdomain === meta(service).name && sameNamespace) endpoint.hostname = hostname;
  endpoint.targetRef = { kind: 'Pod', namespace: meta(pod).namespace ?? '', name: meta(pod).name ?? '', uid: meta(pod).uid ?? '' };
  const nodeName = stringAt(spec, 'nodeName') ?? '';
  if (nodeName !== '') endpoint.nodeName = nodeName;
  const zone = labelsOf(node)[LABEL_ZONE] ?? '';
  if (zone !== '') endpoint.zone = zone;
  return endpoint;
}

/** hashEndpoint: an endpoint is the same one while its addresses, hostname and Pod are. */
export function endpointKey(endpoint: JsonObject): string {
  const addresses = (arrayAt(endpoint, 'addresses') ?? []).filter((a): a is string => typeof a === 'string').sort();
  const ref = objectAt(endpoint, 'targetRef');
  return JSON.stringify([addresses, stringAt(endpoint, 'hostname') ?? '', stringAt(ref, 'namespace') ?? '', stringAt(ref, 'name') ?? '']);
}

/** EndpointsEqualBeyondHash: node, zone, conditions and target (without its resourceVersion). */
export function sameEndpoint(a: JsonObject, b: JsonObject): boolean {
  const ref = (e: JsonObject) => {
    const { resourceVersion: _rv, ...rest } = objectAt(e, 'targetRef') ?? {};
    return rest;
  };
  const conditions = (e: JsonObject) => objectAt(e, 'conditions') ?? {};
  return (
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    conditions(a).ready === conditions(b).ready &&
    conditions(a).serving === conditions(b).serving &&
    conditions(a).terminating === conditions(b).terminating &&
    deepEqual(ref(a), ref(b))
  );
}

/** NewPortMapKey: slices group endpoints by the exact set of ports they have. */
export function portsKey(ports: Json[] | undefined): string {
  return JSON.stringify(
    objects(ports)
      .map((p) => [p.name ?? '', p.port ?? null, p.protocol ?? '', p.appProtocol ?? null])
      .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)),
  );
}

/** setEndpointSliceLabels: the Service's own labels plus the reserved ones; `changed` when the Service's differ. */
export function sliceLabels(slice: JsonObject | undefined, service: JsonObject): { labels: Record<string, string>; changed: boolean } {
  const own = Object.fromEntries(Object.entries(labelsOf(slice)).filter(([k]) => !RESERVED_LABELS.has(k)));
  const fromService = Object.fromEntries(Object.entries(labelsOf(service)).filter(([k]) => !RESERVED_LABELS.has(k)));
  const changed = !deepEqual(own, fromService);
  const labels: Record<string, string> = { ...fromService };
  const clusterIP = stringAt(objectAt(service, 'spec'), 'clusterIP') ?? '';
  if (clusterIP === '' || clusterIP === 'None') labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = stringAt(meta(service), 'name') ?? '';
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return { labels, changed };
}

/** ownedBy: the slice names this very Service (same uid) as an owner. */
export function ownedBy(slice: JsonObject, service: JsonObject): boolean {
  return objects(arrayAt(meta(slice), 'ownerReferences')).some((o) => o.uid === meta(service).uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

/** getEndpointSlicePrefix: "<service>-" unless that is no valid name prefix. */
function namePrefix(serviceName: string): string {
  const prefix = `${serviceName}-`;
  return prefix.length <= 253 && /^[a-z0-9]([-a-z0-9.]*)?$/.test(prefix) ? prefix : serviceName;
}

/** newEndpointSlice: empty, owned by the Service, named after it. */
export function newSlice(service: JsonObject, ports: JsonObject[], addressType: AddressType): JsonObject {
  const m = meta(service);
  const name = stringAt(m, 'name') ?? '';
  return {
    metadata: {
      generateName: namePrefix(name),
      namespace: m.namespace ?? '',
      labels: sliceLabels(undefined, service).labels,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: m.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** placeholderSliceCompare: a placeholder is an empty slice with the same namespace, labels and address type. */
export function isPlaceholderLike(slice: JsonObject, placeholder: JsonObject): boolean {
  const empty = (v: Json | undefined) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
  return (
    meta(slice).namespace === meta(placeholder).namespace &&
    deepEqual(labelsOf(slice), labelsOf(placeholder)) &&
    slice.addressType === placeholder.addressType &&
    empty(slice.endpoints) &&
    empty(slice.ports)
  );
}
