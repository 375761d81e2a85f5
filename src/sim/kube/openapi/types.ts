import { listKind, type StructType, type TypeDef } from './schema.js';
import { coreTypes } from './types-core.js';
import { groupTypes } from './types-groups.js';
import { metaTypes } from './types-meta.js';

function withLists(types: readonly TypeDef[]): TypeDef[] {
  const lists = types.filter((t): t is StructType => t.kind === 'struct' && t.gvk !== undefined).map(listKind);
  return [...types, ...lists];
}

/** Every type the built-in kinds use, by OpenAPI name (io.k8s.api.core.v1.Node, ...). */
export const builtinTypes: ReadonlyMap<string, TypeDef> = new Map(withLists([...metaTypes, ...coreTypes, ...groupTypes]).map((t) => [t.name, t]));
