/**
 * A small language for the schemas of the kinds the simulator serves: one description per type
 * feeds the OpenAPI v3 and v2 documents (kubectl's validation choice, `kubectl explain`,
 * `kubectl apply`'s patch metadata) and the server's own unknown-field checks (fieldValidation).
 * Field names, types and list semantics follow Kubernetes v1.33 (test/integration checks them
 * against a real kube-apiserver); the descriptions are short ones of our own.
 */

export interface Scalar {
  kind: 'scalar';
  type: 'string' | 'boolean' | 'integer' | 'number';
  format?: 'int32' | 'int64' | 'double' | 'byte';
  enum?: readonly string[];
  d: string;
}

/** Another named type (a struct, or Time, Quantity, IntOrString...). */
export interface Ref {
  kind: 'ref';
  name: string;
  d: string;
}

export interface List {
  kind: 'list';
  items: Prop;
  d: string;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: readonly string[];
  /** Strategic merge: patchStrategy "merge" with this patchMergeKey (none for lists of scalars). */
  mergeKey?: string;
  merge?: boolean;
}

export interface MapOf {
  kind: 'map';
  values: Prop;
  d: string;
}

/** Any JSON object, not described here: kept as is, never checked for unknown fields. */
export interface Open {
  kind: 'open';
  d: string;
}

export type Prop = Scalar | Ref | List | MapOf | Open;

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export interface StructType {
  kind: 'struct';
  name: string;
  d: string;
  props: Readonly<Record<string, Prop>>;
  required?: readonly string[];
  /** Top-level kinds: what kubectl looks up schemas by. */
  gvk?: Gvk;
  /** Holds any JSON (like FieldsV1): never checked for unknown fields. */
  open?: boolean;
}

/** A type written as a string or number in JSON (Time, MicroTime, Quantity, IntOrString). */
export interface StringType {
  kind: 'string';
  name: string;
  d: string;
  format?: 'date-time' | 'int-or-string';
  /** What JSON may hold: a string, or also a number. */
  oneOf?: ReadonlyArray<'string' | 'integer' | 'number'>;
}

export type TypeDef = StructType | StringType;

// ---- shorthands ----

export const str = (d: string, values?: readonly string[]): Scalar => (values ? { kind: 'scalar', type: 'string', d, enum: values } : { kind: 'scalar', type: 'string', d });
export const bool = (d: string): Scalar => ({ kind: 'scalar', type: 'boolean', d });
export const int32 = (d: string): Scalar => ({ kind: 'scalar', type: 'integer', format: 'int32', d });
export const int64 = (d: string): Scalar => ({ kind: 'scalar', type: 'integer', format: 'int64', d });
export const ref = (name: string, d: string): Ref => ({ kind: 'ref', name, d });
export const open = (d: string): Open => ({ kind: 'open', d });
export const mapOf = (values: Prop, d: string): MapOf => ({ kind: 'map', values, d });
export const strings = (d: string, listType: 'atomic' | 'set' = 'atomic'): List => ({ kind: 'list', items: str(''), d, listType });
export const stringMap = (d: string): MapOf => mapOf(str(''), d);
export const atomic = (items: Prop, d: string): List => ({ kind: 'list', items, d, listType: 'atomic' });
/** A list merged by key: listType map, patchStrategy merge, patchMergeKey `key`. */
export const keyed = (items: Prop, key: string, d: string, mapKeys: readonly string[] = [key]): List => ({
  kind: 'list',
  items,
  d,
  listType: 'map',
  mapKeys,
  mergeKey: key,
  merge: true,
});

export const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
export const MICRO_TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
export const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';

export const API_VERSION = str('APIVersion names the versioned schema of this object (group/version).');
export const KIND = str('Kind names the REST resource this object represents, in CamelCase.');

export function struct(name: string, d: string, props: Record<string, Prop>, extra: { required?: readonly string[]; gvk?: Gvk } = {}): StructType {
  return { kind: 'struct', name, d, props, ...extra };
}

/** A top-level kind: apiVersion, kind and metadata come first, as in every Kubernetes object. */
export function kind(name: string, gvk: Gvk, d: string, props: Record<string, Prop>, required?: readonly string[]): StructType {
  return struct(name, d, { apiVersion: API_VERSION, kind: KIND, metadata: ref(OBJECT_META, "Standard object's metadata."), ...props }, { gvk, ...(required ? { required } : {}) });
}

/** The List kind of `item` (e.g. NodeList). */
export function listKind(item: StructType): StructType {
  const gvk = item.gvk;
  if (!gvk) throw new Error(`${item.name} is not a kind`);
  return struct(
    `${item.name}List`,
    `${gvk.kind}List is a list of ${gvk.kind} objects.`,
    { apiVersion: API_VERSION, items: { kind: 'list', items: ref(item.name, ''), d: `The ${gvk.kind} objects.` }, kind: KIND, metadata: ref(LIST_META, "Standard list metadata.") },
    { required: ['items'], gvk: { ...gvk, kind: `${gvk.kind}List` } },
  );
}
