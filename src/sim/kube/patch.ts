import { deepEqual, isObject, type Json, type JsonObject } from './json.js';
import { ApiError, errors } from './status.js';

export type PatchType = 'json' | 'merge' | 'strategic';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

/**
 * Strategic-merge metadata: for each dotted path (list items add no segment) whose list has
 * `patchStrategy:"merge"`, the `patchMergeKey` (absent for lists of primitives, which merge as sets).
 * Lists not named here are replaced whole, like `spec.taints` on Nodes.
 */
export type MergeKeys = Readonly<Record<string, { mergeKey?: string }>>;

export function applyPatch(type: PatchType, target: JsonObject, patch: unknown, mergeKeys: MergeKeys): JsonObject {
  let result: Json;
  if (type === 'json') {
    result = applyJsonPatch(target, patch);
  } else {
    if (!isObject(patch)) throw errors.badRequest('json: cannot unmarshal patch: the patch must be a JSON object');
    result = type === 'merge' ? applyMergePatch(target, patch) : applyStrategicMergePatch(target, patch, mergeKeys);
  }
  if (!isObject(result)) throw unprocessable('the patched document is not an object');
  return result;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

// ---- RFC 6902 JSON Patch ----

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`JSON pointer must be empty or start with a "/": ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

interface Slot {
  parent: JsonObject | Json[];
  key: string;
}

function arrayIndex(arr: Json[], key: string, forInsert: boolean, path: string): number {
  if (forInsert && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw unprocessable(`invalid array index ${JSON.stringify(key)} in ${path}`);
  const index = Number(key);
  if (index > arr.length || (!forInsert && index === arr.length)) throw unprocessable(`array index out of bounds: ${path}`);
  return index;
}

/** Resolves the container holding the last segment; throws when an intermediate is missing. */
function slot(doc: Json, segments: string[], path: string): Slot {
  let current: Json = doc;
  for (const seg of segments.slice(0, -1)) {
    let next: Json | undefined;
    if (Array.isArray(current)) next = current[arrayIndex(current, seg, false, path)];
    else if (isObject(current)) next = current[seg];
    if (next === undefined || next === null || typeof next !== 'object') throw unprocessable(`doc is missing path: ${path}`);
    current = next;
  }
  if (typeof current !== 'object' || current === null) throw unprocessable(`doc is missing path: ${path}`);
  return { parent: current, key: segments[segments.length - 1] ?? '' };
}

function getAt(doc: Json, pointer: string): Json {
  const segments = parsePointer(pointer);
  if (segments.length === 0) return doc;
  const { parent, key } = slot(doc, segments, pointer);
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, pointer)] : parent[key];
  if (value === undefined) throw unprocessable(`doc is missing key: ${pointer}: missing value`);
  return value;
}

function removeAt(doc: Json, pointer: string): Json {
  const segments = parsePointer(pointer);
  if (segments.length === 0) throw unprocessable('cannot remove the whole document');
  const { parent, key } = slot(doc, segments, pointer);
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(arrayIndex(parent, key, false, pointer), 1);
    return removed ?? null;
  }
  if (!Object.hasOwn(parent, key)) throw unprocessable(`remove operation does not apply: doc is missing path: ${pointer}`);
  const removed = parent[key] ?? null;
  delete parent[key];
  return removed;
}

/** Returns the new document (the root changes when the pointer is ""). */
function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const segments = parsePointer(pointer);
  if (segments.length === 0) return value;
  const { parent, key } = slot(doc, segments, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, key, !replace, pointer);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, key)) {
      throw unprocessable(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    }
    parent[key] = value;
  }
  return doc;
}

export function applyJsonPatch(target: Json, patch: unknown): Json {
  if (!Array.isArray(patch)) throw errors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(target);
  for (const raw of patch as unknown[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw errors.badRequest('json patch operations must be objects with string "op" and "path"');
    }
    const { op, path } = raw;
    const from = typeof raw.from === 'string' ? raw.from : undefined;
    const needsValue = op === 'add' || op === 'replace' || op === 'test';
    if (needsValue && !Object.hasOwn(raw, 'value')) throw unprocessable(`${op} operation does not apply: missing value`);
    if ((op === 'move' || op === 'copy') && from === undefined) throw unprocessable(`${op} operation does not apply: missing from`);
    const value = (raw.value ?? null) as Json;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(value), false);
        break;
      case 'replace':
        doc = addAt(doc, path, structuredClone(value), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), value)) throw unprocessable(`testing value ${path} failed: test failed`);
        break;
      case 'move': {
        if (path.startsWith(`${from}/`)) throw unprocessable(`move operation does not apply: "${path}" is a child of "${from}"`);
        const moved = removeAt(doc, from ?? '');
        doc = addAt(doc, path, moved, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, structuredClone(getAt(doc, from ?? '')), false);
        break;
      default:
        throw errors.badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

// ---- RFC 7386 JSON Merge Patch ----

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---- Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), the parts built-in types use ----

const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

function isDirectiveKey(key: string): boolean {
  return key.startsWith('$');
}

/** A patch value stored as-is must not carry directives into the object. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) {
    return value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map(stripDirectives);
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (!isDirectiveKey(k) && v !== null) out[k] = stripDirectives(v);
  }
  return out;
}

export function applyStrategicMergePatch(target: JsonObject, patch: JsonObject, mergeKeys: MergeKeys): JsonObject {
  return mergeMap(target, patch, mergeKeys, '') ?? {};
}

/** Returns undefined when the patch says `$patch: delete` for this map. */
function mergeMap(original: JsonObject, patch: JsonObject, mergeKeys: MergeKeys, path: string): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch) as JsonObject;
  if (directive !== undefined) throw errors.badRequest(`Unknown patch type: ${String(directive)} in map: ${path}`);

  const result: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    const current = result[field];
    if (Array.isArray(current) && Array.isArray(value)) {
      result[field] = current.filter((item) => !value.some((v) => deepEqual(v, item)));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    // $setElementOrder only reorders lists; order is not significant for the fields we serve.
    if (isDirectiveKey(key) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const current = result[key];
      const merged = mergeMap(isObject(current) ? current : {}, value, mergeKeys, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      const strategy = mergeKeys[childPath];
      const current = result[key];
      result[key] = strategy
        ? mergeList(Array.isArray(current) ? current : [], value, strategy.mergeKey, mergeKeys, childPath)
        : stripDirectives(value);
    } else {
      result[key] = value;
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) {
      if (!retain.includes(key)) delete result[key];
    }
  }
  return result;
}

function mergeList(original: Json[], patch: Json[], mergeKey: string | undefined, mergeKeys: MergeKeys, path: string): Json[] {
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return stripDirectives(patch.filter((item) => !(isObject(item) && item.$patch === 'replace'))) as Json[];
  }
  const result = [...original];
  if (mergeKey === undefined) {
    for (const item of patch) {
      if (!result.some((existing) => deepEqual(existing, item))) result.push(item);
    }
    return result;
  }
  for (const item of patch) {
    if (!isObject(item)) throw errors.badRequest(`unable to find api field in struct for the list item ${path}: not an object`);
    const key = item[mergeKey];
    if (key === undefined) throw errors.badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((existing) => isObject(existing) && deepEqual(existing[mergeKey], key));
    if (item.$patch === 'delete') {
      for (let i = result.length - 1; i >= 0; i--) {
        const existing = result[i];
        if (isObject(existing) && deepEqual(existing[mergeKey], key)) result.splice(i, 1);
      }
      continue;
    }
    const existing = result[index];
    if (index >= 0 && isObject(existing)) {
      const merged = mergeMap(existing, item, mergeKeys, path);
      if (merged === undefined) result.splice(index, 1);
      else result[index] = merged;
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}
