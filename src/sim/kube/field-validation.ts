/**
 * The fieldValidation query parameter of POST, PUT and PATCH: unknown fields fail the request
 * (Strict), or are dropped with a `Warning: 299 - "unknown field ..."` header (Warn, the
 * default) or silently (Ignore), as kube-apiserver's decoder does. Kinds without a schema keep
 * whatever they are sent.
 */
import type { Json, JsonObject } from './json.js';
import { schemaName } from './openapi/documents.js';
import { unknownFields } from './openapi/fields.js';
import type { TypeDef } from './openapi/schema.js';
import type { PatchType } from './patch.js';
import type { ResourceDef } from './resource.js';
import { errors, fieldErrors, invalid, type ApiError } from './status.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const MODES: readonly string[] = ['', 'Ignore', 'Strict', 'Warn'];

/** The mode a request asks for; a bad one is a 422 about CreateOptions/UpdateOptions/PatchOptions. */
export function fieldValidationOf(params: URLSearchParams, options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): FieldValidation {
  const value = params.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw invalid({ group: 'meta.k8s.io', plural: '', kind: options }, '', [fieldErrors.notSupported('fieldValidation', value, MODES)]);
}

/** Go's %v of a JSON value decoded into interface{}: map[a:1 b:[x y]]. */
function goValue(value: Json): string {
  if (value === null) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((k) => `${k}:${goValue(value[k] ?? null)}`).join(' ')}]`;
  }
  if (typeof value === 'number') {
    if (value === 0) return '0';
    const exp = Math.floor(Math.log10(Math.abs(value)));
    if (exp < -4 || exp >= 6) {
      return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
    }
    return String(value);
  }
  return String(value);
}

function sortedKeys(value: JsonObject): JsonObject {
  const sort = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sort);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k] ?? null)]));
  };
  return sort(value) as JsonObject;
}

export interface FieldCheck {
  /** Checks (and, unless Strict, prunes) a decoded object; throws on unknown fields when Strict. */
  check(obj: JsonObject): void;
  /** Warning headers to send with the answer. */
  readonly warnings: string[];
}

/**
 * The check for one request. For a patch, `patch` is what was sent: Strict fails with 422 on the
 * patch (shown as Go prints it for a strategic merge patch, else the patched object), as the
 * API server does.
 */
export function fieldCheck(def: ResourceDef, mode: FieldValidation, types: ReadonlyMap<string, TypeDef>, patch?: { type: PatchType; body: unknown }): FieldCheck {
  const warnings: string[] = [];
  const typeName = schemaName(def);
  return {
    warnings,
    check(obj) {
      if (!types.has(typeName)) return;
      // A patched object is re-encoded from Go maps, so its fields come up in key order.
      const found = patch ? unknownFields(sortedKeys(obj), typeName, types) : unknownFields(obj, typeName, types);
      if (mode !== 'Strict') unknownFields(obj, typeName, types, true);
      if (found.length === 0) return;
      const text = found.map((f) => `unknown field ${JSON.stringify(f)}`);
      if (mode === 'Warn') warnings.push(...text);
      if (mode !== 'Strict') return;
      throw strictError(def, text.join(', '), obj, patch);
    },
  };
}

function strictError(def: ResourceDef, text: string, obj: JsonObject, patch: { type: PatchType; body: unknown } | undefined): ApiError {
  if (!patch) return errors.badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${text}`);
  const shown = patch.type === 'strategic' ? goValue(patch.body as Json) : JSON.stringify(obj);
  return invalid({ group: '', plural: '', kind: '' }, '', [fieldErrors.invalid('patch', shown, `strict decoding error: ${text}`)]);
}

/** `Warning` header values: 299 - "<text>". */
export function warningHeaders(warnings: readonly string[]): Record<string, string[]> {
  return warnings.length > 0 ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
}
