/**
 * /openapi/v2 as protobuf (application/com.github.proto-openapi.spec.v2@v1.0+protobuf): the
 * gnostic OpenAPIv2 messages (github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto), which
 * is the only form kubectl 1.27 and 1.28 ask for. Only what our Swagger documents hold is encoded:
 * info, paths with their operations, parameters and responses, and definitions; vendor
 * extensions (x-kubernetes-*) and enum values travel as YAML (JSON is YAML) in Any.yaml.
 */
import { isObject, type Json, type JsonObject } from '../json.js';

/** What kubectl asks for in Accept. */
export const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What kube-apiserver answers with ("@" is no valid media-type character, so it becomes "."). */
export const PROTOBUF_V2_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Writes one protobuf message: fields in the order added. */
class Message {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  private key(field: number, wire: 0 | 2): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, value: Buffer): this {
    this.key(field, 2);
    this.varint(value.length);
    this.parts.push(value);
    return this;
  }

  string(field: number, value: Json | undefined): this {
    if (typeof value === 'string' && value !== '') this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  strings(field: number, values: Json | undefined): this {
    if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  bool(field: number, value: Json | undefined): this {
    if (value === true) {
      this.key(field, 0);
      this.varint(1);
    }
    return this;
  }

  message(field: number, value: Message | undefined): this {
    if (value) this.bytes(field, value.build());
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Any{yaml}: JSON text is YAML. */
function any(value: Json): Message {
  return new Message().string(2, JSON.stringify(value));
}

/** NamedAny entries for the x- keys of an object, at `field`. */
function vendorExtensions(m: Message, field: number, obj: JsonObject): void {
  for (const [name, value] of Object.entries(obj)) {
    if (name.startsWith('x-')) m.message(field, new Message().string(1, name).message(2, any(value)));
  }
}

function schema(s: JsonObject): Message {
  const m = new Message().string(1, s.$ref).string(2, s.format).string(4, s.description).strings(19, s.required);
  if (Array.isArray(s.enum)) for (const value of s.enum) m.message(20, any(value));
  if (isObject(s.additionalProperties)) m.message(21, new Message().message(1, schema(s.additionalProperties)));
  if (typeof s.type === 'string') m.message(22, new Message().string(1, s.type));
  if (isObject(s.items)) m.message(23, new Message().message(1, schema(s.items)));
  if (Array.isArray(s.allOf)) for (const item of s.allOf) if (isObject(item)) m.message(24, schema(item));
  if (isObject(s.properties)) {
    const props = new Message();
    for (const [name, value] of Object.entries(s.properties)) if (isObject(value)) props.message(1, new Message().string(1, name).message(2, schema(value)));
    m.message(25, props);
  }
  vendorExtensions(m, 31, s);
  return m;
}

/** ParametersItem{parameter: Parameter{body_parameter | non_body_parameter{query | path}}}. */
function parameter(p: JsonObject): Message {
  let param: Message;
  if (p.in === 'body') {
    const body = new Message().string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required);
    if (isObject(p.schema)) body.message(5, schema(p.schema));
    param = new Message().message(1, body);
  } else {
    // Query and path sub-schemas number their fields alike up to `name`, then differ.
    const query = p.in === 'query';
    const sub = new Message().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name);
    if (query) sub.string(6, p.type).string(7, p.format).bool(20, p.uniqueItems);
    else sub.string(5, p.type).string(6, p.format).bool(19, p.uniqueItems);
    param = new Message().message(2, new Message().message(query ? 3 : 4, sub));
  }
  return new Message().message(1, param);
}

function operation(op: JsonObject): Message {
  const m = new Message().strings(1, op.tags).string(3, op.description).string(5, op.operationId).strings(6, op.produces).strings(7, op.consumes);
  for (const p of Array.isArray(op.parameters) ? op.parameters : []) if (isObject(p)) m.message(8, parameter(p));
  if (isObject(op.responses)) {
    const responses = new Message();
    for (const [code, r] of Object.entries(op.responses)) {
      if (!isObject(r)) continue;
      const response = new Message().string(1, r.description);
      if (isObject(r.schema)) response.message(2, new Message().message(1, schema(r.schema)));
      responses.message(1, new Message().string(1, code).message(2, new Message().message(1, response)));
    }
    m.message(9, responses);
  }
  m.strings(10, op.schemes);
  vendorExtensions(m, 13, op);
  return m;
}

const METHOD_FIELDS: Readonly<Record<string, number>> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(item: JsonObject): Message {
  const m = new Message();
  for (const [method, field] of Object.entries(METHOD_FIELDS)) {
    const op = item[method];
    if (isObject(op)) m.message(field, operation(op));
  }
  for (const p of Array.isArray(item.parameters) ? item.parameters : []) if (isObject(p)) m.message(9, parameter(p));
  return m;
}

/** The gnostic Document of a Swagger 2.0 JSON document. */
export function encodeOpenApiV2(doc: JsonObject): Buffer {
  const m = new Message().string(1, doc.swagger);
  const info = isObject(doc.info) ? doc.info : {};
  m.message(2, new Message().string(1, info.title).string(2, info.version));
  const paths = new Message();
  for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    if (isObject(item)) paths.message(2, new Message().string(1, path).message(2, pathItem(item)));
  }
  m.message(8, paths);
  const definitions = new Message();
  for (const [name, s] of Object.entries(isObject(doc.definitions) ? doc.definitions : {})) {
    if (isObject(s)) definitions.message(1, new Message().string(1, name).message(2, schema(s)));
  }
  m.message(9, definitions);
  return m.build();
}
