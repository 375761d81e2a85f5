import { objectAt, stringAt, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { errors } from '../status.js';
import { ageColumn, nameColumn } from '../table.js';
import { withMetadataMergeKeys } from './common.js';

const UNDELETABLE = new Set(['default', 'kube-system', 'kube-public']);

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  namespaced: false,
  nameFormat: 'dns-label',
  shortNames: ['ns'],
  schema: 'io.k8s.api.core.v1.Namespace',
  statusSubresource: true,
  mergeKeys: withMetadataMergeKeys({ 'status.conditions': { mergeKey: 'type' } }),
  columns: [
    nameColumn,
    { name: 'Status', type: 'string', description: 'The status of the namespace', cell: (ns) => stringAt(objectAt(ns, 'status'), 'phase') ?? '' },
    ageColumn,
  ],
  prepareForCreate(ns: JsonObject) {
    const metadata = objectAt(ns, 'metadata') ?? {};
    const name = stringAt(metadata, 'name') ?? '';
    metadata.labels = { ...(objectAt(metadata, 'labels') ?? {}), 'kubernetes.io/metadata.name': name };
    ns.spec = { finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
  },
  beforeDelete(ns: JsonObject) {
    const name = stringAt(objectAt(ns, 'metadata'), 'name') ?? '';
    if (UNDELETABLE.has(name)) throw errors.forbidden(namespaces, name, 'this namespace may not be deleted');
  },
};
