/**
 * Unknown fields, found with the kinds' schemas: what kube-apiserver's strict decoding reports
 * (fieldValidation=Strict) and drops otherwise (Warn, the default, and Ignore). Open parts of a
 * schema (schema.ts `open`) are taken as they come.
 */
import { isObject, type Json, type JsonObject } from '../json.js';
import type { Prop, TypeDef } from './schema.js';

type Types = ReadonlyMap<string, TypeDef>;

function walkProp(value: Json | undefined, p: Prop, path: string, types: Types, found: string[], drop: boolean): void {
  if (value === undefined || value === null) return;
  switch (p.kind) {
    case 'ref': {
      const t = types.get(p.name);
      if (t?.kind === 'struct' && isObject(value)) walkStruct(value, t, path, types, found, drop);
      return;
    }
    case 'list':
      if (Array.isArray(value)) value.forEach((item, i) => walkProp(item, p.items, `${path}[${i}]`, types, found, drop));
      return;
    case 'map':
      if (isObject(value)) for (const [key, item] of Object.entries(value)) walkProp(item, p.values, `${path}[${key}]`, types, found, drop);
      return;
    default:
      return;
  }
}

function walkStruct(obj: JsonObject, t: TypeDef, path: string, types: Types, found: string[], drop: boolean): void {
  if (t.kind !== 'struct' || t.open) return;
  for (const [key, value] of Object.entries(obj)) {
    const field = path === '' ? key : `${path}.${key}`;
    const p = t.props[key];
    if (p === undefined) {
      found.push(field);
      if (drop) delete obj[key];
    } else {
      walkProp(value, p, field, types, found, drop);
    }
  }
}

/**
 * The unknown fields of `obj`, a `typeName` object, as paths ("spec.taint", "spec.taints[0].foo"),
 * in document order. With `drop`, they are also removed from `obj`.
 */
export function unknownFields(obj: JsonObject, typeName: string, types: Types, drop = false): string[] {
  const t = types.get(typeName);
  const found: string[] = [];
  if (t) walkStruct(obj, t, '', types, found, drop);
  return found;
}
