import { arrayAt, isObject, objectAt, stringAt, type JsonObject } from './json.js';
import { apiVersionOf, type ResourceDef } from './resource.js';
import type { Labels } from './selectors.js';
import { errors } from './status.js';

const METADATA_ORDER = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
];

export function metadataOf(obj: JsonObject): JsonObject {
  const metadata = objectAt(obj, 'metadata');
  if (metadata) return metadata;
  const created: JsonObject = {};
  obj.metadata = created;
  return created;
}

export function nameOf(obj: JsonObject): string {
  return stringAt(objectAt(obj, 'metadata'), 'name') ?? '';
}

export function namespaceOf(obj: JsonObject): string | undefined {
  return stringAt(objectAt(obj, 'metadata'), 'namespace');
}

export function labelsOf(obj: JsonObject): Labels {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(objectAt(obj, 'metadata'), 'labels') ?? {})) {
    if (typeof v === 'string') labels[k] = v;
  }
  return labels;
}

export function finalizersOf(obj: JsonObject): string[] {
  return (arrayAt(objectAt(obj, 'metadata'), 'finalizers') ?? []).filter((f): f is string => typeof f === 'string');
}

export function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  return Number(value);
}

/** kind and apiVersion first and metadata in the Go struct's order, as the API server serialises. */
export function canonical(def: ResourceDef, obj: JsonObject): JsonObject {
  const metadata = metadataOf(obj);
  const orderedMeta: JsonObject = {};
  for (const key of METADATA_ORDER) {
    const value = metadata[key];
    if (value !== undefined) orderedMeta[key] = value;
  }
  Object.assign(orderedMeta, metadata);
  const { kind: _kind, apiVersion: _apiVersion, metadata: _metadata, ...rest } = obj;
  return { kind: def.kind, apiVersion: apiVersionOf(def), metadata: orderedMeta, ...rest };
}

export function withResourceVersion(def: ResourceDef, obj: JsonObject, rv: number): JsonObject {
  return canonical(def, { ...obj, metadata: { ...metadataOf(obj), resourceVersion: String(rv) } });
}

export function withoutResourceVersion(obj: JsonObject): JsonObject {
  const { resourceVersion: _rv, ...metadata } = metadataOf(obj);
  return { ...obj, metadata };
}

export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isObject(parsed) && parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // reported below
  }
  throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
