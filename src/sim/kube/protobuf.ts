/**
 * Request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf), which
 * client-go's typed clients send: `kubectl create service` and `kubectl create namespace` use
 * them. The envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}; raw is the object's message
 * (k8s.io/api/core/v1/generated.proto). Decoding gives the JSON a JSON client would have sent:
 * Go's encoding/json rules (omitempty scalars dropped when zero, structs always present, a zero
 * metav1.Time as null) applied to the decoded struct. Only the kinds described below are known.
 */
import type { Json, JsonObject } from './json.js';
import { errors } from './status.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Scalar = 'string' | 'int32' | 'int64' | 'bool';
type FieldType = Scalar | 'time' | 'intOrString' | 'rawJson' | 'stringMap' | { message: string };

interface Field {
  json: string;
  type: FieldType;
  list?: boolean;
  /**
   * A pointer (kept when sent, even if zero) or, for structs, one that may be absent. Without it
   * scalars follow omitempty and structs are always there, as Go marshals them.
   */
  pointer?: boolean;
  /** A scalar without omitempty: always there, zero when not sent. */
  always?: boolean;
}

type MessageDesc = Readonly<Record<number, Field>>;

const f = (json: string, type: FieldType, extra: Omit<Field, 'json' | 'type'> = {}): Field => ({ json, type, ...extra });

const MESSAGES: Readonly<Record<string, MessageDesc>> = {
  ObjectMeta: {
    1: f('name', 'string'),
    2: f('generateName', 'string'),
    3: f('namespace', 'string'),
    4: f('selfLink', 'string'),
    5: f('uid', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('generation', 'int64'),
    8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time', { pointer: true }),
    10: f('deletionGracePeriodSeconds', 'int64', { pointer: true }),
    11: f('labels', 'stringMap'),
    12: f('annotations', 'stringMap'),
    13: f('ownerReferences', { message: 'OwnerReference' }, { list: true }),
    14: f('finalizers', 'string', { list: true }),
    17: f('managedFields', { message: 'ManagedFieldsEntry' }, { list: true }),
  },
  OwnerReference: {
    5: f('apiVersion', 'string', { always: true }),
    1: f('kind', 'string', { always: true }),
    3: f('name', 'string', { always: true }),
    4: f('uid', 'string', { always: true }),
    6: f('controller', 'bool', { pointer: true }),
    7: f('blockOwnerDeletion', 'bool', { pointer: true }),
  },
  ManagedFieldsEntry: {
    1: f('manager', 'string'),
    2: f('operation', 'string'),
    3: f('apiVersion', 'string'),
    4: f('time', 'time', { pointer: true }),
    6: f('fieldsType', 'string'),
    7: f('fieldsV1', 'rawJson', { pointer: true }),
    8: f('subresource', 'string'),
  },
  Condition: {
    1: f('type', 'string', { always: true }),
    2: f('status', 'string', { always: true }),
    3: f('observedGeneration', 'int64'),
    4: f('lastTransitionTime', 'time'),
    5: f('reason', 'string', { always: true }),
    6: f('message', 'string', { always: true }),
  },
  Service: {
    1: f('metadata', { message: 'ObjectMeta' }),
    2: f('spec', { message: 'ServiceSpec' }),
    3: f('status', { message: 'ServiceStatus' }),
  },
  ServiceSpec: {
    1: f('ports', { message: 'ServicePort' }, { list: true }),
    2: f('selector', 'stringMap'),
    3: f('clusterIP', 'string'),
    18: f('clusterIPs', 'string', { list: true }),
    4: f('type', 'string'),
    5: f('externalIPs', 'string', { list: true }),
    7: f('sessionAffinity', 'string'),
    8: f('loadBalancerIP', 'string'),
    9: f('loadBalancerSourceRanges', 'string', { list: true }),
    10: f('externalName', 'string'),
    11: f('externalTrafficPolicy', 'string'),
    12: f('healthCheckNodePort', 'int32'),
    13: f('publishNotReadyAddresses', 'bool'),
    14: f('sessionAffinityConfig', { message: 'SessionAffinityConfig' }, { pointer: true }),
    19: f('ipFamilies', 'string', { list: true }),
    17: f('ipFamilyPolicy', 'string', { pointer: true }),
    20: f('allocateLoadBalancerNodePorts', 'bool', { pointer: true }),
    21: f('loadBalancerClass', 'string', { pointer: true }),
    22: f('internalTrafficPolicy', 'string', { pointer: true }),
    23: f('trafficDistribution', 'string', { pointer: true }),
  },
  ServicePort: {
    1: f('name', 'string'),
    2: f('protocol', 'string'),
    6: f('appProtocol', 'string', { pointer: true }),
    3: f('port', 'int32', { always: true }),
    4: f('targetPort', 'intOrString'),
    5: f('nodePort', 'int32'),
  },
  SessionAffinityConfig: { 1: f('clientIP', { message: 'ClientIPConfig' }, { pointer: true }) },
  ClientIPConfig: { 1: f('timeoutSeconds', 'int32', { pointer: true }) },
  ServiceStatus: {
    1: f('loadBalancer', { message: 'LoadBalancerStatus' }),
    2: f('conditions', { message: 'Condition' }, { list: true }),
  },
  LoadBalancerStatus: { 1: f('ingress', { message: 'LoadBalancerIngress' }, { list: true }) },
  LoadBalancerIngress: {
    1: f('ip', 'string'),
    2: f('hostname', 'string'),
    3: f('ipMode', 'string', { pointer: true }),
    4: f('ports', { message: 'PortStatus' }, { list: true }),
  },
  PortStatus: { 1: f('port', 'int32', { always: true }), 2: f('protocol', 'string', { always: true }), 3: f('error', 'string', { pointer: true }) },
  Namespace: {
    1: f('metadata', { message: 'ObjectMeta' }),
    2: f('spec', { message: 'NamespaceSpec' }),
    3: f('status', { message: 'NamespaceStatus' }),
  },
  NamespaceSpec: { 1: f('finalizers', 'string', { list: true }) },
  NamespaceStatus: { 1: f('phase', 'string'), 2: f('conditions', { message: 'NamespaceCondition' }, { list: true }) },
  NamespaceCondition: {
    1: f('type', 'string', { always: true }),
    2: f('status', 'string', { always: true }),
    4: f('lastTransitionTime', 'time'),
    5: f('reason', 'string'),
    6: f('message', 'string'),
  },
};

/** Kinds whose protobuf bodies the simulator reads. */
export function hasProtobuf(kind: string): boolean {
  return kind in MESSAGES;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('unexpected EOF');
      const b = this.buf[this.pos++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint overflow');
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw new Error('unexpected EOF');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unknown wire type ${wire}`);
  }
}

/** The fields of one message: field number → raw values (varints as numbers, the rest as bytes). */
function fields(buf: Buffer): Map<number, Array<bigint | Buffer>> {
  const out = new Map<number, Array<bigint | Buffer>>();
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: bigint | Buffer;
    if (wire === 0) value = r.varint();
    else if (wire === 2) value = r.bytes();
    else {
      r.skip(wire);
      continue;
    }
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

function asBytes(v: bigint | Buffer): Buffer {
  if (typeof v === 'bigint') throw new Error('expected a length-delimited field');
  return v;
}

function asInt(v: bigint | Buffer, bits: 32 | 64): number {
  if (typeof v !== 'bigint') throw new Error('expected a varint');
  return Number(BigInt.asIntN(bits, v));
}

/** metav1.Time: null when zero, else RFC 3339 in UTC with whole seconds. */
function time(buf: Buffer): Json {
  const m = fields(buf);
  const seconds = asInt(m.get(1)?.[0] ?? 0n, 64);
  const nanos = asInt(m.get(2)?.[0] ?? 0n, 32);
  if (seconds === 0 && nanos === 0) return null;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function scalar(type: Scalar, v: bigint | Buffer): Json {
  switch (type) {
    case 'string':
      return asBytes(v).toString('utf8');
    case 'bool':
      return asInt(v, 64) !== 0;
    case 'int32':
      return asInt(v, 32);
    case 'int64':
      return asInt(v, 64);
  }
}

const ZERO: Readonly<Record<Scalar, Json>> = { string: '', int32: 0, int64: 0, bool: false };

function value(type: FieldType, v: bigint | Buffer): Json {
  if (typeof type === 'object') return message(type.message, asBytes(v));
  switch (type) {
    case 'time':
      return time(asBytes(v));
    case 'intOrString': {
      const m = fields(asBytes(v));
      const isString = asInt(m.get(1)?.[0] ?? 0n, 64) === 1;
      return isString ? asBytes(m.get(3)?.[0] ?? Buffer.alloc(0)).toString('utf8') : scalar('int32', m.get(2)?.[0] ?? 0n);
    }
    case 'rawJson': {
      const raw = asBytes(fields(asBytes(v)).get(1)?.[0] ?? Buffer.alloc(0));
      return raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as Json);
    }
    case 'stringMap': {
      const entry = fields(asBytes(v));
      return [asBytes(entry.get(1)?.[0] ?? Buffer.alloc(0)).toString('utf8'), asBytes(entry.get(2)?.[0] ?? Buffer.alloc(0)).toString('utf8')];
    }
    default:
      return scalar(type, v);
  }
}

function message(name: string, buf: Buffer): JsonObject {
  const desc = MESSAGES[name];
  if (!desc) throw new Error(`no message ${name}`);
  const raw = fields(buf);
  const out: JsonObject = {};
  for (const [num, field] of Object.entries(desc)) {
    const values = raw.get(Number(num)) ?? [];
    const { type } = field;
    if (type === 'stringMap') {
      const entries = values.map((v) => value(type, v)).filter(Array.isArray) as Array<[string, string]>;
      if (entries.length > 0) out[field.json] = Object.fromEntries(entries);
    } else if (field.list) {
      if (values.length > 0) out[field.json] = values.map((v) => value(type, v));
    } else if (values.length > 0) {
      const v = value(type, values[values.length - 1] ?? 0n);
      const zero = typeof type === 'string' && type in ZERO && v === ZERO[type as Scalar];
      if (!zero || field.pointer || field.always) out[field.json] = v;
    } else if (!field.pointer && (typeof type === 'object' || type === 'time' || type === 'intOrString' || field.always)) {
      // Go marshals struct fields (and scalars without omitempty) even when never set.
      out[field.json] = typeof type === 'object' ? message(type.message, Buffer.alloc(0)) : type === 'time' ? null : type === 'intOrString' ? 0 : ZERO[type as Scalar];
    }
  }
  return out;
}

/**
 * A protobuf request body as JSON: apiVersion and kind from the envelope, then the object.
 * Answers 400 when it is not the envelope or not a message of a known kind.
 */
export function decodeProtobufBody(body: Buffer): JsonObject {
  try {
    if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
    const unknown = fields(body.subarray(4));
    const typeMeta = fields(asBytes(unknown.get(1)?.[0] ?? Buffer.alloc(0)));
    const apiVersion = asBytes(typeMeta.get(1)?.[0] ?? Buffer.alloc(0)).toString('utf8');
    const kind = asBytes(typeMeta.get(2)?.[0] ?? Buffer.alloc(0)).toString('utf8');
    if (!hasProtobuf(kind)) throw new Error(`no kind "${kind}" is registered for version "${apiVersion}"`);
    const object = message(kind, asBytes(unknown.get(2)?.[0] ?? Buffer.alloc(0)));
    return { apiVersion, kind, ...object };
  } catch (err) {
    throw errors.badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}
