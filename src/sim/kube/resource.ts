import type { JsonObject } from './json.js';
import type { MergeKeys } from './patch.js';
import type { FieldError, GroupResource } from './status.js';

/** A server-side printed column (meta.k8s.io/v1 TableColumnDefinition plus how to fill it). */
export interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  description: string;
  /** 0 = shown by default, 1 = only with `-o wide`. */
  priority?: number;
  cell(obj: JsonObject, now: number): string | number;
}

export type NameFormat = 'dns-subdomain' | 'dns-label' | 'dns-1035-label';

/**
 * One REST resource. Registering another definition in the store is all it takes to serve it:
 * list/watch/get/create/update/patch/delete, discovery and tables follow from these fields.
 */
export interface ResourceDef extends GroupResource {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  nameFormat: NameFormat;
  shortNames?: readonly string[];
  categories?: readonly string[];
  /** Has a /status subresource: writes to the main resource keep the old status, /status keeps the old spec. */
  statusSubresource: boolean;
  /** PUT of a missing object creates it (AllowCreateOnUpdate). */
  createOnUpdate?: boolean;
  /** Updates must name the resourceVersion they replace (AllowUnconditionalUpdate false, as for Leases). */
  conditionalUpdatesOnly?: boolean;
  /** DELETE answers with the object instead of a Success Status (pods, services). */
  returnDeletedObject?: boolean;
  mergeKeys: MergeKeys;
  /** Selectable fields beyond metadata.name and metadata.namespace. */
  fieldSelectors?: Readonly<Record<string, (obj: JsonObject) => string>>;
  columns?: readonly Column[];
  /** The OpenAPI schema name of the kind (openapi/types.ts), e.g. io.k8s.api.core.v1.Node; without one the kind is served as an open object. */
  schema?: string;
  /** Checks the API server makes while decoding a request body (bad ones answer 400). */
  decode?(obj: JsonObject): void;
  /** Defaults and dropped fields on create; `existing` lists this resource's current objects. */
  prepareForCreate?(obj: JsonObject, existing: () => Iterable<JsonObject>): void;
  /** Changes the server makes on every update (e.g. bumping metadata.generation); `old` is the stored object. */
  prepareForUpdate?(obj: JsonObject, old: JsonObject): void;
  validate?(obj: JsonObject, old: JsonObject | undefined): FieldError[];
  /** Throws to refuse a delete (e.g. the `default` namespace). */
  beforeDelete?(obj: JsonObject): void;
  /**
   * Kinds deleted gracefully (pods): the grace period a DELETE gets, from the one it asked for
   * (the strategy's CheckGracefulDelete). Above 0 the object stays, marked with deletionTimestamp,
   * until a delete with a shorter period (0: now) ends it.
   */
  gracePeriod?(obj: JsonObject, requested: number | undefined): number;
  /** Served from another resource's storage, converted both ways (core/v1 Events are events.k8s.io/v1 ones). */
  storedAs?: StorageView;
}

export interface StorageView {
  def: ResourceDef;
  fromStored(obj: JsonObject): JsonObject;
  toStored(obj: JsonObject): JsonObject;
}

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** The storage key: objects sort by namespace then name, like etcd keys do. */
export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
