import { formatIP, endpointIPErrors, legacyIPErrors, parseIP, strictIPErrors } from '../ip.js';
import { arrayAt, deepEqual, isObject, objectAt, stringAt, type Json, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { checkJsonType, validateLabelValue, validateName, validateQualifiedName } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

/** pkg/apis/discovery/validation: the limits of a v1 EndpointSlice. */
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'] as const;
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const MAX_ENDPOINTS = 1000;
const MAX_ZONE_HINTS = 8;
const MAX_NODE_HINTS = 8;

function objects(list: Json[] | undefined): JsonObject[] {
  return (list ?? []).filter(isObject);
}

function validateAddress(addressType: string, path: string, i: number, address: string): FieldError[] {
  const indexed = `${path}[${i}]`;
  switch (addressType) {
    case 'IPv4': {
      const errs = legacyIPErrors(indexed, address);
      if (errs.length > 0) return errs;
      if (!parseIP(address)?.v4) errs.push(fieldErrors.invalid(path, address, 'must be an IPv4 address'));
      return [...errs, ...endpointIPErrors(indexed, address)];
    }
    case 'IPv6': {
      const errs = strictIPErrors(indexed, address);
      if (errs.length > 0) return errs;
      if (parseIP(address)?.v4) errs.push(fieldErrors.invalid(path, address, 'must be an IPv6 address'));
      return [...errs, ...endpointIPErrors(indexed, address)];
    }
    case 'FQDN':
      return validateFQDN(indexed, address);
    default:
      return [];
  }
}

/** validation.IsFullyQualifiedDomainName. */
function validateFQDN(field: string, value: string): FieldError[] {
  if (value === '') return [fieldErrors.required(field)];
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const subdomain = validateName(field, name, 'dns-subdomain');
  if (subdomain.length > 0) return subdomain;
  if (name.split('.').length < 2) return [fieldErrors.invalid(field, name, 'should be a domain with at least two segments separated by dots')];
  return name.split('.').flatMap((label) => validateName(field, label, 'dns-label'));
}

function validateHints(hints: JsonObject, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const zones = objects(arrayAt(hints, 'forZones'));
  if (zones.length > MAX_ZONE_HINTS) return [fieldErrors.tooMany(`${path}.forZones`, zones.length, MAX_ZONE_HINTS)];
  const seenZones = new Set<string>();
  zones.forEach((zone, i) => {
    const name = stringAt(zone, 'name') ?? '';
    const field = `${path}.forZones[${i}].name`;
    if (seenZones.has(name)) errs.push(fieldErrors.duplicate(field, name));
    seenZones.add(name);
    errs.push(...validateLabelValue(field, name));
  });
  const nodes = objects(arrayAt(hints, 'forNodes'));
  if (nodes.length > MAX_NODE_HINTS) return [...errs, fieldErrors.tooMany(`${path}.forNodes`, nodes.length, MAX_NODE_HINTS)];
  const seenNodes = new Set<string>();
  nodes.forEach((node, i) => {
    const name = stringAt(node, 'name') ?? '';
    const field = `${path}.forNodes[${i}].name`;
    if (seenNodes.has(name)) errs.push(fieldErrors.duplicate(field, name));
    seenNodes.add(name);
    errs.push(...validateName(field, name, 'dns-subdomain'));
  });
  return errs;
}

function validateEndpoints(slice: JsonObject, addressType: string): FieldError[] {
  const endpoints = objects(arrayAt(slice, 'endpoints'));
  if (endpoints.length > MAX_ENDPOINTS) return [fieldErrors.tooMany('endpoints', endpoints.length, MAX_ENDPOINTS)];
  const errs: FieldError[] = [];
  endpoints.forEach((endpoint, i) => {
    const path = `endpoints[${i}]`;
    const addresses = (arrayAt(endpoint, 'addresses') ?? []).filter((a): a is string => typeof a === 'string');
    if (addresses.length === 0) errs.push(fieldErrors.required(`${path}.addresses`, 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES) errs.push(fieldErrors.tooMany(`${path}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((address, j) => errs.push(...validateAddress(addressType, `${path}.addresses`, j, address)));
    const nodeName = stringAt(endpoint, 'nodeName');
    if (nodeName !== undefined) errs.push(...validateName(`${path}.nodeName`, nodeName, 'dns-subdomain'));
    const hostname = stringAt(endpoint, 'hostname');
    if (hostname !== undefined) errs.push(...validateName(`${path}.hostname`, hostname, 'dns-label'));
    const hints = objectAt(endpoint, 'hints');
    if (hints) errs.push(...validateHints(hints, `${path}.hints`));
  });
  return errs;
}

function validatePorts(slice: JsonObject): FieldError[] {
  const ports = objects(arrayAt(slice, 'ports'));
  if (ports.length > MAX_PORTS) return [fieldErrors.tooMany('ports', ports.length, MAX_PORTS)];
  const errs: FieldError[] = [];
  const names: string[] = [];
  ports.forEach((port, i) => {
    const path = `ports[${i}]`;
    const name = stringAt(port, 'name') ?? '';
    if (name !== '') errs.push(...validateName(`${path}.name`, name, 'dns-label'));
    if (names.includes(name)) errs.push(fieldErrors.duplicate(`${path}.name`, name));
    else names.push(name);
    const protocol = stringAt(port, 'protocol');
    if (protocol === undefined) errs.push(fieldErrors.required(`${path}.protocol`));
    else if (!(PROTOCOLS as readonly string[]).includes(protocol)) errs.push(fieldErrors.notSupported(`${path}.protocol`, protocol, PROTOCOLS));
    const appProtocol = stringAt(port, 'appProtocol');
    if (appProtocol !== undefined) errs.push(...validateQualifiedName(`${path}.appProtocol`, appProtocol));
  });
  return errs;
}

/** ValidateEndpointSlice, and ValidateEndpointSliceUpdate when `old` is given. */
function validateEndpointSlice(slice: JsonObject, old: JsonObject | undefined): FieldError[] {
  const addressType = stringAt(slice, 'addressType') ?? '';
  const errs: FieldError[] = [];
  if (addressType === '') errs.push(fieldErrors.required('addressType'));
  else if (!(ADDRESS_TYPES as readonly string[]).includes(addressType)) errs.push(fieldErrors.notSupported('addressType', addressType, ADDRESS_TYPES));
  errs.push(...validatePorts(slice));
  const endpointErrs = validateEndpoints(slice, addressType);
  // Endpoints an update leaves unchanged are not judged again (older releases accepted them).
  if (!(old && deepEqual(old.endpoints ?? null, slice.endpoints ?? null))) errs.push(...endpointErrs);
  if (old && old.addressType !== slice.addressType) errs.push(fieldErrors.invalid('addressType', addressType, 'field is immutable'));
  return errs;
}

/** Wrong JSON types fail decoding (400), and defaulting fills in port names and protocols. */
function decodeEndpointSlice(slice: JsonObject): void {
  checkJsonType(endpointSlices, slice.addressType, 'string', 'EndpointSlice', 'addressType', 'v1.AddressType');
  for (const endpoint of objects(arrayAt(slice, 'endpoints'))) {
    for (const address of arrayAt(endpoint, 'addresses') ?? []) checkJsonType(endpointSlices, address, 'string', 'Endpoint', 'endpoints.addresses');
    const conditions = objectAt(endpoint, 'conditions');
    for (const condition of ['ready', 'serving', 'terminating']) {
      checkJsonType(endpointSlices, conditions?.[condition], 'bool', 'EndpointConditions', `endpoints.conditions.${condition}`);
    }
    for (const field of ['nodeName', 'hostname', 'zone']) checkJsonType(endpointSlices, endpoint[field], 'string', 'Endpoint', `endpoints.${field}`);
  }
  for (const port of objects(arrayAt(slice, 'ports'))) {
    checkJsonType(endpointSlices, port.port, 'int32', 'EndpointPort', 'ports.port');
    checkJsonType(endpointSlices, port.name, 'string', 'EndpointPort', 'ports.name');
    checkJsonType(endpointSlices, port.protocol, 'string', 'EndpointPort', 'ports.protocol', 'v1.Protocol');
    port.name ??= '';
    port.protocol ??= 'TCP';
  }
  // Lists without omitempty, stored as protobuf: an empty one reads back as null.
  for (const list of ['endpoints', 'ports']) {
    const value = slice[list];
    if (!Array.isArray(value) || value.length === 0) slice[list] = null;
  }
  for (const endpoint of objects(arrayAt(slice, 'endpoints'))) {
    if (endpoint.conditions === undefined || endpoint.conditions === null) endpoint.conditions = {};
    const addresses = endpoint.addresses;
    if (!Array.isArray(addresses) || addresses.length === 0) endpoint.addresses = null;
  }
}

/** The v1 API drops writes to deprecatedTopology (dropTopologyOnV1). */
function dropDeprecatedTopology(slice: JsonObject): void {
  for (const endpoint of objects(arrayAt(slice, 'endpoints'))) delete endpoint.deprecatedTopology;
}

/** formatDiscoveryPorts / formatDiscoveryEndpoints: the first three, then "+ N more...". */
function firstThree(values: string[]): string {
  if (values.length === 0) return '<unset>';
  const shown = values.slice(0, 3).join(',');
  return values.length > 3 ? `${shown} + ${values.length - 3} more...` : shown;
}

function portsCell(slice: JsonObject): string {
  return firstThree(objects(arrayAt(slice, 'ports')).map((p) => (typeof p.port === 'number' ? String(p.port) : (stringAt(p, 'name') ?? '*'))));
}

function endpointsCell(slice: JsonObject): string {
  return firstThree(objects(arrayAt(slice, 'endpoints')).flatMap((e) => (arrayAt(e, 'addresses') ?? []).filter((a): a is string => typeof a === 'string')));
}

/** What an address looks like once the API has parsed it (the EndpointSlice controller re-prints pod IPs). */
export function canonicalAddress(address: string): string {
  const ip = parseIP(address);
  return ip ? formatIP(ip) : address;
}

/** discovery.k8s.io/v1 EndpointSlices: written by the EndpointSlice controller (see ../endpointslices.ts) or by hand. */
export const endpointSlices: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  singular: 'endpointslice',
  kind: 'EndpointSlice',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  schema: 'io.k8s.api.discovery.v1.EndpointSlice',
  statusSubresource: false,
  // endpoints and ports are atomic lists: a strategic merge patch replaces them whole.
  mergeKeys: withMetadataMergeKeys({}),
  columns: [
    nameColumn,
    { name: 'AddressType', type: 'string', description: 'addressType specifies the type of address carried by this EndpointSlice.', cell: (s) => stringAt(s, 'addressType') ?? '' },
    { name: 'Ports', type: 'string', description: 'ports specifies the list of network ports exposed by each endpoint in this slice.', cell: portsCell },
    { name: 'Endpoints', type: 'string', description: 'endpoints is a list of unique endpoints in this slice.', cell: endpointsCell },
    ageColumn,
  ],
  decode: decodeEndpointSlice,
  prepareForCreate(slice) {
    (objectAt(slice, 'metadata') ?? {}).generation = 1;
    dropDeprecatedTopology(slice);
  },
  prepareForUpdate(slice, old) {
    const metadata = objectAt(slice, 'metadata') ?? {};
    const oldMeta = objectAt(old, 'metadata') ?? {};
    const { metadata: _m, ...body } = slice;
    const { metadata: _o, ...oldBody } = old;
    const generation = typeof oldMeta.generation === 'number' ? oldMeta.generation : 0;
    metadata.generation = generation;
    if (!deepEqual(body, oldBody) || !deepEqual(metadata.labels ?? null, oldMeta.labels ?? null)) metadata.generation = generation + 1;
    if (!deepEqual(slice.endpoints ?? null, old.endpoints ?? null)) dropDeprecatedTopology(slice);
  },
  validate: validateEndpointSlice,
};
