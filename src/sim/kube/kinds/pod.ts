import { arrayAt, isObject, objectAt, stringAt } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { ageColumn, nameColumn } from '../table.js';
import { withMetadataMergeKeys } from './common.js';

/** Served so that tools asking about pods (`kubectl describe node`) work; nothing runs them. */
export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  shortNames: ['po'],
  categories: ['all'],
  statusSubresource: true,
  returnDeletedObject: true,
  mergeKeys: withMetadataMergeKeys({
    'spec.containers': { mergeKey: 'name' },
    'status.conditions': { mergeKey: 'type' },
    'status.containerStatuses': { mergeKey: 'name' },
  }),
  fieldSelectors: {
    'spec.nodeName': (pod) => stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
    'status.phase': (pod) => stringAt(objectAt(pod, 'status'), 'phase') ?? '',
  },
  columns: [
    nameColumn,
    {
      name: 'Ready',
      type: 'string',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (pod) => {
        const statuses = (arrayAt(objectAt(pod, 'status'), 'containerStatuses') ?? []).filter(isObject);
        const containers = arrayAt(objectAt(pod, 'spec'), 'containers') ?? [];
        return `${statuses.filter((c) => c.ready === true).length}/${containers.length}`;
      },
    },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: (pod) => stringAt(objectAt(pod, 'status'), 'phase') ?? 'Pending' },
    ageColumn,
  ],
  prepareForCreate(pod) {
    pod.status = { phase: 'Pending' };
  },
};
